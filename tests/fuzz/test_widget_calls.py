"""Fuzzing the widget's other calls: the bonus game, binding and the chat.

Every call is checked the same way (size, JSON, widget key, origin, fields,
then the visitor token); a hostile value in any field is refused with a 4xx
in the one error shape and leaves every row and Redis key as it was. A
value that happens to be acceptable may be stored: it must then not be a
5xx either.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import pytest
from flask.testing import FlaskClient
from hypothesis import given, note
from hypothesis import strategies as st
from werkzeug.test import TestResponse

from engine.chat.images import MAX_BYTES as MAX_IMAGE_BYTES
from engine.shops.models import Shop
from engine.tracking.buffer import EventBuffer
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
)
from tests.widget_api import new_visitor, storefront

WIDGET = "/api/widget/v1"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
# Each call's own fields besides widget_key and visitor_token, valid.
CALLS: dict[str, Callable[[], dict[str, Any]]] = {
    "game/seen": lambda: {"collect_token": "ct." + uuid.uuid4().hex},
    "game/collect": lambda: {"collect_token": "ct." + uuid.uuid4().hex},
    "game/wallet": dict,
    "game/redeem": dict,
    "binding/offer": dict,
    "binding/dismiss": dict,
    "binding/start": lambda: {"channel": "line", "method": "login", "marketing": True},
    "binding/status": dict,
    "binding/unbind": lambda: {"channel": "messenger"},
    "binding/link": lambda: {
        "link_token": "lt-" + uuid.uuid4().hex,
        "marketing": False,
    },
    "chat/history": lambda: {"after": 0, "locale": "zh-TW"},
    "chat/messages": lambda: {
        "text": "Is the rope tug in stock?",
        "client_id": uuid.uuid4().hex,
        "locale": "en",
    },
    "chat/rating": lambda: {"score": 5},
}
CONTENT_TYPES = [
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=x",
    "text/html",
    "image/png",
    "application/xml",
]


@pytest.fixture
def token(client: FlaskClient, shop: Shop, widget_state: EventBuffer) -> str:
    token = new_visitor(client, shop)
    widget_state.take()
    return token


def body_for(call: str, shop: Shop, token: str) -> dict[str, Any]:
    return {"widget_key": shop.widget_key, "visitor_token": token, **CALLS[call]()}


def send(
    client: FlaskClient,
    shop: Shop,
    call: str,
    data: bytes | str,
    content_type: str = "text/plain;charset=UTF-8",
    origin: str | None = None,
) -> TestResponse:
    return client.post(
        f"{WIDGET}/{call}",
        data=data,
        headers={"Content-Type": content_type, "Origin": origin or storefront(shop)},
    )


@st.composite
def hostile_calls(draw: st.DrawFn) -> tuple[str, tuple, Any]:
    """(call, field, value): one field of a call's valid body made hostile."""
    call = draw(st.sampled_from(sorted(CALLS)))
    fields = ["widget_key", "visitor_token", *CALLS[call]()]
    field = draw(st.sampled_from(fields))
    return call, (field,), draw(hostile_values())


def _refused_cleanly_or_taken(
    response: TestResponse, before: dict[str, Any], field: str
) -> None:
    assert_answer_shape(response)
    if response.status_code < 400:
        return
    assert_unchanged(before)
    if response.get_json()["code"] == "invalid_field":
        assert_names_field(response, field)


def test_each_call_starts_from_a_body_it_takes(
    client: FlaskClient, shop: Shop, token: str
) -> None:
    for path in sorted(CALLS):
        # when
        response = send(client, shop, path, dumps(body_for(path, shop, token)))

        # then no field of it is refused: the fuzzing changes one at a time
        answer = response.get_json()
        assert answer.get("code") != "invalid_field", (path, answer)
        assert response.status_code < 500, (path, answer)


@FUZZ
@given(call=hostile_calls())
def test_widget_call_with_a_hostile_field_is_refused_cleanly_or_taken(
    client: FlaskClient, shop: Shop, token: str, call: tuple[str, tuple, Any]
) -> None:
    # given
    path, field, value = call
    body = with_value(body_for(path, shop, token), field, value)
    note(f"{path}: {dumps(body)[:500]}")
    before = stored_state()

    # when
    response = send(client, shop, path, dumps(body))

    # then
    _refused_cleanly_or_taken(response, before, field[0])


def test_every_widget_call_field_meets_every_nasty_value(
    client: FlaskClient, shop: Shop, token: str
) -> None:
    # given each call, each field, each nasty value
    server_errors = []
    for path in sorted(CALLS):
        for field in ["widget_key", "visitor_token", *CALLS[path]()]:
            for value in EVERY_NASTY_VALUE:
                body = with_value(body_for(path, shop, token), (field,), value)

                # when
                response = send(client, shop, path, dumps(body))

                # then
                if response.status_code >= 500:
                    server_errors.append((path, field, value))
                else:
                    assert_answer_shape(response)
    assert server_errors == []


@FUZZ
@given(call=st.sampled_from(sorted(CALLS)), data=random_bodies())
def test_widget_call_with_a_random_body_is_refused(
    client: FlaskClient, shop: Shop, call: str, data: bytes
) -> None:
    # given
    before = stored_state()

    # when
    response = send(client, shop, call, data)

    # then
    assert_refused_cleanly(response, before)


@FUZZ
@given(call=st.sampled_from(sorted(CALLS)), content_type=st.sampled_from(CONTENT_TYPES))
def test_widget_call_with_a_wrong_content_type_is_415(
    client: FlaskClient, shop: Shop, token: str, call: str, content_type: str
) -> None:
    # given
    before = stored_state()

    # when
    response = send(
        client, shop, call, dumps(body_for(call, shop, token)), content_type
    )

    # then
    assert response.status_code == 415
    assert response.get_json()["code"] == "unsupported_media_type"
    assert_refused_cleanly(response, before)


