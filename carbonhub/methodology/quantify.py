"""Quantification: a behaviour's activity in, reductions in integer milligrams CO2e out.

Pure functions with no I/O. Amounts are rounded down to the milligram (the conservativeness
principle of the ACEF guides): a reduction is never overstated by rounding.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import ROUND_FLOOR, Decimal
from enum import StrEnum

from carbonhub.methodology.model import Cap, CapPeriod, Methodology


class QuantStatus(StrEnum):
    """What a methodology made of an event."""

    CREDITED = "credited"
    CAPPED = "capped"
    NOT_COVERED = "not_covered"
    NO_PUBLISHED_VALUE = "no_published_value"
    NOT_IN_EFFECT = "not_in_effect"
    MISSING_MEASURE = "missing_measure"


CREDITING = frozenset({QuantStatus.CREDITED, QuantStatus.CAPPED})


@dataclass(frozen=True, slots=True)
class Activity:
    """The part of a behaviour event that quantification needs.

    Attributes:
        measures: unit -> quantity in thousandths of the unit (exact), e.g. ``{"km": 3217}``.
        local_date: the day the behaviour happened, in the programme's time zone.
    """

    behaviour: str
    measures: Mapping[str, int]
    local_date: date


@dataclass(frozen=True, slots=True)
class Quantification:
    """The reduction of one event under one methodology, or why there is none."""

    methodology_key: str
    status: QuantStatus
    unit: str | None = None
    quantity_milli: int = 0
    factor_g: Decimal | None = None
    reduction_mg: int = 0
    project_emission_mg: int | None = None
    note: str | None = None

    @property
    def applies(self) -> bool:
        """Whether the methodology quantified the event (even if a cap then cut it)."""
        return self.status in CREDITING


@dataclass(frozen=True, slots=True)
class CapUsage:
    """What a person was already credited in a cap's period: events counted and milligrams."""

    count: int = 0
    mg: int = 0


def quantify(activity: Activity, methodology: Methodology) -> Quantification:
    """The reduction of ``activity`` under ``methodology``, before caps.

    A methodology without a factor for the behaviour, out of effect on the day, without a
    published value, or whose unit the event lacks gives no reduction and says why.
    """
    key = methodology.key
    factor = methodology.factor_for(activity.behaviour)
    if factor is None:
        return Quantification(
            key, QuantStatus.NOT_COVERED, note=f"{key} does not cover {activity.behaviour}"
        )
    if not methodology.in_effect(activity.local_date):
        return Quantification(
            key, QuantStatus.NOT_IN_EFFECT, note=f"{key} is not in effect on {activity.local_date}"
        )
    if factor.grams_per_unit is None:
        return Quantification(
            key, QuantStatus.NO_PUBLISHED_VALUE, unit=factor.unit, note=factor.source
        )
    quantity = activity.measures.get(factor.unit)
    if quantity is None:
        return Quantification(
            key,
            QuantStatus.MISSING_MEASURE,
            unit=factor.unit,
            note=f"{key} counts {activity.behaviour} in {factor.unit}, which the event does not report",
        )
    project = factor.project_grams_per_unit
    return Quantification(
        key,
        QuantStatus.CREDITED,
        unit=factor.unit,
        quantity_milli=quantity,
        factor_g=factor.grams_per_unit,
        reduction_mg=milligrams(quantity, factor.grams_per_unit),
        project_emission_mg=None if project is None else milligrams(quantity, project),
    )


def quantify_all(
    activity: Activity, methodologies: Sequence[Methodology]
) -> tuple[Quantification, ...]:
    """The reduction of ``activity`` under every methodology, in the order given."""
    return tuple(quantify(activity, methodology) for methodology in methodologies)


def milligrams(quantity_milli: int, grams_per_unit: Decimal) -> int:
    """Milligrams for ``quantity_milli`` thousandths of a unit at ``grams_per_unit``, rounded down.

    ``quantity_milli / 1000`` units x ``grams_per_unit`` g x 1000 mg/g is exactly
    ``quantity_milli x grams_per_unit`` mg.
    """
    return int((Decimal(quantity_milli) * grams_per_unit).to_integral_value(rounding=ROUND_FLOOR))


def apply_caps(
    quantification: Quantification,
    caps: Sequence[Cap],
    usage: Mapping[CapPeriod, CapUsage],
) -> Quantification:
    """Cut a reduction to what the caps still allow, given what was credited earlier.

    A count cap (``max_count`` a day/month) credits nothing once that many events were
    credited; a grams cap credits at most the grams left. The event keeps its quantity and
    status ``capped`` with a note, so the behaviour is recorded, not lost.
    """
    if not quantification.applies or not caps:
        return quantification
    allowed = quantification.reduction_mg
    notes = []
    for cap in caps:
        used = usage.get(cap.per, CapUsage())
        if cap.max_count is not None and used.count >= cap.max_count:
            allowed = 0
            notes.append(f"cap of {cap.max_count} a {cap.per} reached")
        max_mg = cap.max_mg
        if max_mg is not None and allowed > max(0, max_mg - used.mg):
            allowed = max(0, max_mg - used.mg)
            notes.append(f"cap of {cap.max_grams} g a {cap.per} reached")
    if allowed == quantification.reduction_mg:
        return quantification
    return replace(
        quantification, status=QuantStatus.CAPPED, reduction_mg=allowed, note="; ".join(notes)
    )
