"""Running a simulator on loopback in a background thread, and playing the citizen's part.

Tests, the demo and the benchmarks start a provider with :class:`SimulatorServer`, link
accounts with :func:`approve_url` (the citizen's click on the consent page) or
:func:`link_account` (the whole code flow with PKCE), then let connectors read it.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import socket
import threading
import time
from html.parser import HTMLParser
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import httpx
import uvicorn
from starlette.applications import Starlette

from carbonhub.connectors.simulators.oauth import s256
from carbonhub.connectors.simulators.options import SimulatorOptions
from carbonhub.connectors.simulators.providers import create_simulator

START_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 10.0


class SimulatorError(RuntimeError):
    """The simulator did not start, or answered the citizen's steps unexpectedly."""


class _Server(uvicorn.Server):
    """uvicorn's server, woken by :meth:`wake` to exit at once rather than at its next tick."""

    _loop: asyncio.AbstractEventLoop | None = None
    _woken: asyncio.Event | None = None

    async def main_loop(self) -> None:
        """uvicorn's loop (a tick every 0.1 s: date header, exit check), cut short by a wake-up."""
        self._loop, self._woken = asyncio.get_running_loop(), asyncio.Event()
        counter = 0
        while not await self.on_tick(counter):
            counter = (counter + 1) % 864_000
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._woken.wait(), 0.1)

    def wake(self) -> None:
        """Ask the server to exit now (from any thread)."""
        self.should_exit = True
        loop, woken = self._loop, self._woken
        if loop is not None and woken is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(woken.set)


