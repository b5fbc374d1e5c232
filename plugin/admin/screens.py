"""The panel's screens, their navigation and the headers every panel page gets.

A screen is a page route decorated with ``@screen(rule, label, order)``:
it gets the ``Viewer`` as its only argument, is refused to anyone the
panel does not let in, and appears in the navigation in ``order`` under
its label (a text key, ``nav.*``, in the viewer's language). A screen of
another package registers the same way from its own module, imported by
``plugin.admin``'s package or by its own blueprint.

Every panel page, sign-in and expired-session pages included, carries a
Content-Security-Policy that lets in only the app's own scripts, styles and
requests, plus App Bridge inside the store admin: no inline code, no eval.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import Response, g, make_response, redirect, render_template, request
from flask import url_for as flask_url_for

from engine.runtime import current
from plugin.admin import bp
from plugin.admin.access import (
    SessionExpired,
    SignInNeeded,
    Viewer,
    page_viewer,
)
from plugin.admin.texts import t_or, template_functions

# Query parameters the store admin gives the app, kept on every panel link
# inside it so the platform's patch-id-token page can issue a new token and
# the next page speaks the admin user's language.
EMBEDDED_PARAMS = ("shop", "host", "embedded", "locale")
CHANNELS = ("line", "messenger", "any")
# App Bridge and the scripts it preloads (polaris.js) live under this path of
# the platform's CDN; the rest of the CDN serves files any merchant uploads,
# which must not count as our scripts.
APP_BRIDGE_SOURCE = "https://cdn.shopify.com/shopifycloud/"
ADMIN_FRAME_ANCESTORS = "https://{shop} https://admin.shopify.com"
_FRAME_ANCESTORS = re.compile(r"frame-ancestors\s+([^;]+)")


@dataclass(frozen=True)
class Screen:
    endpoint: str
    # A text key: the navigation shows it in the viewer's language.
    label: str
    order: int


SCREENS: list[Screen] = []


def screen(rule: str, label: str, order: int) -> Callable:
    """Register a panel page at ``rule``, named in the navigation by the text key
    ``label`` (``nav.*`` in ``plugin.admin.texts``)."""

    def decorate(view: Callable[[Viewer], Response | str]) -> Callable:
        endpoint = f"admin.{view.__name__}"

        @functools.wraps(view)
        def guarded() -> Response:
            viewer = viewer_or_response()
            if isinstance(viewer, Response):
                return viewer
            return page_response(view(viewer), viewer)

        bp.add_url_rule(rule, view.__name__, guarded)
        SCREENS.append(Screen(endpoint, label, order))
        SCREENS.sort(key=lambda item: item.order)
        return guarded

    return decorate


def viewer_or_response() -> Viewer | Response:
    """The page's viewer; else the sign-in form or the expired-session page."""
    try:
        viewer = page_viewer()
    except SignInNeeded:
        return redirect(flask_url_for("admin.sign_in", next=request.full_path))
    except SessionExpired:
        page = render_template("admin/expired.html", next=request.full_path)
        response = page_response(page, None)
        response.status_code = 401
        return response
    if not isinstance(viewer, Response):
        g.viewer = viewer
    return viewer


def page_response(body: Response | str, viewer: Viewer | None) -> Response:
    """The page with the headers its context needs (framing, caching, CSP)."""
    response = make_response(body)
    response.headers["Cache-Control"] = "no-store"
    ancestors = frame_ancestors_of(viewer)
    if viewer is None or not viewer.embedded:
        return with_panel_headers(response, ancestors)

    response.headers.update(getattr(g, "admin_response_headers", {}))
    base = current().settings.shopify_base_url
    if base:
        # The sandbox admin frames the app from its own origin, and serves
        # its own App Bridge: nothing comes from the platform's CDN.
        response.headers.pop("Link", None)
        return with_panel_headers(response, ancestors, script_sources=(_origin(base),))
    return with_panel_headers(response, ancestors, script_sources=(APP_BRIDGE_SOURCE,))


def frame_ancestors_of(viewer: Viewer | None) -> str:
    """Who may frame the viewer's pages: the store admin, or nobody outside it.

    Inside the admin, what the platform's library said on the page load, as
    before this policy; the same shop and admin origins on an API call.
    """
    if viewer is None or not viewer.embedded:
        return "'none'"
    base = current().settings.shopify_base_url
    if base:
        return base
    admin_headers = getattr(g, "admin_response_headers", {})
    found = _FRAME_ANCESTORS.search(admin_headers.get("Content-Security-Policy", ""))
    if found:
        return found.group(1).strip()
    return ADMIN_FRAME_ANCESTORS.format(shop=viewer.shop.shop_domain)


def content_security_policy(
    frame_ancestors: str, script_sources: tuple[str, ...] = ()
) -> str:
    """The panel's policy: its own origin only, plus App Bridge where framed.

    Styles come from our stylesheets only (a colour chosen at run time is
    set through the CSSOM, which the policy allows; the flow editor's
    previews are documents of their own, ``previews``), and forms post to
    ourselves only.
    """
    directives = (
        ("default-src", "'self'"),
        ("script-src", " ".join(("'self'", *script_sources))),
        ("style-src", "'self'"),
        ("img-src", "'self' data: https:"),
        ("connect-src", "'self'"),
        ("object-src", "'none'"),
        ("base-uri", "'none'"),
        ("form-action", "'self'"),
        ("frame-ancestors", frame_ancestors),
    )
    return "; ".join(f"{name} {value}" for name, value in directives)


def with_panel_headers(
    response: Response, frame_ancestors: str, script_sources: tuple[str, ...] = ()
) -> Response:
    """Sets the CSP, ``nosniff`` and a same-origin referrer on a panel page."""
    response.headers["Content-Security-Policy"] = content_security_policy(
        frame_ancestors, script_sources
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    return response


def channel_name(channel: str) -> str:
    """A channel's name in the viewer's language ("any" is "Any channel")."""
    return t_or(f"channel.{channel}", channel)


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def panel_url(endpoint: str, **values: object) -> str:
    """A link to a panel page that keeps the store admin's parameters."""
    viewer = getattr(g, "viewer", None)
    if viewer is not None and viewer.embedded:
        for name in EMBEDDED_PARAMS:
            if name in request.args:
                values.setdefault(name, request.args[name])
        # The verified shop, never the one the query claims.
        values["shop"] = viewer.shop.shop_domain
    return flask_url_for(endpoint, **values)


@bp.app_context_processor
def _panel_context() -> dict[str, object]:
    settings = current().settings
    return {
        "panel_screens": SCREENS,
        "panel_url": panel_url,
        "config_api_key": settings.shopify_api_key,
        "channel_names": {channel: channel_name(channel) for channel in CHANNELS},
        **template_functions(),
        # The fake platform's stand-in for App Bridge, in tests and the demo.
        "config_sandbox_admin": settings.shopify_base_url,
    }
