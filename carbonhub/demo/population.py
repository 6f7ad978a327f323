"""A synthetic, reproducible population for the demo: enterprises, citizens, jobs and homes.

Nothing here is real personal data; every value comes from a seeded random generator, so the
same plan always builds the same people.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta

from carbonhub.actors import complete_uscc

SEASON_START = date(2023, 6, 15)
SEASON_END = date(2023, 10, 31)

# (name, English name, district) — fictional employers.
ENTERPRISES = (
    ("京绿科技有限公司", "Jinglv Technology Co., Ltd.", "110108"),
    ("北辰低碳出行服务有限公司", "Beichen Low-Carbon Mobility Services Co., Ltd.", "110105"),
    ("首都绿色金融咨询有限公司", "Capital Green Finance Consulting Co., Ltd.", "110101"),
    ("津港绿色物流有限公司", "Jingang Green Logistics Co., Ltd.", "120116"),
    ("浦江碳普惠软件有限公司", "Pujiang Carbon Inclusion Software Co., Ltd.", "310115"),
    ("徐汇城市更新设计院有限公司", "Xuhui Urban Renewal Design Institute Co., Ltd.", "310104"),
)

# Share of citizens per province and the districts they live in.
PROVINCE_WEIGHTS = {"110000": 0.5, "120000": 0.2, "310000": 0.3}


@dataclass(frozen=True, slots=True)
class DemoEnterprise:
    """An employer of the demo."""

    id: str
    name: str
    name_en: str
    uscc: str
    region: str


@dataclass(slots=True)
class Habits:
    """How often a citizen does each green behaviour (expected events a day)."""

    rates: dict[str, float] = field(default_factory=dict)
    bike_km: float = 2.5
    metro_km: float = 12.0
    bus_km: float = 6.0


@dataclass(slots=True)
class DemoCitizen:
    """A citizen of the demo: where they live, whether and where they work, their habits."""

    number: int
    person_id: str
    username: str
    home: str
    employer: str | None
    employed_from: date | None
    employed_to: date | None
    moves_to: tuple[date, str] | None
    habits: Habits


def _token(rng: random.Random, length: int) -> str:
    alphabet = "abcdefghijklmnopqrstuvwxyz234567"
    return "".join(rng.choice(alphabet) for _ in range(length))


def demo_enterprises(rng: random.Random) -> list[DemoEnterprise]:
    """The demo's employers, with valid unified social credit codes."""
    result = []
    for index, (name, name_en, district) in enumerate(ENTERPRISES):
        organisation = f"{rng.randrange(10**7, 10**8)}"
        result.append(
            DemoEnterprise(
                id=f"e_demo{index + 1:02d}",
                name=name,
                name_en=name_en,
                uscc=complete_uscc(f"91{district}", organisation),
                region=district,
            )
        )
    return result


def demo_citizens(
    rng: random.Random,
    count: int,
    districts: dict[str, list[str]],
    enterprises: list[DemoEnterprise],
) -> list[DemoCitizen]:
    """``count`` citizens spread over the provinces' districts, about 60% employed locally."""
    provinces = list(PROVINCE_WEIGHTS)
    weights = [PROVINCE_WEIGHTS[p] for p in provinces]
    citizens = []
    for number in range(1, count + 1):
        province = rng.choices(provinces, weights)[0]
        home = rng.choice(districts[province])
        local_employers = [e for e in enterprises if e.region[:2] == province[:2]]
        employer = rng.choice(local_employers) if local_employers and rng.random() < 0.6 else None
        employed_from = employed_to = None
        if employer is not None:
            hired_by = SEASON_START + timedelta(days=60)  # some join during the season
            employed_from = date(2019, 1, 1) + timedelta(
                days=rng.randrange((hired_by - date(2019, 1, 1)).days)
            )
            if rng.random() < 0.08:  # some leave during the season
                leaves = SEASON_START + timedelta(days=rng.randrange(20, 120))
                employed_to = max(leaves, employed_from + timedelta(days=30))
        moves_to = None
        if rng.random() < 0.02:
            moves_to = (
                SEASON_START + timedelta(days=rng.randrange(10, 120)),
                rng.choice(districts[province]),
            )
        citizens.append(
            DemoCitizen(
                number=number,
                person_id="p_" + _token(rng, 20),
                username=f"citizen{number:05d}",
                home=home,
                employer=None if employer is None else employer.id,
                employed_from=employed_from,
                employed_to=employed_to,
                moves_to=moves_to,
                habits=_habits(rng),
            )
        )
    return citizens


def _habits(rng: random.Random) -> Habits:
    """Per-citizen behaviour rates (events a day), some citizens doing much more than others."""

    def maybe(probability: float, low: float, high: float) -> float:
        return rng.uniform(low, high) if rng.random() < probability else 0.0

    rates = {
        "transport.bike_share": maybe(0.45, 0.2, 1.2),
        "transport.metro": maybe(0.45, 0.3, 1.6),
        "transport.bus": maybe(0.3, 0.1, 0.8),
        "food.no_utensils": maybe(0.6, 0.05, 0.5),
        "food.clean_plate": maybe(0.25, 0.05, 0.4),
        "use.e_waybill": maybe(0.7, 0.05, 0.4),
        "digital_finance.e_invoice": maybe(0.3, 0.05, 0.4),
        "digital_finance.offline_payment": maybe(0.5, 0.2, 1.5),
        "digital_finance.utility_bill_online": maybe(0.4, 0.02, 0.08),
        "digital_finance.e_transfer": maybe(0.3, 0.03, 0.2),
    }
    return Habits(
        rates=rates,
        bike_km=rng.uniform(1.2, 4.5),
        metro_km=rng.uniform(4.0, 25.0),
        bus_km=rng.uniform(2.0, 10.0),
    )
