"""Loading the behaviour catalogue, the methodologies and the programmes from their data files.

The packaged files live in ``carbonhub/methodology/data``. Loading validates them against each
other (a factor names a catalogued behaviour and one of its units, a programme names a
registered methodology), so a bad data file stops startup with a message naming the file.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from carbonhub.errors import NotFound
from carbonhub.methodology.model import (
    BehaviourCategory,
    BehaviourType,
    Cap,
    CapPeriod,
    DedupRule,
    Factor,
    Methodology,
    Programme,
)

DATA = resources.files("carbonhub.methodology") / "data"
_Enum = TypeVar("_Enum", bound=StrEnum)


class MethodologyDataError(ValueError):
    """A data file is inconsistent or malformed; the message names the file and the problem."""


class Catalogue:
    """The behaviour catalogue: the 7 categories and the behaviours in them."""

    def __init__(
        self, categories: Iterable[BehaviourCategory], behaviours: Iterable[BehaviourType]
    ) -> None:
        self.categories = tuple(categories)
        self._categories = {c.code: c for c in self.categories}
        self.behaviours = tuple(behaviours)
        self._behaviours = {b.code: b for b in self.behaviours}

    def behaviour(self, code: str) -> BehaviourType | None:
        """The behaviour with ``code``, or None when it is not catalogued."""
        return self._behaviours.get(code)

    def category(self, code: str) -> BehaviourCategory | None:
        """The category with ``code``, or None."""
        return self._categories.get(code)

    def category_of(self) -> dict[str, str]:
        """Behaviour code -> category code, for every catalogued behaviour."""
        return {b.code: b.category for b in self.behaviours}

    def behaviours_in(self, categories: Iterable[str]) -> tuple[str, ...]:
        """Codes of the behaviours in the given categories."""
        wanted = set(categories)
        return tuple(b.code for b in self.behaviours if b.category in wanted)


class MethodologyRegistry:
    """Every registered methodology version, looked up by ``id`` or ``id@version``."""

    def __init__(self, catalogue: Catalogue, methodologies: Iterable[Methodology]) -> None:
        self.catalogue = catalogue
        ordered = sorted(methodologies, key=lambda m: (m.id, _version_key(m.version)))
        self._by_key: dict[str, Methodology] = {}
        for methodology in ordered:
            if methodology.key in self._by_key:
                raise MethodologyDataError(f"methodology {methodology.key} is registered twice")
            _check_against_catalogue(methodology, catalogue)
            self._by_key[methodology.key] = methodology
        self._latest = {m.id: m for m in ordered}

    def all(self) -> tuple[Methodology, ...]:
        """Every methodology version, ordered by id then version."""
        return tuple(self._by_key.values())

    def get(self, key: str) -> Methodology | None:
        """The methodology with key ``id@version``, or None."""
        return self._by_key.get(key)

    def resolve(self, reference: str) -> Methodology:
        """Find ``id`` (its latest version) or ``id@version``; NotFound names the known ones."""
        found = self._by_key.get(reference) or self._latest.get(reference)
        if found is None:
            known = ", ".join(sorted(self._by_key))
            raise NotFound(f"unknown methodology {reference!r}; registered: {known}")
        return found


class ProgrammeDirectory:
    """The programmes, found by the region a person lives in."""

    def __init__(self, programmes: Iterable[Programme]) -> None:
        self._by_province: dict[str, Programme] = {}
        for programme in programmes:
            if programme.region in self._by_province:
                raise MethodologyDataError(f"two programmes for region {programme.region}")
            self._by_province[programme.region] = programme

    def all(self) -> tuple[Programme, ...]:
        """Every programme."""
        return tuple(self._by_province.values())

    def get(self, programme_id: str) -> Programme | None:
        """The programme with ``programme_id``, or None."""
        return next((p for p in self._by_province.values() if p.id == programme_id), None)

    def for_region(self, region_code: str) -> Programme | None:
        """The programme covering ``region_code`` (GB/T 2260: its first two digits)."""
        return self._by_province.get(region_code[:2] + "0000")


@cache
def packaged_registry() -> MethodologyRegistry:
    """The catalogue and methodologies shipped with carbonhub (loaded once)."""
    catalogue = load_catalogue(DATA / "catalogue.toml")
    folder = DATA / "methodologies"
    files = sorted((f for f in folder.iterdir() if f.name.endswith(".toml")), key=lambda f: f.name)
    return MethodologyRegistry(catalogue, (load_methodology(f) for f in files))


def load_programmes(
    registry: MethodologyRegistry, default_timezone: str, path: Path | None = None
) -> ProgrammeDirectory:
    """Load the programmes (the packaged file unless ``path`` is given) and check them."""
    source: Traversable | Path = path if path is not None else DATA / "programmes.toml"
    data = _read_toml(source)
    programmes = []
    for raw in data.get("programme", []):
        programme = Programme(
            id=_str(raw, "id", source),
            name_en=_str(raw, "name_en", source),
            name_zh=_str(raw, "name_zh", source),
            region=_str(raw, "region", source),
            primary_methodology=_str(raw, "primary_methodology", source),
            timezone=_zone(raw.get("timezone", default_timezone), source),
            grams_per_point=_int(raw, "grams_per_point", source, default=10),
            starts=_optional_date(raw, "starts", source),
            ends=_optional_date(raw, "ends", source),
        )
        if not (programme.region.isdigit() and len(programme.region) == 6) or not (
            programme.region.endswith("0000")
        ):
            raise MethodologyDataError(
                f"{source}: programme {programme.id}: region {programme.region!r} is not a "
                "province-level GB/T 2260 code (e.g. 110000)"
            )
        if registry.get(programme.primary_methodology) is None:
            raise MethodologyDataError(
                f"{source}: programme {programme.id} names unknown methodology "
                f"{programme.primary_methodology!r} (use id@version)"
            )
        if programme.grams_per_point <= 0:
            raise MethodologyDataError(f"{source}: programme {programme.id}: grams_per_point <= 0")
        programmes.append(programme)
    return ProgrammeDirectory(programmes)


def load_catalogue(source: Traversable | Path) -> Catalogue:
    """Read the behaviour catalogue file."""
    data = _read_toml(source)
    categories = [
        BehaviourCategory(
            code=_str(raw, "code", source),
            name_zh=_str(raw, "name_zh", source),
            name_en=_str(raw, "name_en", source),
            note=raw.get("note"),
        )
        for raw in data.get("category", [])
    ]
    category_codes = {c.code for c in categories}
    behaviours = [_behaviour(raw, source) for raw in data.get("behaviour", [])]
    for behaviour in behaviours:
        if behaviour.category not in category_codes:
            raise MethodologyDataError(f"{source}: {behaviour.code}: unknown category")
    return Catalogue(categories, behaviours)


def _behaviour(raw: Mapping[str, Any], source: object) -> BehaviourType:
    code = _str(raw, "code", source)
    units = tuple(str(u) for u in raw.get("units", []))
    count_unit = _str(raw, "count_unit", source)
    if not units or count_unit not in units:
        raise MethodologyDataError(f"{source}: {code}: count_unit must be one of its units")
    limits = {
        str(u): _decimal(v, f"{code} max_per_event.{u}", source)
        for u, v in raw.get("max_per_event", {}).items()
    }
    speed = raw.get("max_speed_kmh")
    return BehaviourType(
        code=code,
        category=code.split(".", 1)[0],
        name_zh=_str(raw, "name_zh", source),
        name_en=_str(raw, "name_en", source),
        units=units,
        count_unit=count_unit,
        dedup=_enum(DedupRule, raw, "dedup", source),
        window_minutes=_int(raw, "window_minutes", source, default=0),
        max_per_event=limits,
        max_speed_kmh=None if speed is None else _decimal(speed, f"{code} max_speed_kmh", source),
        commute_mode=bool(raw.get("commute_mode", False)),
        acef_example=bool(raw.get("acef_example", False)),
    )


def load_methodology(source: Traversable | Path) -> Methodology:
    """Read one methodology file."""
    raw = _read_toml(source)
    factors = tuple(
        Factor(
            behaviour=_str(f, "behaviour", source),
            unit=_str(f, "unit", source),
            grams_per_unit=_optional_decimal(f, "grams_per_unit", source),
            baseline_grams_per_unit=_optional_decimal(f, "baseline_grams_per_unit", source),
            project_grams_per_unit=_optional_decimal(f, "project_grams_per_unit", source),
            source=str(f.get("source", "")),
        )
        for f in raw.get("factor", [])
    )
    factors = tuple(_with_net_reduction(f, source) for f in factors)
    caps = tuple(
        Cap(
            behaviour=_str(c, "behaviour", source),
            per=_enum(CapPeriod, c, "per", source),
            max_count=None if c.get("max_count") is None else _int(c, "max_count", source),
            max_grams=_optional_decimal(c, "max_grams", source),
        )
        for c in raw.get("cap", [])
    )
    effective_from = _date(raw, "effective_from", source)
    effective_to = _optional_date(raw, "effective_to", source)
    if effective_to is not None and effective_to < effective_from:
        raise MethodologyDataError(
            f"{source}: effective_to {effective_to} is before effective_from {effective_from}"
        )
    return Methodology(
        id=_str(raw, "id", source),
        version=_str(raw, "version", source),
        name_en=_str(raw, "name_en", source),
        name_zh=_str(raw, "name_zh", source),
        publisher=_str(raw, "publisher", source),
        source=_str(raw, "source", source),
        source_url=raw.get("source_url"),
        effective_from=effective_from,
        effective_to=effective_to,
        factors=factors,
        caps=caps,
        note=raw.get("note"),
    )


def _with_net_reduction(factor: Factor, source: object) -> Factor:
    baseline, project = factor.baseline_grams_per_unit, factor.project_grams_per_unit
    if baseline is None or project is None:
        return factor
    net = baseline - project
    if factor.grams_per_unit is not None and factor.grams_per_unit != net:
        raise MethodologyDataError(
            f"{source}: {factor.behaviour}: grams_per_unit {factor.grams_per_unit} is not "
            f"baseline {baseline} minus project {project}"
        )
    return Factor(factor.behaviour, factor.unit, net, baseline, project, factor.source)


def _check_against_catalogue(methodology: Methodology, catalogue: Catalogue) -> None:
    seen: set[str] = set()
    for factor in methodology.factors:
        behaviour = catalogue.behaviour(factor.behaviour)
        where = f"methodology {methodology.key}, factor {factor.behaviour}"
        if behaviour is None:
            raise MethodologyDataError(f"{where}: behaviour not in the catalogue")
        if factor.unit not in behaviour.units:
            raise MethodologyDataError(
                f"{where}: unit {factor.unit!r} not one of {behaviour.units}"
            )
        if factor.behaviour in seen:
            raise MethodologyDataError(f"{where}: two factors for one behaviour")
        if factor.grams_per_unit is not None and factor.grams_per_unit < 0:
            raise MethodologyDataError(f"{where}: negative reduction factor")
        seen.add(factor.behaviour)
    for cap in methodology.caps:
        if cap.behaviour not in seen:
            raise MethodologyDataError(
                f"methodology {methodology.key}: cap on uncovered {cap.behaviour}"
            )
        if (cap.max_count is None) == (cap.max_grams is None):
            raise MethodologyDataError(
                f"methodology {methodology.key}: cap on {cap.behaviour} needs max_count or max_grams"
            )
        if (cap.max_count is not None and cap.max_count <= 0) or (
            cap.max_grams is not None and cap.max_grams <= 0
        ):
            raise MethodologyDataError(
                f"methodology {methodology.key}: cap on {cap.behaviour} must be positive"
            )


def _version_key(version: str) -> tuple[tuple[int, int, str], ...]:
    """Order versions part by part: numbers as numbers ("1.10" > "1.9"), a pre-release suffix
    before its release ("1.0-rc1" < "1.0"), never comparing a number with text."""
    key = []
    for part in version.split("."):
        rest = part.lstrip("0123456789")
        digits = part[: len(part) - len(rest)]
        key.append((int(digits) if digits else -1, 0 if rest else 1, rest))
    return tuple(key)


def _read_toml(source: Traversable | Path) -> dict[str, Any]:
    try:
        with source.open("rb") as handle:
            return tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise MethodologyDataError(f"{source}: {exc}") from exc


def _str(raw: Mapping[str, Any], key: str, source: object) -> str:
    value = raw.get(key)
    if not isinstance(value, str) or not value:
        raise MethodologyDataError(f"{source}: missing or empty {key!r} in {dict(raw)!r}")
    return value


def _decimal(value: Any, what: str, source: object) -> Decimal:
    if isinstance(value, float):
        raise MethodologyDataError(f"{source}: {what}: write decimals as strings, not floats")
    try:
        number = Decimal(str(value))
    except InvalidOperation as exc:
        raise MethodologyDataError(f"{source}: {what}: not a number: {value!r}") from exc
    if not number.is_finite():
        raise MethodologyDataError(f"{source}: {what}: not a finite number: {value!r}")
    return number


def _optional_decimal(raw: Mapping[str, Any], key: str, source: object) -> Decimal | None:
    return None if raw.get(key) is None else _decimal(raw[key], key, source)


def _int(raw: Mapping[str, Any], key: str, source: object, default: int | None = None) -> int:
    value = raw.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise MethodologyDataError(f"{source}: {key!r} must be a whole number, not {value!r}")
    return value


def _enum(kind: type[_Enum], raw: Mapping[str, Any], key: str, source: object) -> _Enum:
    value = _str(raw, key, source)
    try:
        return kind(value)
    except ValueError:
        allowed = ", ".join(member.value for member in kind)
        raise MethodologyDataError(f"{source}: {key} {value!r} is not one of {allowed}") from None


def _zone(value: Any, source: object) -> ZoneInfo:
    try:
        return ZoneInfo(str(value))
    except (ZoneInfoNotFoundError, ValueError):
        raise MethodologyDataError(f"{source}: unknown time zone {value!r}") from None


def _date(raw: Mapping[str, Any], key: str, source: object) -> date:
    value = raw.get(key)
    # a TOML date-time is a datetime (a date subclass) and would not compare with a date
    if not isinstance(value, date) or isinstance(value, datetime):
        raise MethodologyDataError(f"{source}: {key!r} must be a date (YYYY-MM-DD)")
    return value


def _optional_date(raw: Mapping[str, Any], key: str, source: object) -> date | None:
    return None if raw.get(key) is None else _date(raw, key, source)
