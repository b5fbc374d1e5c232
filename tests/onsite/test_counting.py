"""Views, clicks and dismissals, counted from the widget's events, end to end."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from engine.db import db
from engine.onsite.counting import MessageStats, message_stats
from engine.onsite.models import OnsiteImpression
from engine.shops.models import Shop
from plugin.sandbox.shopify_platform import FakeShopifyPlatform
from tests.conftest import OTHER_SHOP_DOMAIN, install_shop
from tests.onsite import add_message
from tests.widget_api import drain, event, post_events, post_page


def shown(client: FlaskClient, shop: Shop, token: str) -> int | None:
    message = post_page(client, shop, token=token).get_json()["message"]
    return None if message is None else message["id"]


def visitor_sees(
    app: Flask,
    client: FlaskClient,
    shop: Shop,
    token: str,
    *types: str,
    message_id: int,
) -> None:
    events = [event(type_, message_id=message_id) for type_ in types]
    assert post_events(client, shop, token, events).status_code == 202
    drain(app)


def new_token(app: Flask, client: FlaskClient, shop: Shop) -> str:
    token = post_page(client, shop).get_json()["visitor_token"]
    drain(app)
    return token


def test_a_dismissed_message_never_comes_back_to_that_visitor(
    app: Flask, client: FlaskClient, shop: Shop
) -> None:
    # given
    message = add_message(shop)
    token = new_token(app, client, shop)
    other_token = new_token(app, client, shop)
    assert shown(client, shop, token) == message.id

    # when
    visitor_sees(
        app,
        client,
        shop,
        token,
        "message_view",
        "message_dismiss",
        message_id=message.id,
    )

    # then
    assert shown(client, shop, token) is None
    assert shown(client, shop, other_token) == message.id


def test_dismissal_lets_the_next_message_through(
    app: Flask, client: FlaskClient, shop: Shop
) -> None:
    # given
    fallback = add_message(shop, name="Fallback")
    preferred = add_message(shop, name="Preferred", url_match="contains", url_value="/")
    token = new_token(app, client, shop)

    # when
    visitor_sees(app, client, shop, token, "message_dismiss", message_id=preferred.id)

    # then
    assert shown(client, shop, token) == fallback.id


def test_cap_per_visitor_counts_views(
    app: Flask, client: FlaskClient, shop: Shop
) -> None:
    # given
    message = add_message(shop, cap_per_visitor=2)
    token = new_token(app, client, shop)

    # when seen once, then twice
    visitor_sees(app, client, shop, token, "message_view", message_id=message.id)
    after_one = shown(client, shop, token)
    visitor_sees(app, client, shop, token, "message_view", message_id=message.id)
    after_two = shown(client, shop, token)

    # then
    assert (after_one, after_two) == (message.id, None)


def test_stats_count_views_clicks_and_dismissals(
    app: Flask, client: FlaskClient, shop: Shop
) -> None:
    # given
    message = add_message(shop)
    first, second = new_token(app, client, shop), new_token(app, client, shop)

    # when
    visitor_sees(
        app,
        client,
        shop,
        first,
        "message_view",
        "message_view",
        "message_click",
        message_id=message.id,
    )
    visitor_sees(
        app,
        client,
        shop,
        second,
        "message_view",
        "message_dismiss",
        "message_dismiss",
        message_id=message.id,
    )

    # then
    assert message_stats(shop, message.id) == MessageStats(
        views=3, clicks=1, dismissals=1, viewers=2
    )


def test_a_repeated_event_is_counted_once(
    app: Flask, client: FlaskClient, shop: Shop
) -> None:
    # given
    message = add_message(shop)
    token = new_token(app, client, shop)
    view = event("message_view", message_id=message.id)

    # when the widget sends the same event twice
    post_events(client, shop, token, [view])
    post_events(client, shop, token, [view])
    drain(app)

    # then
    assert message_stats(shop, message.id).views == 1


def test_events_naming_another_shops_message_are_not_counted(
    app: Flask, client: FlaskClient, shop: Shop, platform: FakeShopifyPlatform
) -> None:
    # given
    other = install_shop(client, platform, OTHER_SHOP_DOMAIN)
    theirs = add_message(other)
    token = new_token(app, client, shop)

    # when this shop's visitor reports the other shop's message id
    visitor_sees(
        app,
        client,
        shop,
        token,
        "message_view",
        "message_dismiss",
        message_id=theirs.id,
    )

    # then
    assert db.session.scalars(select(OnsiteImpression)).all() == []
    assert message_stats(other, theirs.id) == MessageStats(0, 0, 0, 0)
