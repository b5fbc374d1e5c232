"""The mandatory compliance topics, each with its real effect on our data."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from engine.commerce.models import Cart, Checkout, LineItem, Order
from engine.db import db
from engine.privacy.models import DataExport
from engine.shops.install import shop_by_domain
from engine.shops.models import Shop
from engine.visitors.models import Visitor
from engine.webhooks.jobs import MAX_ATTEMPTS
from engine.webhooks.models import WebhookDelivery
from plugin.sandbox.shopify_platform import FakeShopifyPlatform, load_payload
from tests.conftest import OTHER_SHOP_DOMAIN, SHOP_DOMAIN, install_shop, run_jobs
from tests.webhooks import (
    count_rows,
    post_webhook,
    queued_webhook_jobs,
    uninstalled_payload,
)

MEI_ID = "7012345678901"
MEI_ORDER_ID = "6123456789012"
MEI_CHECKOUT = "5e8c1b7a3d2f4a90b6e4c2d8f1a7b3c5"
MEI_CART = "7d0a2c4e9b1f4e63a5c8d2b6f0e91a37"
LIN_ID = "7012345678902"
LIN_ORDER_ID = "6123456789099"
LIN_CHECKOUT = "a1b2c3d4e5f60718293a4b5c6d7e8f90"
LIN_EMAIL = "lin.wei@example.com"
COMPLIANCE_TOPICS = ("customers/data_request", "customers/redact", "shop/redact")


def _lin(payload: dict[str, Any]) -> dict[str, Any]:
    """A sample payload turned into another shopper's, Lin Wei's."""
    customer = {"id": int(LIN_ID), "email": LIN_EMAIL, "phone": "+886900000456"}
    payload.update(email=LIN_EMAIL, phone=customer["phone"], customer=customer)
    payload["cart_token"] = "f0e1d2c3b4a5968778695a4b3c2d1e0f"
    if "checkout_token" in payload:
        payload.update(id=int(LIN_ORDER_ID), checkout_token=LIN_CHECKOUT)
    else:
        payload["token"] = LIN_CHECKOUT
    return payload


def _seed_shop(
    app: Flask, client: FlaskClient, platform: FakeShopifyPlatform, shop_domain: str
) -> Shop:
    """Mei's cart, checkout and order, Lin's checkout and order, and visitors."""
    for topic, payload in (
        ("carts/create", load_payload("carts/create")),
        ("checkouts/update", load_payload("checkouts/update")),
        ("orders/create", load_payload("orders/create")),
        ("checkouts/update", _lin(load_payload("checkouts/update"))),
        ("orders/create", _lin(load_payload("orders/create"))),
    ):
        response = post_webhook(
            client, platform, topic, payload, shop_domain=shop_domain
        )
        assert response.status_code == 200
    run_jobs(app)

    shop = shop_by_domain(shop_domain)
    mei = Visitor(shop_id=shop.id, public_id="v-mei", email="mei.chen@example.com")
    lin = Visitor(shop_id=shop.id, public_id="v-lin", customer_id=LIN_ID)
    db.session.add_all([mei, lin])
    db.session.flush()
    db.session.add_all(
        [
            Cart(shop_id=shop.id, token="cart-of-visitor-mei", visitor_id=mei.id),
            Cart(shop_id=shop.id, token="cart-of-visitor-lin", visitor_id=lin.id),
        ]
    )
    db.session.commit()
    return shop


def _compliance_payload(topic: str, shop_domain: str) -> dict[str, Any]:
    payload = load_payload(topic)
    payload["shop_domain"] = shop_domain
    return payload


def _deliver(
    app: Flask,
    client: FlaskClient,
    platform: FakeShopifyPlatform,
    topic: str,
    shop_domain: str = SHOP_DOMAIN,
) -> None:
    payload = _compliance_payload(topic, shop_domain)
    response = post_webhook(client, platform, topic, payload, shop_domain=shop_domain)
    assert response.status_code == 200
    run_jobs(app)
    db.session.expire_all()


def _tokens(model: type, shop: Shop) -> list[str]:
    query = select(model.token).where(model.shop_id == shop.id).order_by(model.token)
    return list(db.session.scalars(query))


def _order(shop: Shop, order_id: str) -> Order:
    return db.session.scalars(
        select(Order).where(Order.shop_id == shop.id, Order.order_id == order_id)
    ).one()


def test_customers_data_request_exports_customer_checkouts_and_orders(
    app: Flask, client: FlaskClient, platform: FakeShopifyPlatform, shop: Shop
) -> None:
    # given
    _seed_shop(app, client, platform, SHOP_DOMAIN)

    # when
    _deliver(app, client, platform, "customers/data_request")

    # then
    export = db.session.scalars(select(DataExport)).one()
    assert export.shop_id == shop.id
    assert export.data_request_id == "9101"
    assert (export.customer_id, export.customer_email) == (
        MEI_ID,
        "mei.chen@example.com",
    )
    document = export.document
    assert document["shop_domain"] == SHOP_DOMAIN
    assert [checkout["token"] for checkout in document["checkouts"]] == [MEI_CHECKOUT]
    assert document["checkouts"][0]["total_price"] == "1520.00"
    assert len(document["checkouts"][0]["items"]) == 2
    assert [order["order_id"] for order in document["orders"]] == [MEI_ORDER_ID]
    assert document["orders"][0]["email"] == "mei.chen@example.com"
    assert [visitor["email"] for visitor in document["visitors"]] == [
        "mei.chen@example.com"
    ]


def test_customers_redact_erases_customer_and_anonymises_orders(
    app: Flask, client: FlaskClient, platform: FakeShopifyPlatform, shop: Shop
) -> None:
    # given Mei's data and an export made for her earlier
    _seed_shop(app, client, platform, SHOP_DOMAIN)
    _deliver(app, client, platform, "customers/data_request")

    # when
    _deliver(app, client, platform, "customers/redact")

    # then Mei's visitor, checkout, visitor cart and export are gone
    assert _tokens(Checkout, shop) == [LIN_CHECKOUT]
    assert "cart-of-visitor-mei" not in _tokens(Cart, shop)
    assert [visitor.public_id for visitor in db.session.scalars(select(Visitor))] == [
        "v-lin"
    ]
    assert count_rows(DataExport) == 0
    # her order stays for the revenue figures, anonymised
    order = _order(shop, MEI_ORDER_ID)
    assert (order.email, order.phone, order.customer_id) == (None, None, None)
    assert order.total_price == Decimal("1520.00")
    assert len(order.line_items) == 2


def test_customers_redact_keeps_other_customer_of_same_shop(
    app: Flask, client: FlaskClient, platform: FakeShopifyPlatform, shop: Shop
) -> None:
    # given
    _seed_shop(app, client, platform, SHOP_DOMAIN)

    # when
    _deliver(app, client, platform, "customers/redact")

    # then
    checkout = db.session.scalars(select(Checkout)).one()
    assert (checkout.token, checkout.email, checkout.customer_id) == (
        LIN_CHECKOUT,
        LIN_EMAIL,
        LIN_ID,
    )
    assert len(checkout.line_items) == 2
    order = _order(shop, LIN_ORDER_ID)
    assert (order.email, order.phone, order.customer_id) == (
        LIN_EMAIL,
        "+886900000456",
        LIN_ID,
    )
    assert "cart-of-visitor-lin" in _tokens(Cart, shop)
    assert count_rows(Visitor, public_id="v-lin") == 1


def test_customers_redact_erases_cart_of_customer_checkout(
    app: Flask, client: FlaskClient, platform: FakeShopifyPlatform, shop: Shop
) -> None:
    # given Mei's cart, known from carts/create and tied to her by her checkout
    _seed_shop(app, client, platform, SHOP_DOMAIN)

    # when
    _deliver(app, client, platform, "customers/redact")

    # then
    assert MEI_CART not in _tokens(Cart, shop)


def test_shop_redact_erases_every_row_of_the_shop(
    app: Flask, client: FlaskClient, platform: FakeShopifyPlatform, shop: Shop
) -> None:
    # given two shops with data, the first uninstalled and with an export
    shop_id = shop.id
    other = install_shop(client, platform, OTHER_SHOP_DOMAIN)
    _seed_shop(app, client, platform, SHOP_DOMAIN)
    _seed_shop(app, client, platform, OTHER_SHOP_DOMAIN)
    _deliver(app, client, platform, "customers/data_request")
    platform.uninstall(SHOP_DOMAIN)
    post_webhook(client, platform, "app/uninstalled", uninstalled_payload())
    models = (Cart, Checkout, Order, LineItem, Visitor, DataExport)
    other_counts = [count_rows(model, shop_id=other.id) for model in models]

    # when
    _deliver(app, client, platform, "shop/redact")

    # then nothing of the first shop is left
    assert shop_by_domain(SHOP_DOMAIN) is None
    assert [count_rows(model, shop_id=shop_id) for model in models] == [0] * 6
    assert count_rows(WebhookDelivery, shop_id=shop_id) == 0
    assert count_rows(WebhookDelivery, shop_domain=SHOP_DOMAIN, status="applied") == 8
    # and the other shop keeps all of its rows
    assert shop_by_domain(OTHER_SHOP_DOMAIN).is_installed is True
    assert other_counts == [3, 2, 2, 10, 2, 0]
    assert [count_rows(model, shop_id=other.id) for model in models] == other_counts


def test_shop_redact_erases_payload_of_failed_delivery(
    app: Flask, client: FlaskClient, platform: FakeShopifyPlatform, shop: Shop
) -> None:
    # given a checkout delivery that failed for good, its body kept for a person
    payload = load_payload("checkouts/create")
    del payload["token"]
    post_webhook(client, platform, "checkouts/create", payload)
    failing = db.session.scalars(select(WebhookDelivery)).one()
    failing.attempts = MAX_ATTEMPTS - 1
    db.session.commit()
    run_jobs(app)
    db.session.expire_all()
    assert (failing.status, failing.shop_id) == ("failed", None)

    # when
    _deliver(app, client, platform, "shop/redact")

    # then no body of the shop is left, with its shoppers' e-mails
    assert count_rows(WebhookDelivery, shop_domain=SHOP_DOMAIN) == 2
    kept = db.session.scalars(
        select(WebhookDelivery.payload).where(WebhookDelivery.payload.is_not(None))
    ).all()
    assert kept == []


@pytest.mark.parametrize("topic", COMPLIANCE_TOPICS)
def test_compliance_topic_with_bad_hmac_is_refused(
    app: Flask,
    client: FlaskClient,
    platform: FakeShopifyPlatform,
    shop: Shop,
    topic: str,
) -> None:
    # given
    _seed_shop(app, client, platform, SHOP_DOMAIN)
    deliveries = count_rows(WebhookDelivery)
    forged = {"X-Shopify-Hmac-Sha256": "Zm9yZ2VkLWhtYWMtdmFsdWU="}

    # when
    payload = _compliance_payload(topic, SHOP_DOMAIN)
    response = post_webhook(client, platform, topic, payload, headers=forged)

    # then
    assert response.status_code == 401
    assert response.get_json()["code"] == "invalid_hmac"
    assert count_rows(WebhookDelivery) == deliveries
    assert queued_webhook_jobs() == 0
    assert shop_by_domain(SHOP_DOMAIN) is not None
    assert count_rows(Checkout, shop_id=shop.id) == 2
    assert count_rows(DataExport) == 0
