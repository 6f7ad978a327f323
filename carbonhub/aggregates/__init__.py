"""Released aggregates: the consented sums and distinct-person counters reports read.

Maintained with the rollups, in the same transactions: see :mod:`.maintenance`.
"""

from carbonhub.aggregates.maintenance import on_posted, recount
from carbonhub.aggregates.partitions import ALL_TIME, partition_key
from carbonhub.aggregates.rules import PURPOSES, Coverage, ReleaseRules
from carbonhub.aggregates.store import COUNTED, clear_all, counted_coverage

__all__ = [
    "ALL_TIME",
    "COUNTED",
    "PURPOSES",
    "Coverage",
    "ReleaseRules",
    "clear_all",
    "counted_coverage",
    "on_posted",
    "partition_key",
    "recount",
]
