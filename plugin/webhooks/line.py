"""``POST /webhooks/line/<shop key>``: one shop's LINE events, verified, queued.

The shop key (``ChannelAccount.line_webhook_key``) picks the channel secret
that must have signed the raw body (``X-Line-Signature``); only then is the
body recorded and its job queued. LINE's verification request carries no
events and is answered 200 without recording anything.
"""

from __future__ import annotations

import json
import logging

from flask import Response, request

from engine.binding.inbound import line_account_for_key, record, verify_line
from engine.binding.models import LINE
from plugin.errors import ApiError, error_response
from plugin.webhooks import bp

logger = logging.getLogger(__name__)


@bp.post("/webhooks/line/<shop_key>")
def line_webhook(shop_key: str) -> Response:
    account = line_account_for_key(shop_key)
    if account is None:
        raise ApiError(404, "unknown_shop_key", "No LINE channel has this webhook URL.")
    body = request.get_data(cache=False)
    if not verify_line(account, body, request.headers.get("X-Line-Signature")):
        logger.warning("webhooks.line.rejected", extra={"shop_id": account.shop_id})
        return error_response(
            401, "invalid_signature", "The webhook's X-Line-Signature is not valid."
        )

    if _has_events(body):
        record(LINE, account.shop_id, body)
    return Response(status=200)


def _has_events(body: bytes) -> bool:
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError):
        # RecursionError: arrays or objects nested past Python's stack.
        raise ApiError(400, "invalid_json", "The body is not valid JSON.") from None
    return isinstance(payload, dict) and bool(payload.get("events"))
