"""``POST /webhooks/shopify``: every store topic, verified, recorded, queued.

The HMAC is checked over the raw body before anything reads it. The view
then only records the delivery and answers; workers apply it, because the
platform gives up on a delivery after 5 seconds.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from flask import Response, request

from engine.runtime import current
from engine.webhooks.deliveries import Delivery, record_delivery
from engine.webhooks.models import WebhookDelivery
from plugin.errors import ApiError, error_response
from plugin.shopify_request import as_shopify_request
from plugin.webhooks import bp

logger = logging.getLogger(__name__)

REQUIRED_HEADERS = ("X-Shopify-Topic", "X-Shopify-Shop-Domain", "X-Shopify-Webhook-Id")
# The headers are not signed, and each is stored in a column of its own: a
# value longer than its column is no platform's, and the database would
# refuse it after the signature passed (a 500, and the platform retrying).
STORED_HEADERS = {
    "X-Shopify-Topic": WebhookDelivery.topic,
    "X-Shopify-Shop-Domain": WebhookDelivery.shop_domain,
    "X-Shopify-Webhook-Id": WebhookDelivery.webhook_id,
    "X-Shopify-Event-Id": WebhookDelivery.event_id,
    "X-Shopify-API-Version": WebhookDelivery.api_version,
}


@bp.post("/webhooks/shopify")
def shopify_webhook() -> Response:
    refusal = _signature_refusal()
    if refusal is not None:
        logger.warning(
            "webhooks.shopify.rejected",
            extra={"code": refusal, "remote_addr": request.remote_addr},
        )
        return error_response(
            401, refusal, "The webhook's X-Shopify-Hmac-Sha256 is not valid."
        )

    # A duplicate is acknowledged like the first: the platform must stop
    # redelivering it either way.
    record_delivery(_delivery_from_request())
    return Response(status=200)


def _signature_refusal() -> str | None:
    """shopifyapp's code for a signature that does not verify, else None."""
    # The library compares with hmac.compare_digest, which raises TypeError
    # on non-ASCII text: such a header is no signature at all.
    if not request.headers.get("X-Shopify-Hmac-Sha256", "").isascii():
        return "invalid_hmac"
    result = current().shopify.verify_webhook_req(as_shopify_request())
    return None if result.ok else result.log.code


def _delivery_from_request() -> Delivery:
    headers = request.headers
    missing = [name for name in REQUIRED_HEADERS if not headers.get(name)]
    if missing:
        raise ApiError(400, "missing_header", f"Header {missing[0]} is required.")
    for name, column in STORED_HEADERS.items():
        limit = column.type.length
        if len(headers.get(name, "")) > limit:
            raise ApiError(
                400, "invalid_header", f"Header {name} is over {limit} characters."
            )

    return Delivery(
        shop_domain=headers["X-Shopify-Shop-Domain"].lower(),
        topic=headers["X-Shopify-Topic"],
        webhook_id=headers["X-Shopify-Webhook-Id"],
        event_id=headers.get("X-Shopify-Event-Id") or None,
        api_version=headers.get("X-Shopify-API-Version"),
        triggered_at=_triggered_at(headers.get("X-Shopify-Triggered-At")),
        body=request.get_data(as_text=True),
    )


def _triggered_at(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        # In UTC, as stored; a time at the calendar's very edge has no UTC
        # form (OverflowError).
        return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    except (ValueError, OverflowError):
        raise ApiError(
            400, "invalid_header", "Header X-Shopify-Triggered-At is not ISO 8601."
        ) from None
