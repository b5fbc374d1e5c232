"""Handing Flask requests to shopifyapp and its answers back to Flask."""

from __future__ import annotations

import logging

from flask import Response, request

logger = logging.getLogger(__name__)


def as_shopify_request() -> dict:
    """The current request in shopifyapp's shape, passed through unchanged."""
    return {
        "method": request.method,
        "headers": dict(request.headers),
        "url": request.url,
        "body": request.get_data(as_text=True),
    }


def as_flask_response(result: object) -> Response:
    """Return shopifyapp's suggested response as is (status, body, headers)."""
    logger.info("shopify.request_result", extra={"code": result.log.code})
    res = result.response
    return Response(res.body, status=res.status, headers=res.headers)
