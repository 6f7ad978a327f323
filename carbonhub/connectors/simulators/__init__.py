"""Provider simulators: real HTTP servers of the four built-in connectors' providers.

Each simulator serves OAuth 2 (code flow with PKCE, refresh rotation), deterministic account
histories and fault switches, exactly as ``API.md`` in this package specifies. Typical use::

    with SimulatorServer("bikeshare", SimulatorOptions(accounts=10)) as server:
        tokens = link_account(server.base_url, "B000001")
        ...  # a BikeshareConnector with base_url=server.base_url reads the rides

or, from the command line, ``carbonhub simulate bikeshare --port 9001``.
"""

from carbonhub.connectors.simulators.oauth import s256
from carbonhub.connectors.simulators.options import SimulatorOptions
from carbonhub.connectors.simulators.providers import PROVIDERS, SimulatorFactory, create_simulator
from carbonhub.connectors.simulators.server import (
    SimulatorError,
    SimulatorServer,
    approve_url,
    link_account,
)

__all__ = [
    "PROVIDERS",
    "SimulatorError",
    "SimulatorFactory",
    "SimulatorOptions",
    "SimulatorServer",
    "approve_url",
    "create_simulator",
    "link_account",
    "s256",
]
