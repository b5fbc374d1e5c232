"""Orders the platform reported that are not applied yet: hold the shop's sends.

Workers take reminder jobs before webhook jobs (engine.runtime), so at busy
times an ``orders/*`` delivery can sit recorded but unapplied while a batch
sends. The pre-send check reads only applied orders, so a batch holds back
the sends of any shop with such a delivery for ``ORDER_WAIT``, long enough
for a worker to apply it; the order then stops its runs as usual.

The hold is per shop, not per cart: which carts an order ends is only known
once it is applied (``stop_for_order`` matches the person, not just the cart
token). A delivery older than ``ORDER_WAIT_LIMIT`` holds nothing: one that
never gets applied (a failed job, a Redis that lost it) must not stop a
shop's reminders for good. That is when ``engine.webhooks``' sweep enqueues
a delivery again; past it, a reminder can reach someone whose order is stuck.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from sqlalchemy import select

from engine.db import db, utcnow
from engine.shops.models import Shop
from engine.webhooks.models import RECEIVED, WebhookDelivery

ORDER_TOPICS = ("orders/create", "orders/paid")
ORDER_WAIT = timedelta(seconds=2)
ORDER_WAIT_LIMIT = timedelta(minutes=2)


def shops_with_orders_waiting(shops: Iterable[Shop]) -> set[int]:
    """The ids of those shops with an order delivery recorded, not yet applied."""
    by_domain = {shop.shop_domain: shop.id for shop in shops}
    if not by_domain:
        return set()

    # Received times are the web process's wall clock, not the reminders'.
    domains = db.session.scalars(
        select(WebhookDelivery.shop_domain)
        .where(
            WebhookDelivery.status == RECEIVED,
            WebhookDelivery.received_at >= utcnow() - ORDER_WAIT_LIMIT,
            WebhookDelivery.topic.in_(ORDER_TOPICS),
            WebhookDelivery.shop_domain.in_(by_domain),
        )
        .distinct()
    )
    return {by_domain[domain] for domain in domains}
