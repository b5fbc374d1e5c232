"""A widget key of one shop never reads or writes another shop's data, and a
visitor token of one shop is refused with another shop's widget key."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.test import TestResponse

from engine.binding import popup, tokens
from engine.binding.bindings import bind
from engine.binding.errors import OTHER_SHOP, InvalidBindingToken
from engine.binding.funnel import funnel_of
from engine.binding.models import LINE, LINE_LOGIN, ChannelBinding
from engine.binding.popup import update_popup
from engine.binding.tokens import Intent
from engine.channels.accounts import connect_line
from engine.db import db
from engine.runtime import current
from engine.shops.models import Shop
from engine.tracking.buffer import EventBuffer
from engine.tracking.models import VisitorEvent
from engine.tracking.tokens import issue_token, read_token
from engine.visitors.models import Visitor
from plugin.sandbox.shopify_platform import FakeShopifyPlatform
from tests.conftest import OTHER_SHOP_DOMAIN, SHOP_DOMAIN, install_shop
from tests.onsite import add_message
from tests.test_tenancy import shop_rows
from tests.widget_api import (
    drain,
    event,
    new_visitor,
    post_events,
    post_page,
    storefront,
)
from tests.widget_api.test_chat import JPEG, PNG, post, say, upload

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


# --- binding --------------------------------------------------------------------

BINDING_ACTIONS = {
    "offer": {},
    "dismiss": {},
    "start": {"channel": "line", "method": "login", "marketing": True},
    "status": {},
    "unbind": {"channel": "line"},
    "link": {"link_token": "line-link-token-0123", "marketing": True},
}
LINE_USER = "U" + "4" * 32


def binding_call(
    client: FlaskClient, shop: Shop, action: str, token: str, **fields: Any
) -> TestResponse:
    """A binding call from the shop's storefront, with the shop's widget key."""
    body = {"widget_key": shop.widget_key, "visitor_token": token, **fields}
    return client.post(
        f"/api/widget/v1/binding/{action}",
        json=body,
        headers={"Origin": storefront(shop)},
    )


def ready_to_bind(*shops: Shop) -> None:
    """Each shop with LINE connected for binding and the pop-up on."""
    for shop in shops:
        connect_line(
            shop,
            f"20000000{shop.id:02d}",
            f"line-secret-of-shop-{shop.id}",
            f"line-token-of-shop-{shop.id}",
            login_channel_id=f"20000099{shop.id:02d}",
            login_channel_secret=f"line-login-secret-of-shop-{shop.id}",
            basic_id=f"@shop-{shop.id}",
        )
        db.session.commit()
        update_popup(shop)
    popup.forget_all()


def bound_on_line(shop: Shop, public_id: str) -> None:
    bind(shop, Intent.new(shop.id, public_id, True), LINE, LINE_USER, LINE_LOGIN)
    db.session.commit()


def binding_records() -> set[bytes]:
    """Every pop-up day, code, nonce and claim kept in Redis for binding."""
    return set(current().redis.scan_iter("revisit:binding:*"))


def test_binding_calls_refuse_another_shops_visitor_token(
    client: FlaskClient, platform: FakeShopifyPlatform
) -> None:
    # given a visitor of the first shop, bound there
    shop, other = both(client, platform)
    ready_to_bind(shop, other)
    bound_on_line(shop, SAME_ID)
    theirs = issue_token(SECRET_KEY, shop.id, SAME_ID)
    before = (shop_rows(shop.id), shop_rows(other.id), binding_records())

    # when each binding call sends that token with the other shop's widget key
    answers = {
        action: binding_call(client, other, action, theirs, **fields)
        for action, fields in BINDING_ACTIONS.items()
    }

    # then each is refused, and nothing of either shop changed
    assert {action: answer.status_code for action, answer in answers.items()} == {
        action: 401 for action in BINDING_ACTIONS
    }
    assert {answer.get_json()["code"] for answer in answers.values()} == {
        "invalid_visitor_token"
    }
    assert (shop_rows(shop.id), shop_rows(other.id), binding_records()) == before


def test_binding_status_shows_the_widget_keys_shop_only(
    client: FlaskClient, platform: FakeShopifyPlatform
) -> None:
    # given one visitor id, bound on LINE in the other shop only
    shop, other = both(client, platform)
    ready_to_bind(shop, other)
    bound_on_line(other, SAME_ID)

    # when each shop's widget asks where that visitor is bound
    ours = binding_call(
        client, shop, "status", issue_token(SECRET_KEY, shop.id, SAME_ID)
    )
    theirs = binding_call(
        client, other, "status", issue_token(SECRET_KEY, other.id, SAME_ID)
    )

    # then
    assert ours.get_json() == {"bound": []}
    assert theirs.get_json() == {"bound": ["line"]}


def test_binding_offer_and_dismiss_count_in_the_widget_keys_shop_only(
    client: FlaskClient, platform: FakeShopifyPlatform
) -> None:
    # given one visitor id known to both shops, bound in neither
    shop, other = both(client, platform)
    ready_to_bind(shop, other)
    ours = issue_token(SECRET_KEY, shop.id, SAME_ID)
    theirs = issue_token(SECRET_KEY, other.id, SAME_ID)
    before = shop_rows(other.id)

    # when the first shop's widget shows the pop-up and the visitor closes it
    shown = binding_call(client, shop, "offer", ours).get_json()
    dismissed = binding_call(client, shop, "dismiss", ours).get_json()

    # then only the first shop counted and remembers it; the other still offers
    assert (shown["show"], dismissed) == (True, {"dismissed": True})
    assert shop_rows(other.id) == before
    assert [(f.channel, f.shown) for f in funnel_of(shop)] == [
        ("line", 1),
        ("messenger", 0),
    ]
    assert binding_call(client, shop, "offer", ours).get_json()["reason"] == (
        "dismissed_today"
    )
    assert binding_call(client, other, "offer", theirs).get_json() == {
        "show": True,
        "channels": ["line"],
        "reason": None,
    }


def test_binding_unbind_leaves_the_same_visitor_bound_in_another_shop(
    client: FlaskClient, platform: FakeShopifyPlatform
) -> None:
    # given one visitor id bound to the same LINE user in both shops
    shop, other = both(client, platform)
    ready_to_bind(shop, other)
    bound_on_line(shop, SAME_ID)
    bound_on_line(other, SAME_ID)
    before = shop_rows(other.id)

    # when the visitor unbinds in the first shop's widget
    answer = binding_call(
        client,
        shop,
        "unbind",
        issue_token(SECRET_KEY, shop.id, SAME_ID),
        channel="line",
    )

    # then only the first shop's binding went; the other's is untouched
    assert answer.get_json() == {"unbound": True, "bound": []}
    assert shop_rows(other.id) == before
    assert [row.shop_id for row in db.session.scalars(select(ChannelBinding))] == [
        other.id
    ]


def test_binding_start_and_link_tokens_verify_for_the_widget_keys_shop_only(
    client: FlaskClient, platform: FakeShopifyPlatform
) -> None:
    # given
    shop, other = both(client, platform)
    ready_to_bind(shop, other)
    ours = issue_token(SECRET_KEY, shop.id, SAME_ID)
    before = shop_rows(other.id)

    # when the first shop's widget starts LINE Login and LINE's account link
    started = binding_call(client, shop, "start", ours, **BINDING_ACTIONS["start"])
    linked = binding_call(client, shop, "link", ours, **BINDING_ACTIONS["link"])

    # then the state and the nonce stand for the first shop, never the other
    state = _query_value(started.get_json()["url"], "state")
    nonce = _query_value(linked.get_json()["url"], "nonce")
    assert tokens.verify(tokens.LOGIN_STATE, state, shop.id).public_id == SAME_ID
    assert tokens.redeem(tokens.LINK_NONCE, nonce, shop.id).public_id == SAME_ID
    for refused in (
        lambda: tokens.verify(tokens.LOGIN_STATE, state, other.id),
        lambda: tokens.redeem(tokens.LINK_NONCE, nonce, other.id),
    ):
        with pytest.raises(InvalidBindingToken) as error:
            refused()
        assert error.value.reason == OTHER_SHOP
    assert shop_rows(other.id) == before


def _query_value(url: str, name: str) -> str:
    return parse_qs(urlsplit(url).query)[name][0]


# --- chat -----------------------------------------------------------------------


def test_chat_writes_refuse_another_shops_visitor_token(
    client: FlaskClient, platform: FakeShopifyPlatform
) -> None:
    # given a shopper of the first shop with a conversation there
    shop, other = both(client, platform)
    token = new_visitor(client, shop)
    assert say(client, shop, token, "Where is my order?").status_code == 201
    before = (shop_rows(shop.id), shop_rows(other.id))

    # when the token is sent with the other shop's widget key
    answers = [
        say(client, other, token, "Hello"),
        upload(client, other, token, PNG),
        post(client, other, "rating", token, score=5),
    ]

    # then each is refused, and nothing of either shop changed
    assert [answer.status_code for answer in answers] == [401, 401, 401]
    assert {answer.get_json()["code"] for answer in answers} == {
        "invalid_visitor_token"
    }
    assert (shop_rows(shop.id), shop_rows(other.id)) == before


def test_chat_image_address_serves_its_own_shops_image_only(
    client: FlaskClient, platform: FakeShopifyPlatform
) -> None:
    # given a shopper of each shop who sent an image
    shop, other = both(client, platform)
    ours, theirs = new_visitor(client, shop), new_visitor(client, other)
    assert upload(client, shop, ours, PNG).status_code == 201
    assert upload(client, other, theirs, JPEG, "image/jpeg").status_code == 201

    # when each reads their chat
    our_urls = _image_urls(post(client, shop, "history", ours))
    their_urls = _image_urls(post(client, other, "history", theirs))

    # then each sees only their own image, and each address serves its bytes
    assert (len(our_urls), len(their_urls)) == (1, 1)
    assert our_urls != their_urls
    assert client.get(_path(our_urls[0])).data == PNG
    assert client.get(_path(their_urls[0])).data == JPEG
    # the address is the only key: one character off is no image at all
    near = our_urls[0][:-1] + ("A" if our_urls[0][-1] != "A" else "B")
    assert client.get(_path(near)).status_code == 404


def _image_urls(history: TestResponse) -> list[str]:
    assert history.status_code == 200, history.get_json()
    return [
        message["image_url"]
        for message in history.get_json()["messages"]
        if message["kind"] == "image"
    ]


def _path(url: str) -> str:
    return urlsplit(url).path
