"""The graph of actors: regions (GB/T 2260), persons, enterprises, employment and residence."""

from carbonhub.actors.directory import (
    employ,
    end_employment,
    move_residence,
    new_enterprise_id,
    new_person_id,
    register_enterprise,
    register_person,
)
from carbonhub.actors.regions import RegionRecord, RegionTree, packaged_regions, sync_regions
from carbonhub.actors.uscc import complete_uscc, validate_uscc

__all__ = [
    "RegionRecord",
    "RegionTree",
    "complete_uscc",
    "employ",
    "end_employment",
    "move_residence",
    "new_enterprise_id",
    "new_person_id",
    "packaged_regions",
    "register_enterprise",
    "register_person",
    "sync_regions",
    "validate_uscc",
]
