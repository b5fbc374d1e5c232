"""Redis goes away for the app and comes back; nothing accepted meanwhile is lost.

Redis is shared with other engineers' runs, so it is never restarted: the
web and worker processes reach it through a ``RedisLink`` the test cuts
(every connection closed, new ones refused) and restores, while the test's
own process keeps its direct connection to watch. Meanwhile the store
platform delivers webhooks (recorded in PostgreSQL alone), shoppers' browsers
send page views (kept in the web process's buffer) and reminders fall due
(their wake-ups wait in Redis). The books: all of it is applied, stored and
sent, once, within seconds of Redis coming back.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import select

from engine.commerce.models import Cart
from engine.db import db
from engine.shops.models import Shop
from engine.tracking.models import VisitorEvent
from engine.webhooks.models import APPLIED, WebhookDelivery
from plugin.sandbox.line_platform import FakeLinePlatform
from plugin.sandbox.shopify_platform import FakeShopifyPlatform
from tests.conftest import BACKENDS, SHOP_DOMAIN
from tests.faults.books import (
    all_ended,
    assert_line_sent_each_once,
    carts_due_in,
    count_status,
    rows,
)
from tests.faults.conftest import Processes, needs_postgresql
from tests.faults.processes import RedisLink, wait_until
from tests.reminders import OOLONG_100G, cart_payload, taipei
from tests.widget_api import storefront

pytestmark = needs_postgresql

logger = logging.getLogger(__name__)

OUTAGE_SECONDS = 6.0
# After the link is back: the worker reconnects (RQ backs off up to 8 s or
# so), restarts its scheduler and its dispatcher queues what waited; the web
# flushes its buffer within a second. The stale-delivery sweep (2 minutes)
# and the worker's maintenance (a minute) must not be what recovers.
RECOVERY_SECONDS = 30.0


@pytest.fixture
def redis_link() -> Iterator[RedisLink]:
    link = RedisLink(BACKENDS.redis_url)
    link.restore()
    yield link
    link.cut()


def test_redis_unreachable_for_6_seconds_loses_nothing(
    reminder_shop: Shop,
    line: FakeLinePlatform,
    platform: FakeShopifyPlatform,
    processes: Processes,
    redis_link: RedisLink,
) -> None:
    # given a worker and a web process that reach Redis through the link,
    # and 10 reminders falling due in the middle of the outage to come
    shop = reminder_shop
    worker = processes.worker(wait=False, REDIS_URL=redis_link.url)
    web = processes.web(wait=False, REDIS_URL=redis_link.url)
    worker.wait_listening()
    web.wait_ready()
    shoppers = carts_due_in(shop, 10, seconds=2 + OUTAGE_SECONDS / 2)

    # when Redis goes away for 6 seconds, while the store platform delivers
    # 10 cart webhooks and shoppers' browsers send 10 page views
    time.sleep(2)
    redis_link.cut()
    cut_at = time.monotonic()
    webhook_ids = [
        _deliver_cart(web.base, platform, f"cart-during-{n}") for n in range(10)
    ]
    event_ids = [_page_view(web.base, shop) for _ in range(10)]
    time.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - cut_at)))
    assert line.accepted_count == 0
    redis_link.restore()
    restored_at = time.monotonic()

    # then every webhook is applied, every page view stored, and every
    # reminder sent once, soon after Redis is back
    wait_until(
        lambda: rows(WebhookDelivery, status=APPLIED) == len(webhook_ids),
        RECOVERY_SECONDS,
        "the webhooks delivered during the outage to be applied",
    )
    applied_after = time.monotonic() - restored_at
    wait_until(
        lambda: _stored_events(event_ids) == len(event_ids),
        RECOVERY_SECONDS,
        "the page views accepted during the outage to be stored",
    )
    wait_until(
        lambda: all_ended(shop),
        RECOVERY_SECONDS,
        "the reminders due during the outage to be sent",
        details=lambda: str(count_status(shop)),
    )
    sent_after = time.monotonic() - restored_at
    assert_line_sent_each_once(shop, line, shoppers)
    carts = db.session.scalars(
        select(Cart.token).where(
            Cart.shop_id == shop.id, Cart.token.like("cart-during-%")
        )
    ).all()
    assert sorted(carts) == sorted(f"cart-during-{n}" for n in range(10))
    assert rows(WebhookDelivery) == len(webhook_ids)
    logger.info(
        "faults.redis_outage",
        extra={"applied_after": applied_after, "sent_after": sent_after},
    )


def _deliver_cart(base: str, platform: FakeShopifyPlatform, token: str) -> str:
    """A cart webhook, taken while Redis is away (PostgreSQL alone records
    it); its webhook id."""
    body = json.dumps(cart_payload(token, [(OOLONG_100G, 1)], taipei(3, 12))).encode()
    headers = platform.webhook_headers("carts/update", SHOP_DOMAIN, body)
    response = httpx.post(
        f"{base}/webhooks/shopify", content=body, headers=headers, timeout=10
    )
    assert response.status_code == 200, response.text
    return headers["X-Shopify-Webhook-Id"]


def _page_view(base: str, shop: Shop) -> str:
    event_id = str(uuid.uuid4())
    body = {
        "widget_key": shop.widget_key,
        "visitor_token": None,
        "page": {
            "url": f"https://{SHOP_DOMAIN}/products/chew-toy",
            "page_type": "product",
        },
        "locale": "en",
        "event_id": event_id,
    }
    response = httpx.post(
        f"{base}/api/widget/v1/page",
        content=json.dumps(body),
        headers={"Content-Type": "text/plain", "Origin": storefront(shop)},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    return event_id


def _stored_events(event_ids: list[str]) -> int:
    db.session.rollback()
    found = db.session.scalars(
        select(VisitorEvent.event_id).where(VisitorEvent.event_id.in_(event_ids))
    ).all()
    return len(found)
