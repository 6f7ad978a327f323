"""The standard tests every connector passes: subclass :class:`ConnectorConformance`."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from pydantic import BaseModel

from carbonhub.connectors.base import (
    SLUG_PATTERN,
    Connector,
    ConnectorConfig,
    ProviderEvent,
    RecordRejection,
)
from carbonhub.connectors.registry import check_info
from carbonhub.connectors.testing.delivery import PullTests, PushTests
from carbonhub.connectors.testing.ledger import scratch_ledger
from carbonhub.connectors.testing.samples import (
    LOCATION_SAMPLES,
    event_problems,
    fuzzed_records,
)
from carbonhub.methodology import Catalogue, packaged_registry

# Semantic Versioning 2.0.0 (https://semver.org), e.g. 1.4.0, 2.0.0-rc.1, 1.0.0+build.5
SEMVER = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$"
)


def _catalogue() -> Catalogue:
    return packaged_registry().catalogue


class ConnectorConformance(PushTests, PullTests):
    """Standard tests of one connector; a test module subclasses it (named ``Test...``).

    Set ``connector_class`` (what the entry point names), ``good_samples`` and ``bad_samples``;
    ``config`` when the connector needs configuration; ``push_body`` for a push connector.
    Override the fixtures ``connector_config`` (configuration known only at test time, e.g. a
    live provider's URL), ``provider_account`` (pull connectors: an :data:`AccountLinker`) and
    ``http_transport`` (an httpx transport for the pull tests, e.g. a recorded provider).
    """

    def test_plugin_is_a_connector_class(self, connector: Connector) -> None:
        assert callable(self.plugin), "the entry point must name a class (or factory)"
        assert isinstance(connector, Connector), "an instance lacks part of the Connector protocol"
        assert connector.info == self.info, "an instance's info differs from the class's info"

    def test_registry_accepts_the_metadata(self) -> None:
        assert check_info(self.info) == []

    def test_slug_matches_the_pattern(self) -> None:
        assert re.fullmatch(SLUG_PATTERN, self.info.slug), f"{self.info.slug!r} !~ {SLUG_PATTERN}"

    def test_version_is_semantic(self) -> None:
        assert SEMVER.match(self.info.version), f"{self.info.version!r} is not a semantic version"

    def test_behaviours_are_catalogued(self) -> None:
        catalogue = _catalogue()
        unknown = sorted(b for b in self.info.behaviours if catalogue.behaviour(b) is None)
        assert self.info.behaviours, "info.behaviours is empty"
        assert unknown == [], f"behaviours not in the packaged catalogue: {unknown}"

    def test_categories_are_those_of_the_behaviours(self) -> None:
        category_of = _catalogue().category_of()
        expected = {category_of.get(b, f"<{b} uncatalogued>") for b in self.info.behaviours}
        assert set(self.info.categories) == expected

    def test_config_model_is_a_pydantic_model(self) -> None:
        model = self.info.config_model
        assert isinstance(model, type), "config_model must be a class"
        assert issubclass(model, BaseModel), "config_model must be a pydantic model"
        assert issubclass(model, ConnectorConfig), "config_model must extend ConnectorConfig"

    def test_good_samples_normalise_to_their_behaviour(self, connector: Connector) -> None:
        catalogue = _catalogue()
        for index, sample in enumerate(self.good()):
            event = connector.normalize(sample.record)
            assert isinstance(event, ProviderEvent), f"good sample {index}: {event}"
            assert event.behaviour == sample.behaviour, f"good sample {index}"
            assert event_problems(event, self.info, catalogue) == [], f"good sample {index}"

    def test_good_samples_cover_every_declared_behaviour(self) -> None:
        covered = {sample.behaviour for sample in self.good()}
        assert sorted(self.info.behaviours - covered) == [], "behaviours without a good sample"

    def test_normalize_is_deterministic(self, connector: Connector) -> None:
        for index, sample in enumerate(self.good()):
            first, again = connector.normalize(sample.record), connector.normalize(sample.record)
            assert first == again, f"good sample {index} normalises differently each time"

    def test_bad_samples_are_rejected_with_their_reason(self, connector: Connector) -> None:
        if not self.bad_samples:
            pytest.fail(f"{type(self).__name__} must declare bad_samples (what it refuses, why)")
        for index, sample in enumerate(self.bad_samples):
            outcome = connector.normalize(sample.record)
            assert isinstance(outcome, RecordRejection), f"bad sample {index}: {outcome}"
            assert outcome.reason == sample.reason, f"bad sample {index}: {outcome.detail}"
            assert outcome.detail.strip(), f"bad sample {index}: a rejection must say why"

    def test_location_data_is_rejected(self, connector: Connector) -> None:
        for index, sample in enumerate(self.good()):
            for location in LOCATION_SAMPLES:
                outcome = connector.normalize(self.with_location(sample.record, location))
                assert isinstance(outcome, RecordRejection), f"good sample {index} + {location}"
                assert outcome.reason == "location_data", f"good sample {index} + {location}"

    def test_normalize_never_raises(self, connector: Connector) -> None:
        catalogue = _catalogue()

        @settings(
            max_examples=self.fuzz_examples,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        )
        @given(fuzzed_records(self.good_samples))
        def normalises_or_rejects(record: Any) -> None:
            outcome = connector.normalize(record)
            assert isinstance(outcome, ProviderEvent | RecordRejection), repr(outcome)
            if isinstance(outcome, ProviderEvent):
                assert event_problems(outcome, self.info, catalogue) == []

        normalises_or_rejects()

    # --- ledger --------------------------------------------------------------------------

    def test_replayed_records_post_nothing_new(self, connector: Connector, tmp_path: Path) -> None:
        def normalised() -> list[ProviderEvent]:
            events = [connector.normalize(s.record) for s in self.good()]
            return [e for e in events if isinstance(e, ProviderEvent)]

        with scratch_ledger(tmp_path, self.home_region) as ledger:
            first = ledger.post(self.info, normalised())
            again = ledger.post(self.info, normalised())
            verification = ledger.verify()

        quarantined = [(r.external_id, r.reason, r.detail) for r in first.results if r.reason]
        assert quarantined == [], "good samples must be postable (see GoodSample)"
        assert first.posted >= 1
        assert (again.posted, again.quarantined) == (0, 0)
        assert again.duplicates == len(again.results)
        assert verification.ok, verification.problem
