"""A widget key of one shop never reads or writes another shop's data."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from engine.db import db
from engine.shops.models import Shop
from engine.tracking.buffer import EventBuffer
from engine.tracking.models import VisitorEvent
from engine.tracking.tokens import issue_token, read_token
from engine.visitors.models import Visitor
from plugin.sandbox.shopify_platform import FakeShopifyPlatform
from tests.conftest import OTHER_SHOP_DOMAIN, SHOP_DOMAIN, install_shop
from tests.onsite import add_message
from tests.widget_api import drain, event, post_events, post_page

SECRET_KEY = "test-secret-key"
SAME_ID = "s" * 22


def both(client: FlaskClient, platform: FakeShopifyPlatform) -> tuple[Shop, Shop]:
    return (
        install_shop(client, platform, SHOP_DOMAIN),
        install_shop(client, platform, OTHER_SHOP_DOMAIN),
    )


def test_another_shops_visitor_token_is_not_accepted(
    client: FlaskClient, platform: FakeShopifyPlatform, widget_state: EventBuffer
) -> None:
    # given
    shop, other = both(client, platform)
    theirs = issue_token(SECRET_KEY, other.id, SAME_ID)

    # when
    page = post_page(client, shop, token=theirs).get_json()
    events = post_events(client, shop, theirs, [event("page_leave")])

    # then a new visitor of this shop, and no events
    assert page["visitor_token"] != theirs
    assert read_token(SECRET_KEY, shop.id, page["visitor_token"]) != SAME_ID
    assert events.status_code == 401
    assert [record["type"] for record in widget_state.take()] == ["page_view"]


def test_a_widget_key_from_another_shops_storefront_is_refused(
    client: FlaskClient, platform: FakeShopifyPlatform, widget_state: EventBuffer
) -> None:
    # given
    shop, other = both(client, platform)

    # when
    response = post_page(client, shop, origin=f"https://{other.shop_domain}")

    # then
    assert response.status_code == 403
    assert widget_state.pending() == 0


def test_events_land_in_the_widget_keys_shop_only(
    app: Flask, client: FlaskClient, platform: FakeShopifyPlatform
) -> None:
    # given the same visitor id known to both shops
    shop, other = both(client, platform)
    post_page(client, other, token=issue_token(SECRET_KEY, other.id, SAME_ID))
    drain(app)

    # when the first shop's widget reports events for that id
    token = issue_token(SECRET_KEY, shop.id, SAME_ID)
    post_page(client, shop, token=token)
    post_events(client, shop, token, [event("page_leave", seconds_on_page=5)])
    drain(app)

    # then
    visitors = {row.shop_id: row for row in db.session.scalars(select(Visitor)).all()}
    assert (visitors[shop.id].page_views, visitors[other.id].page_views) == (1, 1)
    assert sorted(
        (row.shop_id, row.visitor_id, row.type)
        for row in db.session.execute(
            select(VisitorEvent.shop_id, VisitorEvent.visitor_id, VisitorEvent.type)
        )
    ) == sorted(
        [
            (other.id, visitors[other.id].id, "page_view"),
            (shop.id, visitors[shop.id].id, "page_view"),
            (shop.id, visitors[shop.id].id, "page_leave"),
        ]
    )


def test_page_never_shows_another_shops_message(
    client: FlaskClient, platform: FakeShopifyPlatform
) -> None:
    # given
    shop, other = both(client, platform)
    add_message(other)

    # when
    answer = post_page(client, shop).get_json()

    # then
    assert answer["message"] is None
