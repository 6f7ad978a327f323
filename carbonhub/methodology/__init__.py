"""Methodologies: the behaviour catalogue, versioned methodologies as data, and quantification.

Pure: no database, no HTTP. Everything here is a value loaded from the data files in ``data/``.
"""

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
from carbonhub.methodology.quantify import (
    Activity,
    CapUsage,
    Quantification,
    QuantStatus,
    apply_caps,
    milligrams,
    quantify,
    quantify_all,
)
from carbonhub.methodology.registry import (
    Catalogue,
    MethodologyDataError,
    MethodologyRegistry,
    ProgrammeDirectory,
    load_catalogue,
    load_methodology,
    load_programmes,
    packaged_registry,
)

__all__ = [
    "Activity",
    "BehaviourCategory",
    "BehaviourType",
    "Cap",
    "CapPeriod",
    "CapUsage",
    "Catalogue",
    "DedupRule",
    "Factor",
    "Methodology",
    "MethodologyDataError",
    "MethodologyRegistry",
    "Programme",
    "ProgrammeDirectory",
    "QuantStatus",
    "Quantification",
    "apply_caps",
    "load_catalogue",
    "load_methodology",
    "load_programmes",
    "milligrams",
    "packaged_registry",
    "quantify",
    "quantify_all",
]
