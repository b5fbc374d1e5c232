"""LINE and Messenger webhooks: verified, recorded, then applied on a worker.

The web layer checks the signature over the raw body (``verify_line`` with
the shop's channel secret, ``verify_messenger`` with the app secret), then
``record`` stores the body and queues ``apply_channel_delivery`` after the
commit, and answers: both platforms want an answer within seconds. The job
applies each event (``line_events``, ``messenger_events``); applying is
idempotent, so a redelivery changes nothing twice.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re

from linebot.v3.webhook import SignatureValidator
from sqlalchemy import select

from engine.binding import line_events, messenger_events
from engine.binding.models import LINE, MESSENGER, ChannelDelivery
from engine.channels.models import ChannelAccount
from engine.db import db, utcnow
from engine.jobs import enqueue_after_commit
from engine.runtime import current

logger = logging.getLogger(__name__)

RECEIVED = "received"
APPLIED = "applied"
FAILED = "failed"
MAX_ATTEMPTS = 5
SIGNATURE_PREFIX = "sha256="
WEBHOOK_KEY = re.compile(r"[A-Za-z0-9_-]{1,32}")


def line_account_for_key(webhook_key: str) -> ChannelAccount | None:
    """The LINE account whose webhook URL carries ``webhook_key``."""
    # Keys are token_urlsafe(18); anything else (a NUL from "%00", which the
    # database cannot compare) names no account.
    if not WEBHOOK_KEY.fullmatch(webhook_key):
        return None
    return db.session.scalar(
        select(ChannelAccount).where(
            ChannelAccount.channel == LINE,
            ChannelAccount.line_webhook_key == webhook_key,
        )
    )


def verify_line(account: ChannelAccount, body: bytes, signature: str | None) -> bool:
    """``X-Line-Signature``: base64 HMAC-SHA256 of the body, the channel secret."""
    if not signature or not account.line_channel_secret:
        return False
    validator = SignatureValidator(account.line_channel_secret)
    return validator.validate(body.decode("utf-8", "replace"), signature)


def verify_messenger(body: bytes, signature: str | None) -> bool:
    """``X-Hub-Signature-256``: ``sha256=`` and the hex HMAC with the app secret."""
    secret = current().settings.messenger_app_secret
    if not secret or not signature or not signature.startswith(SIGNATURE_PREFIX):
        return False
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature[len(SIGNATURE_PREFIX) :].lower())


def verify_subscription(mode: str | None, token: str | None) -> bool:
    """Meta's subscription check: ``hub.mode=subscribe`` and our verify token."""
    expected = current().settings.messenger_verify_token
    if mode != "subscribe" or not expected or not token:
        return False
    return hmac.compare_digest(expected, token)


def record(channel: str, shop_id: int | None, body: bytes) -> int:
    """Store a verified delivery and queue its job; returns its id."""
    delivery = ChannelDelivery(
        channel=channel, shop_id=shop_id, body=body.decode("utf-8", "replace")
    )
    db.session.add(delivery)
    db.session.flush()
    enqueue_after_commit(
        apply_channel_delivery,
        delivery.id,
        queue="webhooks",
        job_id=f"channel-delivery-{delivery.id}",
    )
    db.session.commit()
    return delivery.id


def apply_channel_delivery(delivery_id: int) -> str:
    """Apply a recorded LINE or Messenger delivery, unless it was already."""
    delivery = db.session.scalar(
        select(ChannelDelivery)
        .where(ChannelDelivery.id == delivery_id)
        .with_for_update()
    )
    if delivery is None or delivery.status != RECEIVED:
        db.session.rollback()
        return "skipped"

    try:
        payload = json.loads(delivery.body or "{}")
        if delivery.channel == MESSENGER:
            messenger_events.apply(payload, delivery_id)
        elif delivery.shop_id is not None:
            line_events.apply(delivery.shop_id, payload, delivery_id)
        # Written here, not at the commit below, so a value no column takes
        # fails this attempt with its error kept.
        db.session.flush()
    except Exception as exc:
        db.session.rollback()
        _record_failure(delivery_id, exc)
        raise

    delivery.status, delivery.applied_at, delivery.body = APPLIED, utcnow(), None
    delivery.attempts += 1
    db.session.commit()
    logger.info(
        "binding.delivery_applied",
        extra={"delivery_id": delivery_id, "channel": delivery.channel},
    )
    return APPLIED


def _record_failure(delivery_id: int, exc: Exception) -> None:
    delivery = db.session.get(ChannelDelivery, delivery_id)
    if delivery is None:
        return
    delivery.attempts += 1
    delivery.error = f"{type(exc).__name__}: {exc}"[:2000]
    if delivery.attempts >= MAX_ATTEMPTS:
        delivery.status = FAILED
    db.session.commit()
    logger.exception(
        "binding.delivery_failed",
        extra={"delivery_id": delivery_id, "attempts": delivery.attempts},
    )