class SimulatorServer:
    """A provider simulator served by uvicorn on ``host`` in a background thread.

    Use it as a context manager; ``port=0`` picks a free port. ``base_url`` is where it serves
    (``http://127.0.0.1:<port>``), ``app`` the Starlette app (its ``state.simulator`` holds the
    simulator's state).
    """

    def __init__(
        self,
        provider: str,
        options: SimulatorOptions | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.provider = provider
        self.options = options or SimulatorOptions()
        self.host = host
        self.app: Starlette = create_simulator(provider, self.options)
        self._requested_port = port
        self._socket: socket.socket | None = None
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.port = port
        self._url: str | None = None

    @property
    def base_url(self) -> str:
        """The simulator's root URL (once started; it stays known after a stop)."""
        if self._url is None:
            raise SimulatorError("the simulator is not running")
        return self._url

    def start(self) -> SimulatorServer:
        """Bind the port and serve until :meth:`stop`; returns once requests are answered."""
        if self._server is not None:
            raise SimulatorError("the simulator is already running")
        family, kind, proto, _, address = socket.getaddrinfo(
            self.host, self._requested_port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
        )[0]
        # proto must be IPPROTO_TCP (not 0): asyncio only sets TCP_NODELAY on such sockets, and
        # without it every keep-alive response waits ~40 ms for a delayed ACK (Nagle).
        listener = socket.socket(family, kind, proto)
        try:
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind(address)
        except OSError:
            listener.close()
            raise
        self.port = listener.getsockname()[1]
        host = f"[{self.host}]" if ":" in self.host else self.host
        self._url = f"http://{host}:{self.port}"
        config = uvicorn.Config(
            self.app,
            log_level="warning",
            access_log=False,
            lifespan="off",
            ws="none",
            http="h11",
            loop="asyncio",
            timeout_graceful_shutdown=2,
        )
        server = _Server(config)
        thread = threading.Thread(
            target=server.run,
            kwargs={"sockets": [listener]},
            name=f"simulator-{self.provider}-{self.port}",
            daemon=True,
        )
        self._socket, self._server, self._thread = listener, server, thread
        thread.start()
        deadline = time.monotonic() + START_TIMEOUT_S
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise SimulatorError(f"the {self.provider} simulator did not start")
            time.sleep(0.005)
        return self

    def request_stop(self) -> None:
        """Ask the server to stop without waiting (then :meth:`stop` waits; stopping several
        servers is faster asking all first)."""
        if self._server is not None:
            self._server.wake()

    def stop(self) -> None:
        """Stop serving, wait for the thread and release the port (idempotent)."""
        server, thread, listener = self._server, self._thread, self._socket
        self._server = self._thread = self._socket = None
        if server is not None:
            server.wake()
        if thread is not None:
            thread.join(timeout=STOP_TIMEOUT_S)
            if thread.is_alive() and server is not None:
                server.force_exit = True
                thread.join(timeout=STOP_TIMEOUT_S)
        if listener is not None:
            listener.close()

    def __enter__(self) -> SimulatorServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


class _FormReader(HTMLParser):
    """The first form of a page: its action and its hidden inputs."""

    def __init__(self) -> None:
        super().__init__()
        self.action: str | None = None
        self.fields: dict[str, str] = {}
        self._in_form = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "form" and self.action is None:
            self.action, self._in_form = values.get("action", ""), True
        elif tag == "input" and self._in_form and values.get("type") == "hidden":
            self.fields[values.get("name", "")] = values.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._in_form = False


def approve_url(
    authorize_url: str,
    account: str,
    *,
    decision: str = "approve",
    timeout_s: float = 10.0,
    client: httpx.Client | None = None,
) -> str:
    """Play the citizen: open the consent page, submit it for ``account``; the redirect's Location.

    The Location is the client's redirect URI with ``code`` and ``state`` (or
    ``error=access_denied`` when ``decision`` is ``deny``). The redirect is not followed.
    Pass a ``client`` when approving many links (a new client costs ~20 ms of TLS setup).
    """
    if client is None:
        with httpx.Client(timeout=timeout_s) as own:
            return approve_url(authorize_url, account, decision=decision, client=own)
    page = client.get(authorize_url, follow_redirects=False)
    if page.status_code != 200:
        raise SimulatorError(f"the authorize page answered {page.status_code}: {page.text[:200]}")
    form = _FormReader()
    form.feed(page.text)
    if form.action is None:
        raise SimulatorError("the authorize page has no form")
    data = {**form.fields, "account": account, "decision": decision}
    answer = client.post(urljoin(authorize_url, form.action), data=data, follow_redirects=False)
    location = answer.headers.get("location")
    if answer.status_code != 302 or location is None:
        raise SimulatorError(
            f"the authorize form answered {answer.status_code}: {answer.text[:200]}"
        )
    return str(location)


def link_account(
    base_url: str,
    account: str,
    *,
    client_id: str | None = None,
    client_secret: str | None = None,
    redirect_uri: str = "http://127.0.0.1/callback",
    scope: str | None = None,
    timeout_s: float = 10.0,
) -> dict[str, Any]:
    """The whole authorisation code flow with PKCE for ``account``: the token endpoint's answer.

    For tests, the demo and benchmarks that need an access token without a hub in between;
    the client defaults to the simulators' default registration.
    """
    defaults = SimulatorOptions()
    client_id = defaults.client_id if client_id is None else client_id
    client_secret = defaults.client_secret if client_secret is None else client_secret
    verifier = secrets.token_urlsafe(48)
    state = secrets.token_urlsafe(12)
    query = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "state": state,
        "code_challenge": s256(verifier),
        "code_challenge_method": "S256",
    }
    if scope is not None:
        query["scope"] = scope
    location = approve_url(f"{base_url}/oauth/authorize?{urlencode(query)}", account)
    params = parse_qs(urlsplit(location).query)
    if params.get("state") != [state] or "code" not in params:
        raise SimulatorError(f"the authorisation did not return a code: {location}")
    form = {
        "grant_type": "authorization_code",
        "code": params["code"][0],
        "redirect_uri": redirect_uri,
        "code_verifier": verifier,
    }
    with httpx.Client(timeout=timeout_s) as client:
        answer = client.post(f"{base_url}/oauth/token", data=form, auth=(client_id, client_secret))
    if answer.status_code != 200:
        raise SimulatorError(
            f"the token endpoint answered {answer.status_code}: {answer.text[:200]}"
        )
    tokens: dict[str, Any] = answer.json()
    return tokens
