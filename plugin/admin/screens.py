"""The panel's screens and its navigation: one entry per screen.

A screen is a page route decorated with ``@screen(rule, label, order)``:
it gets the ``Viewer`` as its only argument, is refused to anyone the
panel does not let in, and appears in the navigation in ``order``. A
screen of another package registers the same way from its own module,
imported by ``plugin.admin``'s package or by its own blueprint.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

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

# Query parameters the store admin gives the app, kept on every panel link
# inside it so the platform's patch-id-token page can issue a new token.
EMBEDDED_PARAMS = ("shop", "host", "embedded")
CHANNEL_NAMES = {"line": "LINE", "messenger": "Messenger", "any": "Any channel"}


@dataclass(frozen=True)
class Screen:
    endpoint: str
    label: str
    order: int


SCREENS: list[Screen] = []


def screen(rule: str, label: str, order: int) -> Callable:
    """Register a panel page at ``rule`` with a navigation entry ``label``."""

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
        return make_response(page, 401)
    if not isinstance(viewer, Response):
        g.viewer = viewer
    return viewer


def page_response(body: Response | str, viewer: Viewer) -> Response:
    """The page with the headers its context needs (framing, caching)."""
    response = make_response(body)
    response.headers["Cache-Control"] = "no-store"
    if viewer.embedded:
        response.headers.update(getattr(g, "admin_response_headers", {}))
        base = current().settings.shopify_base_url
        if base:
            # The sandbox admin frames the app from its own origin, and
            # serves its own App Bridge: nothing comes from the platform's CDN.
            response.headers["Content-Security-Policy"] = f"frame-ancestors {base};"
            response.headers.pop("Link", None)
    else:
        response.headers["Content-Security-Policy"] = "frame-ancestors 'none';"
    return response


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
        "channel_names": CHANNEL_NAMES,
        # The fake platform's stand-in for App Bridge, in tests and the demo.
        "config_sandbox_admin": settings.shopify_base_url,
    }
