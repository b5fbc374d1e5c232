"""``POST /api/widget/v1/events``: batches accepted into the buffer, or refused."""

from __future__ import annotations

import json

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from engine.db import db
from engine.shops.models import Shop
from engine.tracking.buffer import EventBuffer
from engine.tracking.models import VisitorEvent
from engine.tracking.tokens import issue_token, new_public_id, read_token
from tests.widget_api import EVENTS_PATH, event, new_visitor, post_events

SECRET_KEY = "test-secret-key"
CART = {
    "token": "c1-7a2abe82?key=824bdj",
    "total_price": "1290.00",
    "item_count": 2,
    "currency": "TWD",
}


def test_events_are_accepted_into_the_buffer_without_a_write(
    shop: Shop, client: FlaskClient, widget_state: EventBuffer
) -> None:
    # given
    token = new_visitor(client, shop)
    widget_state.take()
    leave = event("page_leave", seconds_on_page=42)
    added = event(
        "add_to_cart", product_id=123, variant_id="456", quantity=1, cart=CART
    )

    # when
    response = post_events(client, shop, token, [leave, added])

    # then
    assert (response.status_code, response.data) == (202, b"")
    first, second = widget_state.take()
    public_id = read_token(SECRET_KEY, shop.id, token)
    assert (first["id"], first["type"], first["seconds_on_page"]) == (
        leave["id"],
        "page_leave",
        42,
    )
    assert (first["shop"], first["visitor"]) == (shop.id, public_id)
    assert (second["product_id"], second["variant_id"]) == ("123", "456")
    assert (second["cart_token"], second["cart_total"], second["cart_item_count"]) == (
        "c1-7a2abe82?key=824bdj",
        "1290.00",
        2,
    )
    assert db.session.scalar(select(func.count()).select_from(VisitorEvent)) == 0


def test_events_sent_as_a_text_plain_beacon_are_accepted(
    shop: Shop, client: FlaskClient, widget_state: EventBuffer
) -> None:
    # given: what navigator.sendBeacon sends for a string body
    token = issue_token(SECRET_KEY, shop.id, new_public_id())
    body = {
        "widget_key": shop.widget_key,
        "visitor_token": token,
        "events": [event("page_leave", seconds_on_page=3)],
    }

    # when
    response = client.post(
        EVENTS_PATH,
        data=json.dumps(body).encode(),
        headers={
            "Content-Type": "text/plain;charset=UTF-8",
            "Origin": "https://revisit-test.myshopify.com",
        },
    )

    # then
    assert response.status_code == 202
    assert widget_state.pending() == 1


@pytest.mark.parametrize(
    "token",
    [
        "eyJzIjoxLCJ2IjoiYWJjIn0.forged",
        issue_token("another-secret", 1, new_public_id()),
    ],
)
def test_events_with_a_token_that_does_not_verify_are_401(
    shop: Shop, client: FlaskClient, widget_state: EventBuffer, token: str
) -> None:
    # when
    response = post_events(client, shop, token, [event("page_leave")])

    # then
    assert response.status_code == 401
    assert response.get_json()["code"] == "invalid_visitor_token"
    assert widget_state.pending() == 0


def test_events_without_a_token_are_400(
    shop: Shop, client: FlaskClient, widget_state: EventBuffer
) -> None:
    # when
    response = post_events(client, shop, "", [event("page_leave")])

    # then
    assert response.status_code == 400
    assert response.get_json()["detail"].startswith("visitor_token: ")
    assert widget_state.pending() == 0


def test_events_with_another_shops_token_are_401(
    shop: Shop, client: FlaskClient, widget_state: EventBuffer
) -> None:
    # given a token issued for another shop id
    token = issue_token(SECRET_KEY, shop.id + 1, new_public_id())

    # when
    response = post_events(client, shop, token, [event("page_leave")])

    # then
    assert response.status_code == 401
    assert widget_state.pending() == 0


def test_events_over_32_kb_are_413(
    shop: Shop, client: FlaskClient, widget_state: EventBuffer
) -> None:
    # given
    token = issue_token(SECRET_KEY, shop.id, new_public_id())
    long_url = "https://revisit-test.myshopify.com/search?q=" + "x" * 1900
    events = [event("page_leave", url=long_url) for _ in range(18)]

    # when
    response = post_events(client, shop, token, events)

    # then
    assert response.status_code == 413
    assert widget_state.pending() == 0


def test_events_from_a_foreign_origin_are_403(
    shop: Shop, client: FlaskClient, widget_state: EventBuffer
) -> None:
    # given
    token = issue_token(SECRET_KEY, shop.id, new_public_id())

    # when
    response = post_events(
        client, shop, token, [event("page_leave")], origin="https://evil.example"
    )

    # then
    assert response.status_code == 403
    assert widget_state.pending() == 0


@pytest.mark.parametrize(
    ("events", "field"),
    [
        ([], "events"),
        ([event("page_leave") for _ in range(51)], "events"),
        ("page_leave", "events"),
        ([event("page_view")], "events[0].type"),
        ([event("scroll")], "events[0].type"),
        ([{**event("page_leave"), "type": ["page_leave"]}], "events[0].type"),
        ([{"id": "6f1c2a8e0b7d", "at": "2026-12-03T10:00:00Z"}], "events[0].type"),
        (["page_leave"], "events[0]"),
        ([{**event("page_leave"), "id": "x"}], "events[0].id"),
        ([event("page_leave", at="2026-12-03T10:00:00")], "events[0].at"),
        ([event("page_leave", at="yesterday")], "events[0].at"),
        ([event("page_leave", url="ftp://shop/file")], "events[0].url"),
        ([event("page_leave", seconds_on_page=-1)], "events[0].seconds_on_page"),
        ([event("page_leave", seconds_on_page="42")], "events[0].seconds_on_page"),
        ([event("add_to_cart", quantity=1.5)], "events[0].quantity"),
        ([event("add_to_cart", product_id=[1])], "events[0].product_id"),
        (
            [event("add_to_cart", cart={**CART, "total_price": "12,90"})],
            "events[0].cart.total_price",
        ),
        (
            [event("add_to_cart", cart={**CART, "currency": "twd"})],
            "events[0].cart.currency",
        ),
        ([event("add_to_cart", cart={"item_count": 1})], "events[0].cart.token"),
        ([event("message_view")], "events[0].message_id"),
        ([event("message_click", message_id=0)], "events[0].message_id"),
        ([event("message_click", message_id=2**31)], "events[0].message_id"),
        ([event("page_leave", url="https://shop/\x00")], "events[0].url"),
        ([event("add_to_cart", product_id="12\x003")], "events[0].product_id"),
        (
            [event("add_to_cart", cart={**CART, "token": "c\x00t"})],
            "events[0].cart.token",
        ),
        ([event("page_leave", at="9999-12-31T23:59:59-23:59")], "events[0].at"),
        ([event("page_leave", at="0001-01-01T00:00:00+14:00")], "events[0].at"),
        ([event("page_leave"), {"type": "page_leave"}], "events[1].id"),
    ],
)
def test_events_malformed_field_is_400_naming_it(
    shop: Shop, client: FlaskClient, widget_state: EventBuffer, events, field: str
) -> None:
    # given
    token = issue_token(SECRET_KEY, shop.id, new_public_id())

    # when
    response = post_events(client, shop, token, events)

    # then
    answer = response.get_json()
    assert response.status_code == 400
    assert answer["code"] == "invalid_field"
    assert answer["detail"].startswith(f"{field}: ")
    assert widget_state.pending() == 0
