"""Messenger's m.me refs, both webhooks' checks, reachability and STOP."""

from __future__ import annotations

import json
import time
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from engine.binding import line_events, tokens
from engine.binding.models import ChannelDelivery
from engine.channels.registry import account_of
from engine.db import db
from engine.shops.models import Shop
from plugin.sandbox.line_platform import FakeLinePlatform
from plugin.sandbox.messenger_platform import FakeMessengerPlatform
from tests.binding.conftest import (
    LINE_CHANNEL,
    PAGE_ID,
    VERIFY_TOKEN,
    consent_through_line,
    visitor_token,
    widget_call,
)
from tests.binding.test_line import USER, bindings, callback, start
from tests.conftest import run_jobs

PSID = "7000000000000042"
OTHER_PSID = "7000000000000043"


def m_me(client: FlaskClient, shop: Shop, token: str) -> str:
    response = widget_call(
        client, shop, "start", token, channel="messenger", marketing=True
    )
    assert response.status_code == 200, response.get_json()
    return response.get_json()["url"]


def ref_of(url: str) -> str:
    return parse_qs(urlsplit(url).query)["ref"][0]


def deliveries() -> list[ChannelDelivery]:
    return list(db.session.scalars(select(ChannelDelivery)))


def test_m_me_ref_binds_in_a_new_thread(
    app: Flask,
    client: FlaskClient,
    binding_shop: Shop,
    messenger_fake: FakeMessengerPlatform,
) -> None:
    # given a visitor who pressed "Messenger"
    _, token = visitor_token(binding_shop)
    url = m_me(client, binding_shop, token)
    assert url.startswith(f"{messenger_fake.me_url}/{PAGE_ID}?ref=")
    assert len(ref_of(url)) <= 250

    # when they press "Get Started" in the new thread
    page = httpx.post(url, data={"psid": PSID, "ref": ref_of(url), "start": "1"})
    run_jobs(app)

    # then their page-scoped id is bound, its window open, and they are told
    assert page.status_code == 200
    [binding] = bindings(binding_shop)
    assert (binding.channel, binding.external_id, binding.bound_via) == (
        "messenger",
        PSID,
        "messenger_ref",
    )
    assert binding.last_inbound_at is not None
    [reply] = messenger_fake.delivered_to(PSID)
    assert reply.messages[0]["text"] == "Thanks! You'll hear from Tea House here."


def test_m_me_ref_binds_in_an_existing_thread(
    app: Flask,
    client: FlaskClient,
    binding_shop: Shop,
    messenger_fake: FakeMessengerPlatform,
) -> None:
    # given a shopper who already talks to the Page
    messenger_fake.user_sends_text(PAGE_ID, PSID, "hello")
    _, token = visitor_token(binding_shop)
    url = m_me(client, binding_shop, token)

    # when they open the m.me link (a messaging_referrals event)
    messenger_fake.open_thread(PAGE_ID, PSID, ref_of(url))
    run_jobs(app)

    # then they are bound
    assert [b.external_id for b in bindings(binding_shop)] == [PSID]


@pytest.mark.parametrize(
    ("spoil", "told"),
    [
        (lambda ref: ref[:-3] + "abc", "does not verify"),
        (lambda ref: "x" * 40, "does not verify"),
    ],
)
def test_m_me_bad_ref_binds_nothing(
    app: Flask,
    client: FlaskClient,
    binding_shop: Shop,
    messenger_fake: FakeMessengerPlatform,
    spoil,
    told: str,
) -> None:
    # given a ref someone altered
    _, token = visitor_token(binding_shop)
    ref = spoil(ref_of(m_me(client, binding_shop, token)))

    # when Messenger reports it
    messenger_fake.open_thread(PAGE_ID, PSID, ref)
    run_jobs(app)

    # then nothing is bound and the shopper is told why
    assert bindings(binding_shop) == []
    assert told in messenger_fake.delivered_to(PSID)[0].messages[0]["text"]


