"""Footprints: visits, pages, products and the last cart, kept by the drain."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from engine.commerce.models import Cart
from engine.db import db, utcnow
from engine.shops.models import Shop
from engine.tracking.buffer import EventBuffer
from engine.tracking.footprint import CartSnapshot, ProductView, footprint_for
from engine.tracking.tokens import issue_token
from engine.visitors.models import Visitor
from plugin.sandbox.shopify_platform import FakeShopifyPlatform
from tests.conftest import run_jobs
from tests.tracking import T0, VISITOR, page_view, widget_event
from tests.webhooks import post_webhook, sample_payload
from tests.widget_api import drain, post_page

CART = {
    "cart_token": "7d0a2c4e9b1f4e63a5c8d2b6f0e91a37?key=5f1e",
    "cart_total": "1290.00",
    "cart_item_count": 2,
    "cart_currency": "TWD",
}


def the_visitor() -> Visitor:
    return db.session.scalars(select(Visitor)).one()


def test_a_new_visit_starts_after_30_minutes_without_activity(
    app: Flask, shop: Shop, widget_state: EventBuffer
) -> None:
    # given three page views: 29 minutes apart, then 31 minutes apart
    widget_state.add([page_view(shop, T0)])
    widget_state.add([page_view(shop, T0 + timedelta(minutes=29))])
    widget_state.add([page_view(shop, T0 + timedelta(minutes=60))])

    # when
    drain(app)

    # then
    visitor = the_visitor()
    assert (visitor.visit_count, visitor.page_views) == (2, 3)
    assert visitor.first_seen_at == T0
    assert visitor.last_seen_at == T0 + timedelta(minutes=60)


def test_visits_are_counted_across_batches(
    app: Flask, shop: Shop, widget_state: EventBuffer
) -> None:
    # given
    widget_state.add([page_view(shop, T0)])
    drain(app)
    widget_state.add([page_view(shop, T0 + timedelta(minutes=20))])
    drain(app)

    # when a page view comes after 45 quiet minutes
    widget_state.add([page_view(shop, T0 + timedelta(minutes=65))])
    drain(app)

    # then
    assert the_visitor().visit_count == 2


def test_leaving_a_page_keeps_the_visit_open_without_opening_one(
    app: Flask, shop: Shop, widget_state: EventBuffer
) -> None:
    # given a visitor who read one page for 40 minutes, then went on
    widget_state.add([page_view(shop, T0)])
    widget_state.add(
        [
            widget_event(
                shop, "page_leave", T0 + timedelta(minutes=40), seconds_on_page=2400
            )
        ]
    )
    widget_state.add([page_view(shop, T0 + timedelta(minutes=40, seconds=1))])

    # when
    drain(app)

    # then
    assert the_visitor().visit_count == 1


def test_products_viewed_most_recent_first_with_counts(
    app: Flask, shop: Shop, widget_state: EventBuffer
) -> None:
    # given
    for minute, (product_id, handle) in enumerate(
        [("1", "bowl"), ("2", "leash"), ("1", "bowl"), ("3", "treats")]
    ):
        widget_state.add(
            [
                page_view(
                    shop,
                    T0 + timedelta(minutes=minute),
                    path=f"/products/{handle}",
                    page_type="product",
                    product_id=product_id,
                    handle=handle,
                )
            ]
        )
    widget_state.add(
        [page_view(shop, T0 + timedelta(minutes=9), path="/cart", page_type="cart")]
    )

    # when
    drain(app)

    # then
    footprint = footprint_for(shop, the_visitor())
    assert footprint.products_viewed == (
        ProductView("3", "treats", 1, T0 + timedelta(minutes=3)),
        ProductView("1", "bowl", 2, T0 + timedelta(minutes=2)),
        ProductView("2", "leash", 1, T0 + timedelta(minutes=1)),
    )
    assert footprint.page_views == 5
    assert (footprint.last_page_url, footprint.last_page_type) == (
        "https://revisit-test.myshopify.com/cart",
        "cart",
    )


def test_last_cart_is_the_newest_cart_event(
    app: Flask, shop: Shop, widget_state: EventBuffer
) -> None:
    # given
    widget_state.add([widget_event(shop, "add_to_cart", T0, **CART)])
    widget_state.add(
        [
            widget_event(
                shop,
                "remove_from_cart",
                T0 + timedelta(minutes=2),
                **{**CART, "cart_total": "490.00", "cart_item_count": 1},
            )
        ]
    )

    # when
    drain(app)

    # then
    footprint = footprint_for(shop, the_visitor())
    assert footprint.last_cart == CartSnapshot(
        token="7d0a2c4e9b1f4e63a5c8d2b6f0e91a37",
        total=Decimal("490.00"),
        item_count=1,
        currency="TWD",
        seen_at=T0 + timedelta(minutes=2),
        ordered=False,
    )
    assert footprint.open_cart_total == Decimal("490.00")


def test_cart_event_links_the_platforms_cart_to_the_visitor(
    app: Flask,
    client: FlaskClient,
    shop: Shop,
    platform: FakeShopifyPlatform,
    widget_state: EventBuffer,
) -> None:
    # given the platform reported the cart first
    post_webhook(client, platform, "carts/create", sample_payload("carts/create"))
    run_jobs(app)

    # when the widget reports it, with the key /cart.js adds
    widget_state.add([widget_event(shop, "add_to_cart", T0, **CART)])
    drain(app)

    # then
    cart = db.session.scalars(select(Cart)).one()
    assert cart.visitor_id == the_visitor().id
    assert cart.token == "7d0a2c4e9b1f4e63a5c8d2b6f0e91a37"
    assert len(cart.line_items) == 2


def test_cart_event_before_the_platforms_cart_creates_it_linked(
    app: Flask,
    client: FlaskClient,
    shop: Shop,
    platform: FakeShopifyPlatform,
    widget_state: EventBuffer,
) -> None:
    # given the widget reports the cart before the platform does
    widget_state.add([widget_event(shop, "add_to_cart", T0, **CART)])
    drain(app)

    # when the platform's webhook arrives
    post_webhook(client, platform, "carts/create", sample_payload("carts/create"))
    run_jobs(app)
    db.session.expire_all()

    # then one cart, linked, with the platform's figures
    cart = db.session.scalars(select(Cart)).one()
    assert cart.visitor_id == the_visitor().id
    assert len(cart.line_items) == 2
    assert cart.platform_updated_at is not None


def test_a_cart_keeps_the_visitor_who_reported_it_last(
    app: Flask, shop: Shop, widget_state: EventBuffer
) -> None:
    # given
    widget_state.add([widget_event(shop, "add_to_cart", T0, visitor="a" * 22, **CART)])
    drain(app)

    # when the same cart shows up for another visitor
    widget_state.add(
        [
            widget_event(
                shop, "add_to_cart", T0 + timedelta(minutes=1), visitor="b" * 22, **CART
            )
        ]
    )
    drain(app)

    # then
    cart = db.session.scalars(select(Cart)).one()
    linked = db.session.get(Visitor, cart.visitor_id)
    assert linked.public_id == "b" * 22


def test_orders_count_carts_of_the_visitor_that_became_orders(
    app: Flask, shop: Shop, widget_state: EventBuffer
) -> None:
    # given the visitor's cart became an order
    widget_state.add([widget_event(shop, "add_to_cart", T0, **CART)])
    drain(app)
    cart = db.session.scalars(select(Cart)).one()
    cart.ordered_at = T0 + timedelta(hours=1)
    db.session.commit()

    # when
    footprint = footprint_for(shop, the_visitor())

    # then
    assert footprint.orders == 1
    assert footprint.last_cart.ordered is True
    assert footprint.open_cart_total == Decimal(0)


def test_page_endpoint_counts_a_new_visit_after_a_gap(
    app: Flask, client: FlaskClient, shop: Shop, widget_state: EventBuffer
) -> None:
    # given a visitor whose last activity was 31 minutes ago, in visit 3
    token = issue_token("test-secret-key", shop.id, VISITOR)
    widget_state.add([page_view(shop, utcnow() - timedelta(minutes=31))])
    drain(app)
    visitor = the_visitor()
    visitor.visit_count = 3
    db.session.commit()

    # when
    answer = post_page(client, shop, token=token).get_json()

    # then
    assert answer["visit_count"] == 4


def test_page_endpoint_keeps_the_visit_within_30_minutes(
    app: Flask, client: FlaskClient, shop: Shop, widget_state: EventBuffer
) -> None:
    # given
    token = issue_token("test-secret-key", shop.id, VISITOR)
    widget_state.add([page_view(shop, utcnow() - timedelta(minutes=29))])
    drain(app)

    # when
    answer = post_page(client, shop, token=token).get_json()

    # then
    assert answer["visit_count"] == 1
