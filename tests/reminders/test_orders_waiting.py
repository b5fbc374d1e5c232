"""An order the platform reported but no worker applied yet holds its shop's sends.

Workers take reminder jobs before webhook jobs, so the pre-send check, which
reads applied orders only, is backed by this hold.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from engine.db import db, utcnow
from engine.reminders.orders_waiting import (
    ORDER_WAIT,
    ORDER_WAIT_LIMIT,
    shops_with_orders_waiting,
)
from engine.shops.models import Shop
from engine.webhooks.models import APPLIED, RECEIVED, WebhookDelivery
from plugin.sandbox.line_platform import FakeLinePlatform
from tests.reminders import (
    HOUR,
    OOLONG_100G,
    WAIT,
    kick,
    leave_cart,
    make_shopper,
    move_clock_to,
    place_order,
    runs_of,
    sends_of,
    taipei,
    wait_for,
)


def record_delivery(
    shop_domain: str,
    topic: str = "orders/paid",
    *,
    status: str = RECEIVED,
    age: timedelta = timedelta(),
) -> WebhookDelivery:
    """A delivery as the webhook endpoint records it, its job not run yet."""
    delivery = WebhookDelivery(
        shop_domain=shop_domain,
        topic=topic,
        webhook_id=f"webhook-{topic}-{status}-{age.total_seconds()}",
        received_at=utcnow() - age,
        payload="{}",
        status=status,
        attempts=0,
    )
    db.session.add(delivery)
    db.session.commit()
    return delivery


def test_shop_with_an_order_delivery_not_applied_is_waiting(shop: Shop) -> None:
    # given an orders/paid delivery recorded a moment ago, not applied
    record_delivery(shop.shop_domain)

    # when / then
    assert shops_with_orders_waiting([shop]) == {shop.id}


@pytest.mark.parametrize(
    ("topic", "status", "age"),
    [
        ("orders/create", APPLIED, timedelta()),
        ("carts/update", RECEIVED, timedelta()),
        ("orders/cancelled", RECEIVED, timedelta()),
        ("orders/paid", RECEIVED, ORDER_WAIT_LIMIT + timedelta(seconds=1)),
    ],
    ids=["applied", "not an order", "a cancellation", "too old"],
)
def test_shop_is_not_waiting_for_other_deliveries(
    shop: Shop, topic: str, status: str, age: timedelta
) -> None:
    # given a delivery that is no order waiting to be applied
    record_delivery(shop.shop_domain, topic, status=status, age=age)
    # and another shop's order waiting
    record_delivery("other-shop.myshopify.com")

    # when / then
    assert shops_with_orders_waiting([shop]) == set()


def test_order_waiting_behind_reminders_still_stops_them(
    worker, reminder_shop, line: FakeLinePlatform
) -> None:
    # given Mei's step is due, and her order's delivery is recorded but its
    # job still waits behind the reminders
    shop = reminder_shop
    left_at = move_clock_to(taipei(3, 10))
    mei = make_shopper(shop)
    leave_cart(shop, mei, "cart-mei", [(OOLONG_100G, 1)], left_at)
    delivery = record_delivery(shop.shop_domain)
    due = move_clock_to(left_at + WAIT + HOUR)

    # when a worker takes the step
    kick()
    wait_for(lambda: sends_of(shop)[0].deferred_reason, what="the hold")

    # then the send is held for ORDER_WAIT, and nothing went to LINE
    send = sends_of(shop)[0]
    assert (send.status, send.deferred_reason) == ("pending", "order_waiting")
    assert ORDER_WAIT <= send.due_at - due < ORDER_WAIT + timedelta(seconds=5)
    assert line.delivered_to(mei.binding.external_id) == []

    # when the order is applied and the held send falls due again
    place_order(shop, 9001, due, cart_token="cart-mei")
    delivery.status = APPLIED
    db.session.commit()
    move_clock_to(send.due_at)
    kick()
    wait_for(lambda: sends_of(shop)[0].status != "pending", what="the stop")
    worker.wait_until_idle()

    # then the order stopped it: nothing ever went out
    assert [(s.status, s.reason) for s in sends_of(shop)] == [("cancelled", "ordered")]
    assert runs_of(shop)[0].stop_reason == "ordered"
    assert line.delivered_to(mei.binding.external_id) == []


def test_stuck_order_delivery_holds_reminders_no_longer_than_the_limit(
    worker, reminder_shop, line: FakeLinePlatform
) -> None:
    # given an order delivery recorded past the limit and never applied
    shop = reminder_shop
    left_at = move_clock_to(taipei(3, 10))
    mei = make_shopper(shop)
    leave_cart(shop, mei, "cart-mei", [(OOLONG_100G, 1)], left_at)
    record_delivery(shop.shop_domain, age=ORDER_WAIT_LIMIT + timedelta(seconds=1))
    move_clock_to(left_at + WAIT + HOUR)

    # when a worker takes the due step
    kick()
    wait_for(lambda: sends_of(shop)[0].status == "sent", what="the send")
    worker.wait_until_idle()

    # then it went out as planned
    assert len(line.delivered_to(mei.binding.external_id)) == 1
