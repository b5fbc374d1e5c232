"""``GET/POST /webhooks/messenger``: every shop's Page events, for one Meta app.

``GET`` answers Meta's subscription check (``hub.verify_token`` must be our
verify token; the ``hub.challenge`` is echoed). ``POST`` checks
``X-Hub-Signature-256`` (the app secret's HMAC of the raw body) before
anything reads the body, then records it and queues its job; the job finds
each entry's shop by its Page id.
"""

from __future__ import annotations

import logging

from flask import Response, request

from engine.binding.inbound import record, verify_messenger, verify_subscription
from engine.binding.models import MESSENGER
from plugin.errors import error_response
from plugin.webhooks import bp

logger = logging.getLogger(__name__)


@bp.get("/webhooks/messenger")
def messenger_subscription() -> Response:
    args = request.args
    if not verify_subscription(args.get("hub.mode"), args.get("hub.verify_token")):
        return error_response(
            403, "invalid_verify_token", "hub.verify_token is not this app's token."
        )
    return Response(args.get("hub.challenge", ""), mimetype="text/plain")


@bp.post("/webhooks/messenger")
def messenger_webhook() -> Response:
    body = request.get_data(cache=False)
    if not verify_messenger(body, request.headers.get("X-Hub-Signature-256")):
        logger.warning(
            "webhooks.messenger.rejected", extra={"remote_addr": request.remote_addr}
        )
        return error_response(
            401, "invalid_signature", "The webhook's X-Hub-Signature-256 is not valid."
        )
    record(MESSENGER, None, body)
    return Response(status=200)
