"""Deliveries that arrive late or out of order: the newest state wins, and a
completed checkout or ordered cart never goes back."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from engine.commerce.models import Cart, Checkout, Order
from engine.db import db
from engine.shops.models import Shop
from engine.webhooks.models import WebhookDelivery
from plugin.sandbox.shopify_platform import FakeShopifyPlatform, load_payload
from tests.conftest import run_jobs
from tests.webhooks import count_rows, post_webhook

CART_TOKEN = "7d0a2c4e9b1f4e63a5c8d2b6f0e91a37"
CHECKOUT_TOKEN = "5e8c1b7a3d2f4a90b6e4c2d8f1a7b3c5"
# orders_create.json's created_at, 2026-11-21T09:31:05+08:00, in UTC.
ORDER_PLACED_AT = datetime(2026, 11, 21, 1, 31, 5, tzinfo=UTC)


def _deliver(
    app: Flask,
    client: FlaskClient,
    platform: FakeShopifyPlatform,
    topic: str,
    payload: dict[str, Any] | None = None,
) -> None:
    """Deliver one webhook and apply it before the next one arrives."""
    body = payload if payload is not None else load_payload(topic)
    response = post_webhook(client, platform, topic, body)
    assert response.status_code == 200
    run_jobs(app)


def _checkout() -> Checkout:
    db.session.expire_all()
    return db.session.scalars(select(Checkout)).one()


def _cart() -> Cart:
    db.session.expire_all()
    return db.session.scalars(select(Cart)).one()


def _newer_checkout_update() -> dict[str, Any]:
    """The shopper changed e-mail and dropped the cups, after checkouts_update."""
    payload = load_payload("checkouts/update")
    payload["email"] = payload["customer"]["email"] = "mei.new@example.com"
    payload["line_items"] = payload["line_items"][:1]
    payload["total_price"] = "880.00"
    payload["updated_at"] = "2026-11-20T14:20:00+08:00"
    return payload


def test_checkout_update_older_than_held_state_is_ignored(
    app: Flask, client: FlaskClient, platform: FakeShopifyPlatform, shop: Shop
) -> None:
    # given the newest state applied first
    _deliver(app, client, platform, "checkouts/update", _newer_checkout_update())

    # when an older update arrives late
    _deliver(app, client, platform, "checkouts/update")

    # then the checkout keeps the newer state
    checkout = _checkout()
    assert checkout.email == "mei.new@example.com"
    assert checkout.total_price == Decimal("880.00")
    assert [(item.title, item.quantity) for item in checkout.line_items] == [
        ("Oolong Tea Gift Box", 1)
    ]
    assert checkout.platform_updated_at == datetime(2026, 11, 20, 6, 20, tzinfo=UTC)
    assert count_rows(WebhookDelivery, status="applied") == 2


def test_checkout_update_newer_than_held_state_replaces_it(
    app: Flask, client: FlaskClient, platform: FakeShopifyPlatform, shop: Shop
) -> None:
    # given
    _deliver(app, client, platform, "checkouts/create")

    # when
    _deliver(app, client, platform, "checkouts/update", _newer_checkout_update())

    # then
    checkout = _checkout()
    assert checkout.token == CHECKOUT_TOKEN
    assert checkout.email == "mei.new@example.com"
    assert checkout.phone == "+886900000123"
    assert checkout.total_price == Decimal("880.00")
    assert len(checkout.line_items) == 1
    assert count_rows(Checkout) == 1


def test_order_create_completes_its_checkout_and_cart(
    app: Flask, client: FlaskClient, platform: FakeShopifyPlatform, shop: Shop
) -> None:
    # given
    _deliver(app, client, platform, "carts/create")
    _deliver(app, client, platform, "checkouts/create")

    # when
    _deliver(app, client, platform, "orders/create")

    # then
    assert _checkout().completed_at == ORDER_PLACED_AT
    assert _cart().ordered_at == ORDER_PLACED_AT
    order = db.session.scalars(select(Order)).one()
    assert order.order_id == "6123456789012"
    assert (order.checkout_token, order.cart_token) == (CHECKOUT_TOKEN, CART_TOKEN)


def test_late_checkout_update_after_order_keeps_checkout_completed(
    app: Flask, client: FlaskClient, platform: FakeShopifyPlatform, shop: Shop
) -> None:
    # given a checkout completed by its order
    _deliver(app, client, platform, "checkouts/create")
    _deliver(app, client, platform, "orders/create")

    # when an update from before the order (completed_at null) arrives late
    _deliver(app, client, platform, "checkouts/update")

    # then its news is taken, but the checkout stays completed
    checkout = _checkout()
    assert checkout.phone == "+886900000123"
    assert checkout.completed_at == ORDER_PLACED_AT


def test_older_checkout_update_after_order_keeps_checkout_completed(
    app: Flask, client: FlaskClient, platform: FakeShopifyPlatform, shop: Shop
) -> None:
    # given
    _deliver(app, client, platform, "checkouts/update")
    _deliver(app, client, platform, "orders/create")

    # when a still older state arrives late
    _deliver(app, client, platform, "checkouts/create")

    # then
    checkout = _checkout()
    assert checkout.phone == "+886900000123"
    assert checkout.completed_at == ORDER_PLACED_AT


def test_order_before_its_checkout_leaves_checkout_completed(
    app: Flask, client: FlaskClient, platform: FakeShopifyPlatform, shop: Shop
) -> None:
    # given
    _deliver(app, client, platform, "orders/create")

    # when
    _deliver(app, client, platform, "checkouts/update")

    # then
    checkout = _checkout()
    assert checkout.token == CHECKOUT_TOKEN
    assert checkout.completed_at == ORDER_PLACED_AT


def test_order_before_its_cart_leaves_cart_ordered(
    app: Flask, client: FlaskClient, platform: FakeShopifyPlatform, shop: Shop
) -> None:
    # given
    _deliver(app, client, platform, "orders/create")

    # when
    _deliver(app, client, platform, "carts/update")

    # then
    cart = _cart()
    assert cart.ordered_at == ORDER_PLACED_AT
    assert (cart.item_count, cart.total_price) == (3, Decimal("1520.00"))


def test_cart_update_older_than_held_state_is_ignored(
    app: Flask, client: FlaskClient, platform: FakeShopifyPlatform, shop: Shop
) -> None:
    # given
    _deliver(app, client, platform, "carts/update")

    # when
    _deliver(app, client, platform, "carts/create")

    # then the second cup is still there
    cart = _cart()
    assert (cart.item_count, cart.total_price) == (3, Decimal("1520.00"))
    assert [item.quantity for item in cart.line_items] == [1, 2]


def test_late_order_create_after_orders_paid_keeps_it_paid(
    app: Flask, client: FlaskClient, platform: FakeShopifyPlatform, shop: Shop
) -> None:
    # given
    _deliver(app, client, platform, "orders/paid")

    # when the older orders/create arrives late
    _deliver(app, client, platform, "orders/create")

    # then
    db.session.expire_all()
    order = db.session.scalars(select(Order)).one()
    assert order.financial_status == "paid"
    assert order.paid_at == ORDER_PLACED_AT
    assert order.platform_updated_at == datetime(2026, 11, 21, 2, 2, 47, tzinfo=UTC)


def test_order_by_cart_token_before_checkout_leaves_checkout_completed(
    app: Flask, client: FlaskClient, platform: FakeShopifyPlatform, shop: Shop
) -> None:
    # given an order that names only the cart the checkout came from
    order = load_payload("orders/create")
    order["checkout_token"] = None
    _deliver(app, client, platform, "orders/create", order)

    # when the checkout arrives after it
    _deliver(app, client, platform, "checkouts/update")

    # then it is completed, as it is when it arrives first
    assert _checkout().completed_at == ORDER_PLACED_AT
