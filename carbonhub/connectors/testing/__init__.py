"""The connector conformance suite: the standard tests every carbonhub connector passes.

Modelled on the Meltano Singer SDK's reusable test classes. A provider's engineer adds one test
module to their connector's distribution (pytest and hypothesis installed)::

    from carbonhub.connectors.testing import BadSample, ConnectorConformance, GoodSample
    from greenmiles_connector import GreenMilesConnector

    class TestGreenMilesConformance(ConnectorConformance):
        connector_class = GreenMilesConnector
        config = {"base_url": "https://api.greenmiles.example"}
        good_samples = (GoodSample(PURCHASE, "use.own_cup"),)
        bad_samples = (BadSample({**PURCHASE, "own_cup": False}, "not_green"),)
        push_body = json.dumps({"purchases": [PURCHASE]}).encode()

and runs ``pytest``. The tests check the declared metadata against the packaged behaviour
catalogue; that good samples normalise to their behaviour and bad ones are rejected with their
reason; that ``normalize`` never raises (hypothesis) and rejects records carrying coordinates or
a track (``location_data``); that replaying the good samples into a scratch SQLite ledger posts
nothing new; for push connectors, that signed pushes verify and wrong, stale or unsigned ones
raise ``InvalidPush``; for pull connectors, that pages advance from cursor None to the end and
that fetching again from the final cursor brings nothing unseen (override the
``provider_account`` fixture, and ``connector_config`` to point at a live or simulated provider).
Tests that do not apply (pull tests of a push-only connector) are skipped with the reason.
"""

from carbonhub.connectors.testing.base import AccountLinker
from carbonhub.connectors.testing.samples import LOCATION_SAMPLES, BadSample, GoodSample
from carbonhub.connectors.testing.suite import ConnectorConformance

__all__ = ["LOCATION_SAMPLES", "AccountLinker", "BadSample", "ConnectorConformance", "GoodSample"]