def test_m_me_expired_ref_binds_nothing(
    app: Flask,
    client: FlaskClient,
    binding_shop: Shop,
    messenger_fake: FakeMessengerPlatform,
    monkeypatch,
) -> None:
    # given a ref signed eleven minutes ago
    _, token = visitor_token(binding_shop)
    now = time.time()
    monkeypatch.setattr(time, "time", lambda: now - 11 * 60)
    ref = ref_of(m_me(client, binding_shop, token))
    monkeypatch.setattr(time, "time", lambda: now)

    # when it arrives
    messenger_fake.open_thread(PAGE_ID, PSID, ref)
    run_jobs(app)

    # then it is refused as expired
    assert bindings(binding_shop) == []
    assert "has expired" in messenger_fake.delivered_to(PSID)[0].messages[0]["text"]


def test_m_me_ref_replayed_by_another_shopper_is_refused(
    app: Flask,
    client: FlaskClient,
    binding_shop: Shop,
    messenger_fake: FakeMessengerPlatform,
) -> None:
    # given a ref that bound one shopper
    _, token = visitor_token(binding_shop)
    ref = ref_of(m_me(client, binding_shop, token))
    messenger_fake.open_thread(PAGE_ID, PSID, ref)
    run_jobs(app)

    # when a second shopper comes with the same ref
    messenger_fake.open_thread(PAGE_ID, OTHER_PSID, ref)
    run_jobs(app)

    # then only the first is bound
    assert [b.external_id for b in bindings(binding_shop)] == [PSID]
    assert (
        "already used" in messenger_fake.delivered_to(OTHER_PSID)[0].messages[0]["text"]
    )


def test_m_me_other_shops_ref_is_refused(
    app: Flask, binding_shop: Shop, messenger_fake: FakeMessengerPlatform
) -> None:
    # given a ref signed for another shop id
    ref = tokens.sign(
        tokens.MESSENGER_REF,
        tokens.Intent(binding_shop.id + 1, "v" * 22, True, "n" * 16),
    )

    # when it reaches this shop's Page
    messenger_fake.open_thread(PAGE_ID, PSID, ref)
    run_jobs(app)

    # then nothing is bound
    assert bindings(binding_shop) == []
    assert "another shop" in messenger_fake.delivered_to(PSID)[0].messages[0]["text"]


def test_messenger_webhook_refuses_a_bad_signature(
    client: FlaskClient, binding_shop: Shop
) -> None:
    # given a body signed with the wrong secret
    body = json.dumps({"object": "page", "entry": []}).encode()

    # when it is posted
    response = client.post(
        "/webhooks/messenger",
        data=body,
        headers={"X-Hub-Signature-256": "sha256=" + "0" * 64},
    )

    # then it is refused and nothing is recorded
    assert response.status_code == 401
    assert response.get_json()["code"] == "invalid_signature"
    assert deliveries() == []


def test_messenger_subscription_check(client: FlaskClient, binding_shop: Shop) -> None:
    # given Meta's subscription checks, with our token and with another
    ok = client.get(
        "/webhooks/messenger",
        query_string={
            "hub.mode": "subscribe",
            "hub.verify_token": VERIFY_TOKEN,
            "hub.challenge": "1158201444",
        },
    )
    wrong = client.get(
        "/webhooks/messenger",
        query_string={
            "hub.mode": "subscribe",
            "hub.verify_token": "guess",
            "hub.challenge": "1",
        },
    )

    # then only ours is answered with the challenge
    assert (ok.status_code, ok.get_data(as_text=True)) == (200, "1158201444")
    assert wrong.status_code == 403


