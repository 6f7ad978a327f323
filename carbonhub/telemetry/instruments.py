"""The metric instruments carbonhub records, created once from a meter.

Names follow the OpenTelemetry semantic conventions where one exists (HTTP server duration);
the hub's own are under ``carbonhub.``. No attribute ever names a person: events are counted
by source and outcome, consents by change and purpose.
"""

from __future__ import annotations

from dataclasses import dataclass

from opentelemetry.metrics import Counter, Histogram, Meter

# the semantic conventions' advice for http.server.request.duration, in seconds
HTTP_DURATION_BUCKETS = (
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
)  # fmt: skip
# from a minute to a season: providers deliver within minutes, files months later
SYNC_LAG_BUCKETS = (
    60.0, 300.0, 900.0, 3600.0, 6 * 3600.0, 86400.0, 3 * 86400.0, 7 * 86400.0, 30 * 86400.0,
    90 * 86400.0,
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Instruments:
    """Every instrument of the hub."""

    http_duration: Histogram
    http_requests: Counter
    events: Counter
    sync_lag: Histogram
    consents: Counter

    @classmethod
    def create(cls, meter: Meter) -> Instruments:
        """The instruments, registered with ``meter``."""
        return cls(
            http_duration=meter.create_histogram(
                "http.server.request.duration",
                unit="s",
                description="Duration of HTTP server requests.",
                explicit_bucket_boundaries_advisory=HTTP_DURATION_BUCKETS,
            ),
            http_requests=meter.create_counter(
                "http.server.requests",
                unit="{request}",
                description="HTTP requests answered, by method, route and status code.",
            ),
            events=meter.create_counter(
                "carbonhub.events",
                unit="{event}",
                description="Behaviour events and provider records by outcome "
                "(posted, duplicate, quarantined, rejected) and source connector.",
            ),
            sync_lag=meter.create_histogram(
                "carbonhub.sync.lag",
                unit="s",
                description="Seconds from a record's occurrence to its posting in the ledger, "
                "by source connector.",
                explicit_bucket_boundaries_advisory=SYNC_LAG_BUCKETS,
            ),
            consents=meter.create_counter(
                "carbonhub.consents",
                unit="{consent}",
                description="Committed consent changes by change (granted, narrowed, renewed, "
                "revoked, terminated) and purpose.",
            ),
        )
