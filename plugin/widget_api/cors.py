"""CORS for the widget API: each shop's own storefront origins, never ``*``.

Preflights carry no body, so no widget key: one is answered for any origin
that some installed shop's widget may post from, and the request that follows
is checked against its own shop. The widget sends ``text/plain`` bodies, which
need no preflight at all; ``application/json`` works too, at the cost of one.
Browsers keep a preflight answer for ``Access-Control-Max-Age`` (Chromium
caps it at two hours).
"""

from __future__ import annotations

from flask import Response, g, request

from engine.tracking.storefronts import WidgetShop, origin_is_known
from plugin.errors import ApiError

MAX_AGE_SECONDS = 7200


def require_allowed_origin(shop: WidgetShop) -> None:
    """Refuse a request not sent from one of the shop's storefronts (403)."""
    origin = request.headers.get("Origin")
    if not shop.allows(origin):
        raise ApiError(
            403,
            "origin_not_allowed",
            f"Origin {origin!r} is not a storefront of this widget key's shop.",
        )
    g.widget_origin = origin


def preflight() -> Response:
    """The answer to ``OPTIONS``: allowed for a known storefront origin only."""
    origin = request.headers.get("Origin")
    if not origin or not origin_is_known(origin):
        raise ApiError(
            403,
            "origin_not_allowed",
            f"Origin {origin!r} is not the storefront of any shop using Revisit.",
        )
    response = Response(status=204)
    headers = response.headers
    headers["Access-Control-Allow-Origin"] = origin
    headers["Access-Control-Allow-Methods"] = "POST"
    headers["Access-Control-Allow-Headers"] = "Content-Type"
    headers["Access-Control-Max-Age"] = str(MAX_AGE_SECONDS)
    headers["Vary"] = "Origin"
    return response


def add_cors_headers(response: Response) -> Response:
    """Let the allowed origin read the answer (errors included)."""
    origin = g.get("widget_origin")
    if origin is not None:
        response.headers["Access-Control-Allow-Origin"] = origin
    # Answers differ by Origin; our responses carry no other Vary.
    response.headers["Vary"] = "Origin"
    return response