def test_line_webhook_refuses_a_bad_signature(
    client: FlaskClient, binding_shop: Shop, line_fake: FakeLinePlatform
) -> None:
    # given a body and a signature made with another secret
    key = account_of(binding_shop.id, "line").line_webhook_key
    body = json.dumps({"events": [{"type": "follow"}]}).encode()

    # when they are posted, and a body to an unknown shop key
    forged = client.post(
        f"/webhooks/line/{key}", data=body, headers={"X-Line-Signature": "AAAA"}
    )
    unknown = client.post(
        "/webhooks/line/nope",
        data=body,
        headers={"X-Line-Signature": line_fake.sign_webhook(body, LINE_CHANNEL)},
    )

    # then both are refused and nothing is recorded
    assert (forged.status_code, forged.get_json()["code"]) == (401, "invalid_signature")
    assert unknown.status_code == 404
    assert deliveries() == []


@pytest.mark.parametrize("path", ["/webhooks/line/%00", "/binding/line/%00/callback"])
def test_line_address_with_a_key_no_account_could_have_is_404(
    client: FlaskClient, binding_shop: Shop, path: str
) -> None:
    # when a key arrives that no webhook or login address carries (a NUL,
    # which the database cannot even compare)
    response = client.post(path) if path.startswith("/webhooks") else client.get(path)

    # then
    assert response.status_code == 404
    assert deliveries() == []


def test_line_webhook_verification_ping_records_nothing(
    client: FlaskClient, binding_shop: Shop, line_fake: FakeLinePlatform
) -> None:
    # given LINE's "Verify" request: signed, with no events
    key = account_of(binding_shop.id, "line").line_webhook_key
    body = b'{"destination":"U0","events":[]}'

    # when it arrives
    response = client.post(
        f"/webhooks/line/{key}",
        data=body,
        headers={"X-Line-Signature": line_fake.sign_webhook(body, LINE_CHANNEL)},
    )

    # then it is answered 200 and nothing is recorded
    assert response.status_code == 200
    assert deliveries() == []


def test_line_webhook_body_nested_past_the_stack_is_400(
    client: FlaskClient, binding_shop: Shop, line_fake: FakeLinePlatform
) -> None:
    # given a signed body nested deeper than Python's recursion limit
    key = account_of(binding_shop.id, "line").line_webhook_key
    body = b"[" * 50_000 + b"]" * 50_000

    # when it arrives
    response = client.post(
        f"/webhooks/line/{key}",
        data=body,
        headers={"X-Line-Signature": line_fake.sign_webhook(body, LINE_CHANNEL)},
    )

    # then it is refused as JSON we cannot read, and nothing is recorded
    assert (response.status_code, response.get_json()["code"]) == (400, "invalid_json")
    assert deliveries() == []


