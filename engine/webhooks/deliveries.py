"""Recording a verified delivery durably and at once, before any work on it.

The web request only stores the raw body and enqueues ``apply_delivery``; a
redelivery (same webhook id) or a second report of the same merchant action
(same topic and event id) hits a unique constraint and is recorded nowhere.
"""

from __future__ import annotations

import logging

from sqlalchemy.dialects import postgresql, sqlite

from engine.db import db, utcnow
from engine.jobs import enqueue_after_commit
from engine.shops.install import revoke_access
from engine.webhooks.envelope import Delivery, names_its_shop
from engine.webhooks.jobs import apply_delivery
from engine.webhooks.models import RECEIVED, WebhookDelivery

logger = logging.getLogger(__name__)

UNINSTALLED = "app/uninstalled"


def record_delivery(delivery: Delivery) -> int | None:
    """Store a verified delivery and enqueue its work; None for a duplicate.

    An uninstall also revokes the shop's access here, in the same commit,
    rather than waiting for a worker: from this moment nothing may use the
    shop's tokens.
    """
    delivery_id = _insert(delivery)
    if delivery_id is None:
        db.session.rollback()
        logger.info(
            "webhooks.duplicate",
            extra={
                "shop_domain": delivery.shop_domain,
                "topic": delivery.topic,
                "webhook_id": delivery.webhook_id,
            },
        )
        return None

    if delivery.topic == UNINSTALLED and names_its_shop(delivery):
        revoke_access(delivery.shop_domain, delivery.triggered_at)
    enqueue_after_commit(
        apply_delivery, delivery_id, queue="webhooks", job_id=f"webhook-{delivery_id}"
    )
    db.session.commit()
    return delivery_id


def _insert(delivery: Delivery) -> int | None:
    values = {
        "shop_domain": delivery.shop_domain,
        "topic": delivery.topic,
        "webhook_id": delivery.webhook_id,
        "event_id": delivery.event_id,
        "api_version": delivery.api_version,
        "triggered_at": delivery.triggered_at,
        "received_at": utcnow(),
        "payload": delivery.body,
        "status": RECEIVED,
        "attempts": 0,
    }
    dialect = postgresql if db.engine.dialect.name == "postgresql" else sqlite
    statement = (
        dialect.insert(WebhookDelivery)
        .values(**values)
        .on_conflict_do_nothing()
        .returning(WebhookDelivery.id)
    )
    return db.session.execute(statement).scalar()