@FUZZ
@given(call=st.sampled_from(sorted(CALLS)), extra=st.integers(1, 2 * MAX_BODY))
def test_widget_call_over_32_kb_is_413(
    client: FlaskClient, shop: Shop, token: str, call: str, extra: int
) -> None:
    # given a valid body padded past the documented 32 KB
    data = dumps(body_for(call, shop, token))
    data += " " * (MAX_BODY - len(data) + extra)
    before = stored_state()

    # when
    response = send(client, shop, call, data)

    # then
    assert response.status_code == 413
    assert response.get_json() == {
        "detail": "The body is over 32 KB.",
        "code": "payload_too_large",
    }
    assert_refused_cleanly(response, before)


@FUZZ
@given(
    call=st.sampled_from(sorted(CALLS)),
    origin=st.sampled_from(
        ["null", "https://evil.example", "http://revisit-test.myshopify.com", ""]
    ),
)
def test_widget_call_from_another_origin_is_403(
    client: FlaskClient, shop: Shop, token: str, call: str, origin: str
) -> None:
    # given
    before = stored_state()

    # when
    response = client.post(
        f"{WIDGET}/{call}",
        data=dumps(body_for(call, shop, token)),
        headers={"Content-Type": "text/plain", "Origin": origin},
    )

    # then
    assert response.status_code == 403
    assert response.get_json()["code"] == "origin_not_allowed"
    assert_refused_cleanly(response, before)


# --- chat images: a query string and a raw body ----------------------------


def upload(
    client: FlaskClient,
    shop: Shop,
    query: dict[str, Any],
    data: bytes,
    content_type: str = "image/png",
) -> TestResponse:
    return client.post(
        f"{WIDGET}/chat/images?{urlencode(query)}",
        data=data,
        headers={"Content-Type": content_type, "Origin": storefront(shop)},
    )


@FUZZ
@given(
    field=st.sampled_from(["widget_key", "visitor_token", "client_id"]),
    value=st.one_of(
        st.sampled_from([v for v in EVERY_NASTY_VALUE if isinstance(v, str)]),
        st.text(max_size=80),
    ),
)
def test_image_upload_with_a_hostile_query_field_is_refused_cleanly_or_taken(
    client: FlaskClient, shop: Shop, token: str, field: str, value: str
) -> None:
    # given
    query = {
        "widget_key": shop.widget_key,
        "visitor_token": token,
        "client_id": uuid.uuid4().hex,
    }
    query[field] = value.encode("utf-8", "surrogatepass")
    before = stored_state()

    # when
    response = upload(client, shop, query, PNG)

    # then
    _refused_cleanly_or_taken(response, before, field)


@FUZZ
@given(
    data=st.one_of(
        st.binary(max_size=300),
        st.binary(max_size=100).map(lambda tail: PNG[:8] + tail),
        st.binary(max_size=100).map(lambda tail: b"\xff\xd8\xff" + tail),
    ),
    content_type=st.sampled_from(
        ["image/png", "image/jpeg", "image/svg+xml", "text/plain", "", "image/gif"]
    ),
)
def test_image_upload_of_any_bytes_is_refused_cleanly_or_taken(
    client: FlaskClient, shop: Shop, token: str, data: bytes, content_type: str
) -> None:
    # given
    query = {
        "widget_key": shop.widget_key,
        "visitor_token": token,
        "client_id": uuid.uuid4().hex,
    }
    before = stored_state()

    # when
    response = upload(client, shop, query, data, content_type)

    # then
    _refused_cleanly_or_taken(response, before, "image")


def test_image_over_its_documented_limit_is_413(
    client: FlaskClient, shop: Shop, token: str
) -> None:
    # given a PNG one byte over the chat's image limit
    query = {
        "widget_key": shop.widget_key,
        "visitor_token": token,
        "client_id": uuid.uuid4().hex,
    }
    data = PNG + b"\x00" * (MAX_IMAGE_BYTES + 1 - len(PNG))
    before = stored_state()

    # when
    response = upload(client, shop, query, data)

    # then
    assert response.status_code == 413
    assert response.get_json() == {
        "detail": f"An image may be at most {MAX_IMAGE_BYTES} bytes.",
        "code": "payload_too_large",
    }
    assert_refused_cleanly(response, before)


# --- the chat's stream: a query string and a header ------------------------


@FUZZ
@given(
    token=st.one_of(st.text(max_size=300), st.sampled_from(["", "a.b.c", "\x00"])),
    after=st.one_of(st.none(), st.text(max_size=30), st.sampled_from(["-1", "9" * 40])),
)
def test_chat_stream_with_a_token_that_does_not_verify_is_refused(
    client: FlaskClient, shop: Shop, token: str, after: str | None
) -> None:
    # given
    query = {"widget_key": shop.widget_key, "token": token}
    if after is not None:
        query["after"] = after
    before = stored_state()

    # when
    response = client.get(
        f"{WIDGET}/chat/stream",
        query_string=query,
        headers={"Origin": storefront(shop)},
    )

    # then
    assert response.status_code == 401, response.get_data(as_text=True)
    assert_refused_cleanly(response, before)


def test_widget_calls_cover_every_widget_route(client: FlaskClient) -> None:
    # given every POST route of the widget API but the page view and events
    routes = {
        rule.rule.removeprefix(f"{WIDGET}/")
        for rule in client.application.url_map.iter_rules()
        if rule.rule.startswith(WIDGET) and "POST" in rule.methods
    }

    # then each is fuzzed here or in test_widget_tracking
    assert routes == {*CALLS, "chat/images", "page", "events"}
