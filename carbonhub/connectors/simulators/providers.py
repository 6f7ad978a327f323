"""The simulated providers by slug (the same slugs as the built-in connectors that read them)."""

from __future__ import annotations

from collections.abc import Callable

from starlette.applications import Starlette

from carbonhub.connectors.simulators import bikeshare, logistics, takeaway, transit
from carbonhub.connectors.simulators.options import SimulatorOptions

SimulatorFactory = Callable[[SimulatorOptions], Starlette]

PROVIDERS: dict[str, SimulatorFactory] = {
    "bikeshare": bikeshare.create_app,
    "takeaway": takeaway.create_app,
    "logistics": logistics.create_app,
    "transit": transit.create_app,
}


def create_simulator(provider: str, options: SimulatorOptions | None = None) -> Starlette:
    """The ASGI app of one provider's simulator (``KeyError`` naming the known ones otherwise)."""
    try:
        factory = PROVIDERS[provider]
    except KeyError:
        raise KeyError(
            f"no simulator {provider!r}; known: {', '.join(sorted(PROVIDERS))}"
        ) from None
    return factory(options or SimulatorOptions())
