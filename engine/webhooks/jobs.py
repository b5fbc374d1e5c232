"""Applying recorded deliveries, once each, on the workers."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from engine.commerce.apply import apply_cart, apply_checkout, apply_order
from engine.db import db, utcnow
from engine.jobs import enqueue_after_commit
from engine.privacy.requests import (
    export_customer_data,
    redact_customer,
    redact_shop,
)
from engine.shops.install import shop_by_domain
from engine.shops.models import Shop
from engine.webhooks.envelope import Delivery, names_its_shop
from engine.webhooks.models import (
    APPLIED,
    FAILED,
    IGNORED,
    RECEIVED,
    WebhookDelivery,
)

logger = logging.getLogger(__name__)

# After this many failed attempts a delivery is left as failed for a person
# to look at, with its error kept.
MAX_ATTEMPTS = 5
# A delivery still waiting this long was never enqueued (Redis was down) or
# its job was lost; the sweep enqueues it again.
STALE_AFTER = timedelta(minutes=2)

Handler = Callable[[Shop, dict[str, Any]], object]

HANDLERS: dict[str, Handler] = {
    "carts/create": apply_cart,
    "carts/update": apply_cart,
    "checkouts/create": apply_checkout,
    "checkouts/update": apply_checkout,
    "orders/create": apply_order,
    "orders/paid": apply_order,
    # Releases what a cancelled order held (bonus codes) and its credit.
    "orders/cancelled": apply_order,
    "customers/data_request": export_customer_data,
    "customers/redact": redact_customer,
    # Access was already revoked when the delivery was recorded.
    "app/uninstalled": lambda shop, payload: None,
}


def apply_delivery(delivery_id: int) -> str:
    """Apply one recorded delivery, unless it was already applied."""
    delivery = db.session.scalar(
        select(WebhookDelivery)
        .where(WebhookDelivery.id == delivery_id)
        .with_for_update()
    )
    if delivery is None or delivery.status != RECEIVED:
        db.session.rollback()
        return "skipped"

    try:
        outcome = _apply(delivery)
        # The handler's rows reach the database here, not at the commit
        # below: a value no column takes (a hostile body's) must fail this
        # attempt with its error kept, not the job before anything counts it.
        db.session.flush()
    except Exception as exc:
        db.session.rollback()
        _record_failure(delivery_id, exc)
        raise

    delivery.status = outcome
    delivery.applied_at = utcnow()
    delivery.attempts += 1
    delivery.payload = None
    db.session.commit()
    logger.info(
        "webhooks.applied",
        extra={"delivery_id": delivery_id, "topic": delivery.topic, "outcome": outcome},
    )
    return outcome


def _apply(delivery: WebhookDelivery) -> str:
    shop = shop_by_domain(delivery.shop_domain)
    if shop is None:
        return IGNORED
    delivery.shop_id = shop.id

    payload = json.loads(delivery.payload or "{}")
    if not names_its_shop(_as_delivery(delivery)):
        return IGNORED
    if delivery.topic == "shop/redact":
        redact_shop(shop)
        return APPLIED

    handler = HANDLERS.get(delivery.topic)
    if handler is None:
        return IGNORED
    handler(shop, payload)
    return APPLIED


def _as_delivery(row: WebhookDelivery) -> Delivery:
    return Delivery(
        shop_domain=row.shop_domain,
        topic=row.topic,
        webhook_id=row.webhook_id,
        body=row.payload or "",
    )


def _record_failure(delivery_id: int, exc: Exception) -> None:
    delivery = db.session.get(WebhookDelivery, delivery_id)
    if delivery is None:
        return
    delivery.attempts += 1
    delivery.error = f"{type(exc).__name__}: {exc}"[:2000]
    if delivery.attempts >= MAX_ATTEMPTS:
        delivery.status = FAILED
    db.session.commit()
    logger.exception(
        "webhooks.apply_failed",
        extra={"delivery_id": delivery_id, "attempts": delivery.attempts},
    )


def sweep_stale_deliveries() -> int:
    """Enqueue again deliveries left waiting; returns how many."""
    cutoff = utcnow() - STALE_AFTER
    stale_ids = list(
        db.session.scalars(
            select(WebhookDelivery.id)
            .where(
                WebhookDelivery.status == RECEIVED,
                WebhookDelivery.received_at < cutoff,
            )
            .limit(1000)
        )
    )
    for delivery_id in stale_ids:
        enqueue_after_commit(
            apply_delivery,
            delivery_id,
            queue="webhooks",
            job_id=f"webhook-{delivery_id}",
        )
    db.session.commit()
    if stale_ids:
        logger.warning("webhooks.stale_requeued", extra={"count": len(stale_ids)})
    return len(stale_ids)
