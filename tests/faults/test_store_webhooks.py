"""Store webhooks as the platform really delivers them: twice, late, out of order.

A real web process records them and two real workers apply them side by
side, so news of one cart may be applied at the same moment. The books: one
row per delivery, each applied once; every record holds the newest state the
platform sent; no reminder goes to a cart whose order was placed, whatever
order the news came in.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
from sqlalchemy import select

from engine.commerce.models import Cart, Checkout, Order
from engine.db import db
from engine.reminders import clock
from engine.shops.models import Shop
from engine.webhooks.models import APPLIED, WebhookDelivery
from plugin.sandbox.line_platform import FakeLinePlatform
from plugin.sandbox.shopify_platform import FakeShopifyPlatform, load_payload
from tests.conftest import SHOP_DOMAIN
from tests.faults.books import (
    FIRST_STEP_AFTER,
    NOON,
    bound_carts,
    first_steps,
    rows,
    run_reminder_sweep,
)
from tests.faults.conftest import Processes, needs_postgresql
from tests.faults.processes import wait_until
from tests.reminders import MATCHA_TIN, OOLONG_100G, cart_payload, move_clock_to

pytestmark = needs_postgresql

MINUTE = timedelta(minutes=1)
LINES = [(OOLONG_100G, 1), (MATCHA_TIN, 1)]


@dataclass(frozen=True)
class Webhook:
    """One delivery: a redelivery repeats its webhook and event ids."""

    topic: str
    payload: dict[str, Any]
    webhook_id: str
    event_id: str


def test_store_webhooks_twice_late_and_out_of_order(
    reminder_shop: Shop,
    line: FakeLinePlatform,
    platform: FakeShopifyPlatform,
    processes: Processes,
) -> None:
    # given a web process, two workers, and three shoppers bound on LINE whose
    # carts the widget has linked to them
    shop = reminder_shop
    web = processes.web(wait=False)
    workers = [processes.worker(f"worker-{n}", wait=False) for n in (1, 2)]
    for worker in workers:
        worker.wait_listening()
    web.wait_ready()
    now = move_clock_to(NOON)
    ordered, ordered_by_checkout, kept = bound_carts(shop, 3)
    at = [now - 40 * MINUTE + n * 5 * MINUTE for n in range(5)]

    # when the platform sends each cart's news newest first (the order before
    # its checkout, the checkout's newest state before its oldest, the cart
    # last), one delivery at a time; then every delivery again, many at once
    news = [
        *_bought(ordered.token, "ck-ordered", 9001, at, order_names_cart=True),
        *_bought(ordered_by_checkout.token, "ck-by-checkout", 9002, at),
        *_abandoned(kept.token, "ck-kept", at),
    ]
    for webhook in news:
        assert _deliver(web.base, platform, webhook) == 200
    with ThreadPoolExecutor(8) as pool:
        answers = pool.map(lambda w: _deliver(web.base, platform, w), news[::-1])
        assert set(answers) == {200}

    # then each delivery was recorded once and applied once
    wait_until(
        lambda: rows(WebhookDelivery, status=APPLIED) == len(news),
        30,
        "every delivery to be applied",
        details=lambda: str(_deliveries()),
    )
    assert sum(_deliveries().values()) == len(news)

    # and every record holds the newest state, completed once ordered
    checkouts = {c.token: c for c in db.session.scalars(select(Checkout))}
    assert (checkouts["ck-kept"].total_price, checkouts["ck-kept"].email) == (
        Decimal("1130.00"),
        _email_of(kept.token),
    )
    assert checkouts["ck-kept"].completed_at is None
    assert checkouts["ck-ordered"].completed_at is not None
    assert checkouts["ck-by-checkout"].completed_at is not None
    orders = db.session.scalars(select(Order).order_by(Order.order_id)).all()
    assert [(o.order_id, o.financial_status) for o in orders] == [
        ("9001", "paid"),
        ("9002", "paid"),
    ]
    carts = {c.token: c for c in db.session.scalars(select(Cart))}
    assert carts[kept.token].ordered_at is None
    assert carts[ordered.token].ordered_at is not None
    assert carts[ordered_by_checkout.token].ordered_at is not None

    # and once reminders fall due, only the cart never ordered gets one
    clock.advance(FIRST_STEP_AFTER + 2 * MINUTE)
    run_reminder_sweep()
    wait_until(
        lambda: _settled_sends(shop),
        30,
        "the reminders to be settled",
        details=lambda: str([(s.recipient_id, s.status) for s in first_steps(shop)]),
    )
    sent = [s.recipient_id for s in first_steps(shop) if s.status == "sent"]
    assert sent == [kept.external_id]
    assert len(line.delivered_to(kept.external_id)) == 1
    for cart in (ordered, ordered_by_checkout):
        assert line.delivered_to(cart.external_id) == [], cart.token


def _settled_sends(shop: Shop) -> list[tuple[str | None, str]] | None:
    """Each first step's recipient and status once none is pending or sending."""
    sends = [(send.recipient_id, send.status) for send in first_steps(shop)]
    if any(status in ("pending", "sending") for _, status in sends):
        return None
    return sends or None