def test_delivery_whose_rows_the_database_refuses_fails_with_its_error_kept(
    app: Flask,
    client: FlaskClient,
    binding_shop: Shop,
    line_fake: FakeLinePlatform,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given events whose handling adds a row the database refuses on write
    def add_unstorable(shop_id: int, payload: dict, delivery_id: int) -> None:
        db.session.add(ChannelDelivery(channel=None, body="{}"))

    monkeypatch.setattr(line_events, "apply", add_unstorable)
    key = account_of(binding_shop.id, "line").line_webhook_key
    body = json.dumps({"events": [{"type": "follow"}]}).encode()
    client.post(
        f"/webhooks/line/{key}",
        data=body,
        headers={"X-Line-Signature": line_fake.sign_webhook(body, LINE_CHANNEL)},
    )

    # when the worker tries it
    run_jobs(app)

    # then the attempt counted, with its error, and the body waits for a retry
    db.session.expire_all()
    [delivery] = deliveries()
    assert (delivery.status, delivery.attempts) == ("received", 1)
    assert delivery.error.startswith("IntegrityError: ")
    assert delivery.body == body.decode()


def _bound_on_line(app: Flask, client: FlaskClient, shop: Shop) -> str:
    _, token = visitor_token(shop)
    callback(
        client, consent_through_line(start(client, shop, token, "login")["url"], USER)
    )
    run_jobs(app)
    return token


def test_unfollow_and_follow_change_reachability(
    app: Flask, client: FlaskClient, binding_shop: Shop, line_fake: FakeLinePlatform
) -> None:
    # given a bound LINE friend
    _bound_on_line(app, client, binding_shop)

    # when they block the account, then follow it again
    line_fake.user_blocks(LINE_CHANNEL, USER)
    run_jobs(app)
    after_block = bindings(binding_shop)[0].reachable
    line_fake.user_follows(LINE_CHANNEL, USER)
    run_jobs(app)

    # then reachability follows
    assert after_block is False
    assert bindings(binding_shop)[0].reachable is True


def test_stop_keyword_unsubscribes_on_line(
    app: Flask, client: FlaskClient, binding_shop: Shop, line_fake: FakeLinePlatform
) -> None:
    # given a bound LINE friend
    token = _bound_on_line(app, client, binding_shop)

    # when they write STOP
    line_fake.user_sends_text(LINE_CHANNEL, USER, " Stop ")
    run_jobs(app)

    # then the account is unsubscribed, consent withdrawn, the widget offers LINE
    [binding] = bindings(binding_shop)
    assert binding.unsubscribed_at is not None
    assert binding.can_receive(binding.unsubscribed_at) is False
    assert widget_call(client, binding_shop, "status", token).get_json() == {
        "bound": []
    }


def test_stop_keyword_unsubscribes_on_messenger(
    app: Flask,
    client: FlaskClient,
    binding_shop: Shop,
    messenger_fake: FakeMessengerPlatform,
) -> None:
    # given a bound Messenger shopper
    _, token = visitor_token(binding_shop)
    messenger_fake.open_thread(PAGE_ID, PSID, ref_of(m_me(client, binding_shop, token)))
    run_jobs(app)

    # when they write 取消訂閱 ("unsubscribe")
    messenger_fake.user_sends_text(PAGE_ID, PSID, "取消訂閱")
    run_jobs(app)

    # then they are unsubscribed
    assert bindings(binding_shop)[0].unsubscribed_at is not None


def test_no_thanks_postback_snoozes(
    app: Flask, client: FlaskClient, binding_shop: Shop, line_fake: FakeLinePlatform
) -> None:
    # given a bound LINE friend
    _bound_on_line(app, client, binding_shop)

    # when they tap a reminder's "no thanks"
    line_fake.user_posts_back(LINE_CHANNEL, USER, "revisit.reminders.no_thanks")
    run_jobs(app)

    # then the account is snoozed, not unsubscribed
    [binding] = bindings(binding_shop)
    assert binding.snoozed_until is not None
    assert binding.unsubscribed_at is None


def test_ordinary_message_opens_messengers_window(
    app: Flask,
    client: FlaskClient,
    binding_shop: Shop,
    messenger_fake: FakeMessengerPlatform,
) -> None:
    # given a bound Messenger shopper
    _, token = visitor_token(binding_shop)
    messenger_fake.open_thread(PAGE_ID, PSID, ref_of(m_me(client, binding_shop, token)))
    run_jobs(app)
    first = bindings(binding_shop)[0].last_inbound_at

    # when they write an ordinary message a little later
    time.sleep(0.01)
    messenger_fake.user_sends_text(PAGE_ID, PSID, "Do you ship to Tainan?")
    run_jobs(app)

    # then the time of their last message moved on
    assert bindings(binding_shop)[0].last_inbound_at > first


def test_unbinding_from_the_widget_stops_reminders(
    app: Flask, client: FlaskClient, binding_shop: Shop
) -> None:
    # given a bound visitor
    token = _bound_on_line(app, client, binding_shop)

    # when they unbind LINE in the widget
    answer = widget_call(client, binding_shop, "unbind", token, channel="line")

    # then the binding is gone and nothing else is bound
    assert answer.get_json() == {"unbound": True, "bound": []}
    assert bindings(binding_shop) == []
