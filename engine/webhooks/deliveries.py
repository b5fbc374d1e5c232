"""Recording a verified delivery durably and at once, before any work on it.

A redelivery (same webhook id) or a second report of the same merchant action
(same topic and event id) hits a unique constraint and is recorded nowhere.

On PostgreSQL the record is one statement in its own transaction that also
notifies ``DELIVERIES_CHANNEL``: one round trip, the cheapest durable write
there is. Workers listen on that channel and enqueue the job
(``engine.webhooks.dispatcher``), which keeps Redis out of the request. An
uninstall takes the slower transactional path, since revoking access belongs
in the same commit; so does SQLite (the demo), which has no notifications.
"""

from __future__ import annotations

import logging

from sqlalchemy import Engine, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError

from engine.db import db, utcnow
from engine.jobs import enqueue_after_commit
from engine.runtime import current
from engine.shops.install import revoke_access
from engine.webhooks.envelope import Delivery, names_its_shop
from engine.webhooks.jobs import apply_delivery
from engine.webhooks.models import RECEIVED, WebhookDelivery

logger = logging.getLogger(__name__)

UNINSTALLED = "app/uninstalled"
DELIVERIES_CHANNEL = "revisit_webhook_deliveries"

_RECORD_AND_NOTIFY = text(
    """
    WITH recorded AS (
        INSERT INTO webhook_deliveries (
            shop_domain, topic, webhook_id, event_id, api_version,
            triggered_at, received_at, payload, status, attempts
        )
        VALUES (
            :shop_domain, :topic, :webhook_id, :event_id, :api_version,
            :triggered_at, now(), :payload, 'received', 0
        )
        ON CONFLICT DO NOTHING
        RETURNING id
    )
    SELECT id, pg_notify(:channel, id::text) FROM recorded
    """
)


def record_delivery(delivery: Delivery) -> int | None:
    """Store a verified delivery and have its work queued; None for a duplicate."""
    if delivery.topic != UNINSTALLED and _is_postgresql():
        delivery_id = _record_and_notify(delivery)
    else:
        delivery_id = _record_in_transaction(delivery)

    if delivery_id is None:
        logger.info(
            "webhooks.duplicate",
            extra={
                "shop_domain": delivery.shop_domain,
                "topic": delivery.topic,
                "webhook_id": delivery.webhook_id,
            },
        )
    return delivery_id


def _record_and_notify(delivery: Delivery) -> int | None:
    params = {**_values(delivery), "channel": DELIVERIES_CHANNEL}
    pool = current().autocommit_engine
    try:
        return _execute(pool, params)
    except DBAPIError as exc:
        # A pooled connection the server dropped (a restart) fails on first
        # use; the pool has discarded it, so one retry gets a fresh one.
        if not exc.connection_invalidated:
            raise
    return _execute(pool, params)


def _execute(pool: Engine, params: dict[str, object]) -> int | None:
    with pool.connect() as connection:
        return connection.execute(_RECORD_AND_NOTIFY, params).scalar()


def _record_in_transaction(delivery: Delivery) -> int | None:
    """Insert, revoke access for an uninstall, and enqueue, in one commit.

    An uninstall revokes the shop's access here rather than on a worker: from
    this moment nothing may use the shop's tokens.
    """
    statement = (
        _dialect_insert()
        .values(**_values(delivery), received_at=utcnow(), status=RECEIVED, attempts=0)
        .on_conflict_do_nothing()
        .returning(WebhookDelivery.id)
    )
    delivery_id = db.session.execute(statement).scalar()
    if delivery_id is None:
        db.session.rollback()
        return None

    if delivery.topic == UNINSTALLED and names_its_shop(delivery):
        revoke_access(delivery.shop_domain, delivery.triggered_at)
    enqueue_after_commit(
        apply_delivery, delivery_id, queue="webhooks", job_id=f"webhook-{delivery_id}"
    )
    db.session.commit()
    return delivery_id


def _values(delivery: Delivery) -> dict[str, object]:
    return {
        "shop_domain": delivery.shop_domain,
        "topic": delivery.topic,
        "webhook_id": delivery.webhook_id,
        "event_id": delivery.event_id,
        "api_version": delivery.api_version,
        "triggered_at": delivery.triggered_at,
        "payload": delivery.body,
    }


def _is_postgresql() -> bool:
    return db.engine.dialect.name == "postgresql"


def _dialect_insert():  # noqa: ANN202 - the dialect's Insert, with on_conflict
    dialect = postgresql if _is_postgresql() else sqlite
    return dialect.insert(WebhookDelivery)
