"""Every switch of a provider simulator, in one frozen value (see ``API.md`` beside this module)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")  # the simulated providers' local days


def utc_now() -> datetime:
    """The current instant (the default clock: only records up to it are served)."""
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class SimulatorOptions:
    """How a simulator behaves: its data, its OAuth client, its faults.

    Attributes:
        seed, accounts, start, end, activity: what the deterministic histories are made of;
            accounts are ``<letter><n:06d>`` for n = 1..accounts, start/end are local dates.
        client_id, client_secret, redirect_prefix: carbonhub's client registration; loopback
            redirect URIs are always accepted, others only when they start with the prefix.
        token_ttl: seconds an access token lives.
        error_rate, latency_ms, duplicate_rate, malformed_rate, shuffle, rate_limit: the fault
            switches (``rate_limit`` is requests per second per access token; None: unlimited).
        clock: what "now" is (records later than it are not served yet).
    """

    seed: int = 2023
    accounts: int = 1000
    start: date = date(2023, 6, 15)
    end: date = date(2023, 10, 31)
    activity: float = 1.0
    client_id: str = "carbonhub"
    client_secret: str = field(default="carbonhub-secret", repr=False)
    redirect_prefix: str | None = None
    token_ttl: int = 3600
    error_rate: float = 0.0
    latency_ms: int = 0
    duplicate_rate: float = 0.0
    malformed_rate: float = 0.0
    shuffle: bool = False
    rate_limit: float | None = None
    clock: Callable[[], datetime] = field(default=utc_now, compare=False, repr=False)

    def __post_init__(self) -> None:
        """Refuse switches that make no sense, naming the switch."""
        problems = []
        if self.accounts < 0 or self.accounts > 999_999:
            problems.append("accounts must be between 0 and 999999")
        if self.end < self.start:
            problems.append("end must not be before start")
        if not 0 <= self.activity <= 100:
            problems.append("activity must be between 0 and 100")
        for name in ("error_rate", "duplicate_rate"):
            if not 0 <= getattr(self, name) <= 1:
                problems.append(f"{name} must be between 0 and 1")
        if not 0 <= self.malformed_rate <= 10:
            problems.append("malformed_rate must be between 0 and 10")
        if self.latency_ms < 0:
            problems.append("latency_ms must not be negative")
        if self.token_ttl <= 0:
            problems.append("token_ttl must be positive")
        if self.rate_limit is not None and self.rate_limit <= 0:
            problems.append("rate_limit must be positive (or None for no limit)")
        if not self.client_id or not self.client_secret:
            problems.append("client_id and client_secret must not be empty")
        if problems:
            raise ValueError("; ".join(problems))
