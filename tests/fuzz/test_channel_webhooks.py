"""Fuzzing LINE's and Messenger's webhooks: signed events of any shape.

LINE signs with the shop's channel secret (``X-Line-Signature``), Messenger
with the app secret (``X-Hub-Signature-256``). A signed delivery of hostile
shape is recorded and then applied or failed safely in its job, with its
error kept; an honest delivery recorded beside it is applied in the same
worker run. Anything unsigned, or signed with another secret, is refused
with 401 and stores nothing.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import given, note
from hypothesis import strategies as st
from sqlalchemy import select
from werkzeug.test import TestResponse

from engine.binding.inbound import MAX_ATTEMPTS, apply_channel_delivery
from engine.binding.models import ChannelDelivery
from engine.channels.accounts import connect_line, connect_messenger
from engine.db import db
from engine.shops.models import Shop
from plugin.sandbox.line_platform import FakeLinePlatform
from plugin.sandbox.messenger_platform import FakeMessengerPlatform
from tests.conftest import run_jobs
from tests.fuzz import (
    FUZZ,
    FUZZ_WITH_WORKER,
    HEADER_TEXT,
    assert_answer_shape,
    assert_refused_cleanly,
    field_paths,
    hostile_values,
    random_bodies,
    stored_state,
    with_value,
)
from tests.fuzz.conftest import MESSENGER_APP_SECRET

LINE_CHANNEL = "2000000001"
LINE_SECRET = "line-channel-secret-fuzz-0123456789"
LINE_TOKEN = "line-access-token-fuzz-0123456789"
PAGE_ID = "100000000000001"
PAGE_TOKEN = "page-access-token-fuzz-0123456789"
USER = "U" + "0123456789abcdef" * 2
PSID = "24000000000000001"
MAX_BODY = 2 * 1024 * 1024


def line_event(kind: str) -> dict[str, Any]:
    return {
        "type": kind,
        "mode": "active",
        "timestamp": int(time.time() * 1000),
        "webhookEventId": uuid.uuid4().hex,
        "source": {"type": "user", "userId": USER},
        "replyToken": uuid.uuid4().hex,
        "message": {"id": "4700", "type": "text", "text": "Is the tea in stock?"},
        "postback": {"data": "action=no_thanks"},
        "link": {"result": "ok", "nonce": "bm9uY2U"},
    }


def messenger_event() -> dict[str, Any]:
    return {
        "sender": {"id": PSID},
        "recipient": {"id": PAGE_ID},
        "timestamp": int(time.time() * 1000),
        "message": {
            "mid": "m_" + uuid.uuid4().hex,
            "text": "Is the tea in stock?",
            "quick_reply": {"payload": "NO_THANKS"},
            "attachments": [{"type": "image", "payload": {"url": "https://x/y.png"}}],
        },
        "postback": {"payload": "RATE_5", "referral": {"ref": "r_abc"}},
        "referral": {"ref": "r_abc", "source": "SHORTLINK"},
    }


def messenger_body(event: dict[str, Any]) -> dict[str, Any]:
    return {
        "object": "page",
        "entry": [
            {"id": PAGE_ID, "time": int(time.time() * 1000), "messaging": [event]}
        ],
    }


LINE_PATHS = field_paths({"destination": "U1", "events": [line_event("message")]})
MESSENGER_PATHS = field_paths(messenger_body(messenger_event()))


@pytest.fixture
def line_key(shop: Shop, line_fake: FakeLinePlatform) -> str:
    """The shop's LINE channel, connected; its webhook URL's key."""
    account = connect_line(shop, LINE_CHANNEL, LINE_SECRET, LINE_TOKEN)
    db.session.commit()
    line_fake.add_channel(LINE_CHANNEL, LINE_TOKEN, LINE_SECRET)
    return account.line_webhook_key


@pytest.fixture
def page(shop: Shop, messenger_fake: FakeMessengerPlatform) -> str:
    connect_messenger(shop, PAGE_ID, PAGE_TOKEN)
    db.session.commit()
    messenger_fake.add_page(PAGE_ID, PAGE_TOKEN)
    return PAGE_ID


def post_line(
    client: FlaskClient, key: str, body: bytes, signature: str | None = None
) -> TestResponse:
    digest = hmac.new(LINE_SECRET.encode(), body, hashlib.sha256).digest()
    sent = base64.b64encode(digest).decode() if signature is None else signature
    return client.post(
        f"/webhooks/line/{key}",
        data=body,
        headers={"X-Line-Signature": sent, "Content-Type": "application/json"},
    )


def post_messenger(
    client: FlaskClient, body: bytes, signature: str | None = None
) -> TestResponse:
    digest = hmac.new(MESSENGER_APP_SECRET.encode(), body, hashlib.sha256)
    sent = f"sha256={digest.hexdigest()}" if signature is None else signature
    return client.post(
        "/webhooks/messenger",
        data=body,
        headers={"X-Hub-Signature-256": sent, "Content-Type": "application/json"},
    )


def _deliveries() -> list[ChannelDelivery]:
    db.session.expire_all()
    return list(
        db.session.scalars(select(ChannelDelivery).order_by(ChannelDelivery.id))
    )


def _assert_each_applied_or_failed_safely(known: set[int], honest_id: int) -> None:
    """The honest delivery was applied; a hostile one that failed kept its
    body and error, and ends ``failed`` once its attempts run out."""
    for delivery in _deliveries():
        if delivery.id in known:
            continue
        if delivery.id == honest_id or delivery.status == "applied":
            assert (delivery.status, delivery.body) == ("applied", None), delivery.error
            continue
        assert delivery.error and delivery.body, (delivery.status, delivery.attempts)
        for _ in range(MAX_ATTEMPTS):
            try:
                apply_channel_delivery(delivery.id)
            except Exception:
                # The job raises for RQ to see; the delivery keeps the error.
                db.session.rollback()
        ended = db.session.get(ChannelDelivery, delivery.id)
        db.session.refresh(ended)
        assert (ended.status, ended.attempts) == ("failed", MAX_ATTEMPTS)
        assert ended.error and ended.body


@st.composite
def hostile_line_bodies(draw: st.DrawFn) -> bytes:
    if draw(st.integers(0, 3)) == 0:
        return draw(random_bodies())
    kind = draw(st.sampled_from(["message", "postback", "follow", "unfollow"]))
    body = {"destination": "U1", "events": [line_event(kind)]}
    if kind == "message" and draw(st.booleans()):
        body["events"][0]["message"]["type"] = "image"
    path = draw(st.sampled_from(LINE_PATHS))
    return json.dumps(with_value(body, path, draw(hostile_values()))).encode()


@st.composite
def hostile_messenger_bodies(draw: st.DrawFn) -> bytes:
    if draw(st.integers(0, 3)) == 0:
        return draw(random_bodies())
    event = messenger_event()
    for part in ("message", "postback", "referral"):
        if draw(st.booleans()):
            del event[part]
    body = messenger_body(event)
    path = draw(st.sampled_from([p for p in MESSENGER_PATHS if _present(body, p)]))
    return json.dumps(with_value(body, path, draw(hostile_values()))).encode()


def _is_utf8(body: bytes) -> bool:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _present(body: Any, path: tuple) -> bool:
    for step in path:
        if isinstance(body, dict) and step in body:
            body = body[step]
        elif isinstance(body, list) and isinstance(step, int) and step < len(body):
            body = body[step]
        else:
            return False
    return True


@FUZZ_WITH_WORKER
@given(body=hostile_line_bodies())
def test_signed_hostile_line_delivery_is_applied_or_fails_safely(
    app: Flask, client: FlaskClient, shop: Shop, line_key: str, body: bytes
) -> None:
    # given a hostile delivery, signed, and an honest follow behind it
    note(repr(body[:2000]))
    known = {delivery.id for delivery in _deliveries()}

    # when
    response = post_line(client, line_key, body)
    honest = json.dumps({"destination": "U1", "events": [line_event("follow")]})
    assert post_line(client, line_key, honest.encode()).status_code == 200
    honest_id = max(delivery.id for delivery in _deliveries())
    run_jobs(app)

    # then
    assert_answer_shape(response)
    if response.status_code >= 400:
        # A body that is not UTF-8 is checked as text, so its signature fails.
        code = "invalid_json" if _is_utf8(body) else "invalid_signature"
        assert response.get_json()["code"] == code
        known.add(honest_id)
        assert [d.id for d in _deliveries() if d.id not in known] == []
        return
    _assert_each_applied_or_failed_safely(known, honest_id)


@FUZZ_WITH_WORKER
@given(body=hostile_messenger_bodies())
def test_signed_hostile_messenger_delivery_is_applied_or_fails_safely(
    app: Flask, client: FlaskClient, shop: Shop, page: str, body: bytes
) -> None:
    # given
    note(repr(body[:2000]))
    known = {delivery.id for delivery in _deliveries()}

    # when
    response = post_messenger(client, body)
    honest = json.dumps(messenger_body(messenger_event())).encode()
    assert post_messenger(client, honest).status_code == 200
    honest_id = max(delivery.id for delivery in _deliveries())
    run_jobs(app)

    # then
    assert_answer_shape(response)
    assert response.status_code == 200
    _assert_each_applied_or_failed_safely(known, honest_id)


@FUZZ
@given(
    channel=st.sampled_from(["line", "messenger"]),
    data=random_bodies(),
    signature=st.one_of(
        st.just(""),
        HEADER_TEXT,
        st.binary(min_size=32, max_size=32).map(lambda raw: raw.hex()),
        st.binary(min_size=32, max_size=32).map(lambda raw: "sha256=" + raw.hex()),
    ),
)
def test_badly_signed_channel_delivery_is_refused_with_401(
    client: FlaskClient,
    shop: Shop,
    line_key: str,
    page: str,
    channel: str,
    data: bytes,
    signature: str,
) -> None:
    # given
    before = stored_state()

    # when
    if channel == "line":
        response = post_line(client, line_key, data, signature)
    else:
        response = post_messenger(client, data, signature)

    # then
    assert response.status_code == 401, response.get_data(as_text=True)
    assert response.get_json()["code"] == "invalid_signature"
    assert_refused_cleanly(response, before)


@FUZZ
@given(key=st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=80))
def test_line_delivery_to_an_unknown_key_is_404(
    client: FlaskClient, shop: Shop, line_key: str, key: str
) -> None:
    # given
    key = key.replace("/", "").replace("?", "").replace("#", "").replace("%", "")
    if not key or key == line_key:
        return
    before = stored_state()

    # when
    response = post_line(client, key, b'{"events": []}')

    # then
    assert response.status_code in (404, 405), response.get_data(as_text=True)
    assert_refused_cleanly(response, before)


@FUZZ
@given(
    mode=st.one_of(st.none(), st.just("subscribe"), HEADER_TEXT),
    token=st.one_of(st.none(), HEADER_TEXT),
    challenge=st.one_of(st.none(), HEADER_TEXT),
)
def test_messenger_subscription_check_with_a_wrong_token_is_403(
    client: FlaskClient,
    shop: Shop,
    mode: str | None,
    token: str | None,
    challenge: str | None,
) -> None:
    # given (the fuzz settings give the app no verify token to match)
    query = {
        name: value
        for name, value in (
            ("hub.mode", mode),
            ("hub.verify_token", token),
            ("hub.challenge", challenge),
        )
        if value is not None
    }
    before = stored_state()

    # when
    response = client.get("/webhooks/messenger", query_string=query)

    # then
    assert response.status_code == 403
    assert response.get_json()["code"] == "invalid_verify_token"
    assert_refused_cleanly(response, before)


@FUZZ
@given(channel=st.sampled_from(["line", "messenger"]), extra=st.integers(1, 256 * 1024))
def test_signed_channel_delivery_over_2_mb_is_413(
    client: FlaskClient, shop: Shop, line_key: str, page: str, channel: str, extra: int
) -> None:
    # given a signed body past the app's documented 2 MB limit
    body = json.dumps(messenger_body(messenger_event())).encode()
    body += b" " * (MAX_BODY - len(body) + extra)
    before = stored_state()

    # when
    if channel == "line":
        response = post_line(client, line_key, body)
    else:
        response = post_messenger(client, body)

    # then
    assert response.status_code == 413, response.get_json()
    assert_refused_cleanly(response, before)
