"""Fuzzing the widget's page views and events (``/api/widget/v1/page``, ``/events``).

A hostile value in any field is refused (400 naming the field, or 401/403/
404 for a key, token or origin) with nothing stored and nothing buffered; a
value that is accepted must also survive the drain into the database, since
an accepted event that no table can hold would be lost later, silently.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import given
from hypothesis import strategies as st
from werkzeug.test import TestResponse

from engine.runtime import current
from engine.shops.models import Shop
from engine.tracking.buffer import EventBuffer
from engine.tracking.drain import DEAD_KEY
from plugin.widget_api.routes import MAX_BODY
from tests.fuzz import (
    EVERY_NASTY_VALUE,
    FUZZ,
    assert_answer_shape,
    assert_names_field,
    assert_refused_cleanly,
    assert_unchanged,
    dumps,
    hostile_values,
    random_bodies,
    stored_state,
    with_value,
    without,
)
from tests.widget_api import EVENTS_PATH, PAGE_PATH, drain, new_visitor, storefront

PAGE_FIELDS = [
    ("widget_key",),
    ("visitor_token",),
    ("page",),
    ("page", "url"),
    ("page", "page_type"),
    ("page", "product_id"),
    ("page", "product_handle"),
    ("page", "referrer"),
    ("page", "title"),
    ("locale",),
    ("event_id",),
]
EVENT_FIELDS = [
    ("widget_key",),
    ("visitor_token",),
    ("events",),
    ("events", 0),
    ("events", 0, "id"),
    ("events", 0, "type"),
    ("events", 0, "at"),
    ("events", 0, "url"),
    ("events", 0, "seconds_on_page"),
    ("events", 0, "product_id"),
    ("events", 0, "variant_id"),
    ("events", 0, "quantity"),
    ("events", 0, "cart"),
    ("events", 0, "cart", "token"),
    ("events", 0, "cart", "total_price"),
    ("events", 0, "cart", "item_count"),
    ("events", 0, "cart", "currency"),
    ("events", 0, "message_id"),
]
# Refusals of a request's identity rather than of a field's value.
IDENTITY_CODES = {"unknown_widget_key", "invalid_visitor_token"}


def page_body(shop: Shop) -> dict[str, Any]:
    return {
        "widget_key": shop.widget_key,
        "visitor_token": None,
        "page": {
            "url": f"https://{shop.shop_domain}/products/chew-toy",
            "page_type": "product",
            "product_id": "123",
            "product_handle": "chew-toy",
            "referrer": "https://www.google.com/",
            "title": "Chew toy",
        },
        "locale": "zh-TW",
        "event_id": str(uuid.uuid4()),
    }


def events_body(shop: Shop, token: str) -> dict[str, Any]:
    return {
        "widget_key": shop.widget_key,
        "visitor_token": token,
        "events": [
            {
                "id": str(uuid.uuid4()),
                "type": "add_to_cart",
                "at": datetime.now(UTC).isoformat(),
                "url": f"https://{shop.shop_domain}/products/chew-toy",
                "seconds_on_page": 12,
                "product_id": "123",
                "variant_id": 456,
                "quantity": 2,
                "cart": {
                    "token": "cart-token-1",
                    "total_price": "1290.00",
                    "item_count": 2,
                    "currency": "TWD",
                },
                "message_id": None,
            }
        ],
    }


def send(
    client: FlaskClient,
    path: str,
    data: bytes | str,
    origin: str | None,
    content_type: str = "text/plain;charset=UTF-8",
) -> TestResponse:
    headers = {"Content-Type": content_type}
    if origin is not None:
        headers["Origin"] = origin
    return client.post(path, data=data, headers=headers)


@pytest.fixture
def token(client: FlaskClient, shop: Shop, widget_state: EventBuffer) -> str:
    token = new_visitor(client, shop)
    widget_state.take()
    return token


def _refused_or_accepted(
    response: TestResponse, before: dict, buffer: EventBuffer, field: str
) -> None:
    """A refusal that stored and buffered nothing, naming its field; or a 2xx."""
    assert_answer_shape(response)
    if response.status_code >= 400:
        assert_unchanged(before)
        assert buffer.pending() == 0
        if response.get_json()["code"] == "invalid_field":
            assert_names_field(response, field)


def _assert_everything_accepted_was_written(app: Flask, buffer: EventBuffer) -> None:
    if not buffer.pending():
        return
    drain(app)
    dead = current().redis.lrange(DEAD_KEY, 0, -1)
    assert dead == [], [json.loads(chunk) for chunk in dead]


def test_fuzzing_starts_from_bodies_the_calls_take(
    client: FlaskClient, shop: Shop, token: str
) -> None:
    # when
    page = send(client, PAGE_PATH, dumps(page_body(shop)), storefront(shop))
    events = send(
        client, EVENTS_PATH, dumps(events_body(shop, token)), storefront(shop)
    )

    # then each field is changed from a value that is taken
    assert page.status_code == 200, page.get_json()
    assert (events.status_code, events.data) == (202, b"")


@FUZZ
@given(field=st.sampled_from(PAGE_FIELDS), value=hostile_values())
def test_page_view_with_a_hostile_field_is_refused_or_stored(
    app: Flask,
    client: FlaskClient,
    shop: Shop,
    widget_state: EventBuffer,
    field: tuple,
    value: Any,
) -> None:
    # given
    body = with_value(page_body(shop), field, value)
    before = stored_state()

    # when
    response = send(client, PAGE_PATH, dumps(body), storefront(shop))

    # then
    _refused_or_accepted(response, before, widget_state, field[-1])
    _assert_everything_accepted_was_written(app, widget_state)


@FUZZ
@given(field=st.sampled_from(EVENT_FIELDS), value=hostile_values())
def test_event_with_a_hostile_field_is_refused_or_stored(
    app: Flask,
    client: FlaskClient,
    shop: Shop,
    token: str,
    widget_state: EventBuffer,
    field: tuple,
    value: Any,
) -> None:
    # given
    body = with_value(events_body(shop, token), field, value)
    before = stored_state()

    # when
    response = send(client, EVENTS_PATH, dumps(body), storefront(shop))

    # then
    _refused_or_accepted(response, before, widget_state, str(field[-1]))
    _assert_everything_accepted_was_written(app, widget_state)


def test_every_field_meets_every_nasty_value(
    app: Flask,
    client: FlaskClient,
    shop: Shop,
    token: str,
    widget_state: EventBuffer,
) -> None:
    # given
    calls = [(PAGE_PATH, page_body(shop), field) for field in PAGE_FIELDS]
    calls += [(EVENTS_PATH, events_body(shop, token), field) for field in EVENT_FIELDS]
    before = stored_state()

    for path, body, field in calls:
        for value in EVERY_NASTY_VALUE:
            pending = widget_state.pending()

            # when
            response = send(
                client, path, dumps(with_value(body, field, value)), storefront(shop)
            )

            # then
            assert_answer_shape(response)
            if response.status_code >= 400:
                assert widget_state.pending() == pending, (field, value)

    # and neither call writes a row itself; what they accepted drains whole
    assert_unchanged(before)
    _assert_everything_accepted_was_written(app, widget_state)


@FUZZ
@given(
    path=st.sampled_from([PAGE_PATH, EVENTS_PATH]),
    field=st.sampled_from(["widget_key", "visitor_token", "page", "events"]),
)
def test_widget_call_missing_a_field_is_refused(
    client: FlaskClient,
    shop: Shop,
    token: str,
    widget_state: EventBuffer,
    path: str,
    field: str,
) -> None:
    # given
    body = page_body(shop) if path == PAGE_PATH else events_body(shop, token)
    if field not in body or (field, path) == ("visitor_token", PAGE_PATH):
        return
    before = stored_state()

    # when
    response = send(client, path, dumps(without(body, (field,))), storefront(shop))

    # then
    assert response.status_code == 400, response.get_json()
    assert_refused_cleanly(response, before)
    assert widget_state.pending() == 0
    assert_names_field(response, field)


@FUZZ
@given(path=st.sampled_from([PAGE_PATH, EVENTS_PATH]), data=random_bodies())
def test_widget_call_with_a_random_body_is_refused(
    client: FlaskClient,
    shop: Shop,
    widget_state: EventBuffer,
    path: str,
    data: bytes,
) -> None:
    # given
    before = stored_state()

    # when
    response = send(client, path, data, storefront(shop))

    # then
    assert_refused_cleanly(response, before)
    assert widget_state.pending() == 0


@FUZZ
@given(
    path=st.sampled_from([PAGE_PATH, EVENTS_PATH]),
    content_type=st.sampled_from(
        [
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=x",
            "text/html",
            "image/png",
            "application/xml",
            "text/plain\x00",
            "ünïcode/type",
        ]
    ),
)
def test_widget_call_with_a_wrong_content_type_is_refused(
    client: FlaskClient,
    shop: Shop,
    widget_state: EventBuffer,
    path: str,
    content_type: str,
) -> None:
    # given
    before = stored_state()

    # when
    response = send(
        client, path, dumps(page_body(shop)), storefront(shop), content_type
    )

    # then
    assert response.status_code == 415, response.get_json()
    assert response.get_json()["code"] == "unsupported_media_type"
    assert_refused_cleanly(response, before)
    assert widget_state.pending() == 0


@FUZZ
@given(
    path=st.sampled_from([PAGE_PATH, EVENTS_PATH]),
    extra=st.integers(1, 3 * MAX_BODY),
)
def test_widget_call_over_32_kb_is_refused_with_413(
    client: FlaskClient,
    shop: Shop,
    token: str,
    widget_state: EventBuffer,
    path: str,
    extra: int,
) -> None:
    # given a valid body padded past the documented 32 KB
    body = page_body(shop) if path == PAGE_PATH else events_body(shop, token)
    data = dumps(body)
    data += " " * (MAX_BODY - len(data) + extra)
    before = stored_state()

    # when
    response = send(client, path, data, storefront(shop))

    # then
    assert response.status_code == 413
    assert response.get_json() == {
        "detail": "The body is over 32 KB.",
        "code": "payload_too_large",
    }
    assert_refused_cleanly(response, before)
    assert widget_state.pending() == 0


@FUZZ
@given(
    path=st.sampled_from([PAGE_PATH, EVENTS_PATH]),
    origin=st.one_of(
        st.none(),
        st.sampled_from(
            ["null", "https://evil.example", "http://revisit-test.myshopify.com"]
        ),
        st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=40),
    ),
)
def test_widget_call_from_another_origin_is_refused(
    client: FlaskClient,
    shop: Shop,
    token: str,
    widget_state: EventBuffer,
    path: str,
    origin: str | None,
) -> None:
    # given
    if origin is not None and origin.lower() == storefront(shop):
        return
    body = page_body(shop) if path == PAGE_PATH else events_body(shop, token)
    before = stored_state()

    # when
    response = send(client, path, dumps(body), origin)

    # then
    assert response.status_code == 403, response.get_json()
    assert response.get_json()["code"] == "origin_not_allowed"
    assert_refused_cleanly(response, before)
    assert widget_state.pending() == 0
