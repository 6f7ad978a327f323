"""Reports built from rollups: regional, enterprise ESG and a person's own ledger."""

from carbonhub.reports.breakdown import BehaviourFigure, BreakdownReport, SeriesFigure
from carbonhub.reports.enterprise import EsgReport, Scope3Estimate
from carbonhub.reports.figures import Figure, grams, kg
from carbonhub.reports.personal import BehaviourTotal, EntryView, PersonalLedger, view_entry
from carbonhub.reports.region import RegionReport
from carbonhub.reports.scope import choose_methodology, resolve_compared

__all__ = [
    "BehaviourFigure",
    "BehaviourTotal",
    "BreakdownReport",
    "EntryView",
    "EsgReport",
    "Figure",
    "PersonalLedger",
    "RegionReport",
    "Scope3Estimate",
    "SeriesFigure",
    "choose_methodology",
    "grams",
    "kg",
    "resolve_compared",
    "view_entry",
]
