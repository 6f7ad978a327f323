"""Rendering the hub's server-side HTML pages with CSRF tokens and security headers.

Every page is rendered by :meth:`Pages.render`, which puts a CSRF token in the template
context and sends headers that keep the page out of frames and caches. The account pages
are in :mod:`carbonhub.auth.account_pages`. Templates come from ``carbonhub.auth`` and from
the packages a caller adds with :meth:`Pages.including` (the consent centre adds
``carbonhub.consent``), so pages of a higher layer render without this module importing it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import cache
from typing import Any
from urllib.parse import urlsplit

from jinja2 import ChoiceLoader, Environment, PackageLoader, StrictUndefined, select_autoescape
from sqlalchemy import Engine
from starlette.requests import HTTPConnection
from starlette.responses import HTMLResponse

from carbonhub.auth.csrf import CsrfProtection, origin_of
from carbonhub.settings import Settings

DEFAULT_NEXT = "/account/"
_MAX_NEXT_LENGTH = 2000

AUTH_TEMPLATES = "carbonhub.auth"


@cache
def _environment(packages: tuple[str, ...]) -> Environment:
    """The template environment over the ``templates`` folders of ``packages`` (first wins).

    Cached per package tuple, so every :class:`Pages` with the same packages shares one
    environment and its compiled templates.
    """
    return Environment(
        loader=ChoiceLoader([PackageLoader(package, "templates") for package in packages]),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def security_headers(form_targets: Iterable[str] = ()) -> dict[str, str]:
    """Headers for every HTML page: no framing (clickjacking), no caching, no referrer abroad.

    ``form_targets`` are extra origins a form on the page may submit to, redirects included:
    browsers apply CSP ``form-action`` to the redirect that follows a form POST, so a page
    whose form ends in a redirect to another origin must name that origin.
    """
    extra = sorted({o for o in (origin_of(t) for t in form_targets) if o is not None})
    form_action = " ".join(["'self'", *extra])
    return {
        "content-security-policy": (
            f"default-src 'self'; frame-ancestors 'none'; form-action {form_action}; "
            "base-uri 'none'; object-src 'none'"
        ),
        "x-frame-options": "DENY",
        "cache-control": "no-store",
        # Not "no-referrer": with it browsers send "Origin: null" on the page's own form
        # POSTs, and the CSRF check rightly refuses those. "same-origin" still sends no
        # referrer to any other site (such as the client an authorisation redirects to).
        "referrer-policy": "same-origin",
        "x-content-type-options": "nosniff",
    }


def safe_next(value: str | None, default: str = DEFAULT_NEXT) -> str:
    """``value`` if it is a path on this site to go to after signing in, else ``default``.

    Only a relative path starting with one ``/`` is accepted: no ``//host``, no scheme, no
    backslash (browsers read ``/\\host`` as ``//host``), no control characters (browsers drop
    tabs and newlines, turning ``/\\t/host`` into ``//host``). So it is never an open redirect.
    """
    if not value or len(value) > _MAX_NEXT_LENGTH:
        return default
    if not value.startswith("/") or value.startswith("//") or "\\" in value:
        return default
    if any(ord(char) < 0x20 or ord(char) == 0x7F for char in value):
        return default
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return default
    return value


class Pages:
    """Renders the hub's HTML pages for one hub (its database holds the CSRF key)."""

    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        *,
        template_packages: Iterable[str] = (AUTH_TEMPLATES,),
    ) -> None:
        """Pages of the hub on ``engine``; ``csrf`` checks the forms they serve.

        ``template_packages``: the packages whose ``templates`` folder holds the templates,
        searched in order.
        """
        self.engine = engine
        self.settings = settings
        self.csrf = CsrfProtection(engine, settings)
        self.template_packages = tuple(dict.fromkeys(template_packages))

    def including(self, *packages: str) -> Pages:
        """These pages with the templates of ``packages`` too, sharing the same CSRF protection.

        A template name found in an earlier package wins, so a package should keep its
        templates in a folder of its own (the consent centre's are under ``centre/``).
        """
        pages = Pages.__new__(Pages)
        pages.engine = self.engine
        pages.settings = self.settings
        pages.csrf = self.csrf
        pages.template_packages = tuple(dict.fromkeys((*self.template_packages, *packages)))
        return pages

    def render(
        self,
        request: HTTPConnection,
        template: str,
        context: Mapping[str, Any],
        *,
        status: int = 200,
        form_targets: Iterable[str] = (),
        headers: Mapping[str, str] | None = None,
    ) -> HTMLResponse:
        """Render ``template`` with ``context`` plus ``csrf_token``, with the security headers.

        Sets the CSRF cookie when the browser has none. ``form_targets``: see
        :func:`security_headers`. ``headers`` are added to (or override) the security headers,
        such as ``Content-Language``. The first call of a process reads the CSRF key (one query).
        """
        issued = self.csrf.issue(request)
        templates = _environment(self.template_packages)
        html = templates.get_template(template).render({**context, "csrf_token": issued.token})
        response = HTMLResponse(
            html, status_code=status, headers={**security_headers(form_targets), **(headers or {})}
        )
        if issued.new_cookie is not None:
            self.csrf.set_cookie(response, issued.new_cookie)
        return response
