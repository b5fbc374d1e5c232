"""Handing Flask requests to shopifyapp and its answers back to Flask."""

from __future__ import annotations

import json
import logging

from flask import Response, request

from plugin.errors import ApiError

logger = logging.getLogger(__name__)


def as_shopify_request() -> dict:
    """The current request in shopifyapp's shape, passed through unchanged.

    Raises ``ApiError`` 400 for JSON that Python cannot read (nested past the
    stack, or an integer over 4,300 digits): shopifyapp parses every body as
    JSON (to redact its log lines) before it checks any signature, and lets
    anything but a ``JSONDecodeError`` escape, a 500 that anyone could cause.
    The platform never sends such a body.
    """
    body = request.get_data(as_text=True)
    _refuse_unreadable_json(body)
    return {
        "method": request.method,
        "headers": dict(request.headers),
        "url": request.url,
        "body": body,
    }


def _refuse_unreadable_json(body: str) -> None:
    if not body:
        return
    try:
        json.loads(body)
    except json.JSONDecodeError:
        # Not JSON at all: shopifyapp's own parse expects that and goes on.
        pass
    except (RecursionError, ValueError):
        raise ApiError(
            400,
            "invalid_json",
            "The body's JSON nests too deeply or holds a number too long to read.",
        ) from None


def as_flask_response(result: object) -> Response:
    """Return shopifyapp's suggested response as is (status, body, headers)."""
    logger.info("shopify.request_result", extra={"code": result.log.code})
    res = result.response
    return Response(res.body, status=res.status, headers=res.headers)
