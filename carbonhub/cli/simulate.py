"""``carbonhub simulate PROVIDER --port N``: serve a provider simulator (see simulators/API.md)."""

from __future__ import annotations

from datetime import date, datetime

import click
import uvicorn

from carbonhub.connectors.simulators import PROVIDERS, SimulatorOptions, create_simulator

DEFAULTS = SimulatorOptions()
_DATE = click.DateTime(formats=["%Y-%m-%d"])


def _local_date(value: datetime | None, default: date) -> date:
    """A ``--start``/``--end`` value as a local date (click parses dates as datetimes)."""
    return default if value is None else value.date()


@click.command()
@click.argument("provider", type=click.Choice(sorted(PROVIDERS)))
@click.option("--port", required=True, type=click.IntRange(0, 65535), help="0 picks a free port.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--seed", default=DEFAULTS.seed, show_default=True, type=int)
@click.option(
    "--accounts", default=DEFAULTS.accounts, show_default=True, type=click.IntRange(0, 999_999)
)
@click.option("--start", type=_DATE, help=f"First local day [default: {DEFAULTS.start}].")
@click.option("--end", type=_DATE, help=f"Last local day [default: {DEFAULTS.end}].")
@click.option(
    "--activity",
    default=DEFAULTS.activity,
    show_default=True,
    type=click.FloatRange(0, 100),
    help="Scales records per account and day.",
)
@click.option(
    "--error-rate",
    default=0.0,
    show_default=True,
    type=click.FloatRange(0, 1),
    help="Fraction of requests answered 500/502/503.",
)
@click.option(
    "--latency-ms",
    default=0,
    show_default=True,
    type=click.IntRange(0),
    help="Delay of every request (plus up to 20% jitter).",
)
@click.option(
    "--duplicate-rate",
    default=0.0,
    show_default=True,
    type=click.FloatRange(0, 1),
    help="Fraction of a page's records sent twice.",
)
@click.option(
    "--malformed-rate",
    default=0.0,
    show_default=True,
    type=click.FloatRange(0, 10),
    help="Malformed records added per page, as a fraction of its size.",
)
@click.option("--shuffle", is_flag=True, help="Records of a page arrive out of order.")
@click.option(
    "--rate-limit",
    type=click.FloatRange(min=0, min_open=True),
    help="Requests per second per access token (429 beyond).",
)
@click.option(
    "--token-ttl",
    default=DEFAULTS.token_ttl,
    show_default=True,
    type=click.IntRange(1),
    help="Seconds an access token lives.",
)
@click.option("--client-id", default=DEFAULTS.client_id, show_default=True)
@click.option("--client-secret", default=DEFAULTS.client_secret, show_default=True)
@click.option(
    "--redirect-prefix", default=None, help="Also accept redirect URIs starting with this."
)
def simulate(
    provider: str,
    port: int,
    host: str,
    seed: int,
    accounts: int,
    start: datetime | None,
    end: datetime | None,
    activity: float,
    error_rate: float,
    latency_ms: int,
    duplicate_rate: float,
    malformed_rate: float,
    shuffle: bool,
    rate_limit: float | None,
    token_ttl: int,
    client_id: str,
    client_secret: str,
    redirect_prefix: str | None,
) -> None:
    """Serve a simulated data provider (OAuth, deterministic history, fault switches)."""
    try:
        options = SimulatorOptions(
            seed=seed,
            accounts=accounts,
            start=_local_date(start, DEFAULTS.start),
            end=_local_date(end, DEFAULTS.end),
            activity=activity,
            client_id=client_id,
            client_secret=client_secret,
            redirect_prefix=redirect_prefix,
            token_ttl=token_ttl,
            error_rate=error_rate,
            latency_ms=latency_ms,
            duplicate_rate=duplicate_rate,
            malformed_rate=malformed_rate,
            shuffle=shuffle,
            rate_limit=rate_limit,
        )
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    app = create_simulator(provider, options)
    click.echo(
        f"simulating {provider} ({accounts} accounts, seed {seed}) at http://{host}:{port}",
        err=True,
    )
    uvicorn.run(app, host=host, port=port, log_level="info")