def _bought(
    cart_token: str,
    checkout_token: str,
    order_id: int,
    at: list[datetime],
    *,
    order_names_cart: bool = False,
) -> list[Webhook]:
    """A cart's news, newest first: its order paid, then created (naming its
    checkout, and its cart if ``order_names_cart``), then its checkout's."""
    on_order = cart_token if order_names_cart else None
    return [
        _webhook(
            "orders/paid", _order(order_id, checkout_token, on_order, at[4], "paid")
        ),
        _webhook(
            "orders/create",
            _order(order_id, checkout_token, on_order, at[3], "pending"),
        ),
        *_abandoned(cart_token, checkout_token, at),
    ]


def _abandoned(
    cart_token: str, checkout_token: str, at: list[datetime]
) -> list[Webhook]:
    """A cart's and its checkout's news, newest first."""
    email = _email_of(cart_token)
    return [
        _webhook(
            "checkouts/update",
            _checkout(checkout_token, cart_token, at[2], email, "1130.00"),
        ),
        _webhook(
            "checkouts/create",
            _checkout(checkout_token, cart_token, at[1], None, "450.00"),
        ),
        _webhook("carts/update", cart_payload(cart_token, LINES, at[0])),
    ]


def _email_of(cart_token: str) -> str:
    return f"{cart_token.removeprefix('cart-')}@example.com"


def _checkout(
    token: str, cart_token: str, at: datetime, email: str | None, total: str
) -> dict[str, Any]:
    payload = load_payload("checkouts/create")
    payload.update(
        token=token,
        cart_token=cart_token,
        email=email,
        customer=None,
        total_price=total,
        line_items=cart_payload(cart_token, LINES, at)["line_items"],
        abandoned_checkout_url=f"https://{SHOP_DOMAIN}/1/checkouts/{token}/recover",
        created_at=at.isoformat(),
        updated_at=at.isoformat(),
    )
    return payload


def _order(
    order_id: int,
    checkout_token: str,
    cart_token: str | None,
    at: datetime,
    financial_status: str,
) -> dict[str, Any]:
    """The order as the platform reports it at ``at`` (placed a minute before)."""
    payload = load_payload("orders/create")
    payload.update(
        id=order_id,
        name=f"#{order_id}",
        checkout_token=checkout_token,
        cart_token=cart_token,
        email=f"buyer-{order_id}@example.com",
        contact_email=None,
        phone=None,
        customer=None,
        financial_status=financial_status,
        created_at=(at - timedelta(minutes=1)).isoformat(),
        processed_at=at.isoformat(),
        updated_at=at.isoformat(),
    )
    return payload


def _webhook(topic: str, payload: dict[str, Any]) -> Webhook:
    return Webhook(topic, payload, str(uuid.uuid4()), str(uuid.uuid4()))


def _deliver(base: str, platform: FakeShopifyPlatform, webhook: Webhook) -> int:
    body = json.dumps(webhook.payload).encode()
    headers = platform.webhook_headers(
        webhook.topic,
        SHOP_DOMAIN,
        body,
        webhook_id=webhook.webhook_id,
        event_id=webhook.event_id,
    )
    return httpx.post(
        f"{base}/webhooks/shopify", content=body, headers=headers, timeout=10
    ).status_code


def _deliveries() -> Counter[tuple[str, int]]:
    db.session.rollback()
    found = db.session.execute(select(WebhookDelivery.status, WebhookDelivery.attempts))
    return Counter((status, attempts) for status, attempts in found)
