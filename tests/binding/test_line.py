"""LINE, three ways in: LINE Login, the one-time code, the account link."""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlsplit

import httpx
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from engine.binding import tokens
from engine.binding.funnel import funnel_of
from engine.binding.models import ChannelBinding, ConsentRecord
from engine.db import db
from engine.shops.models import Shop
from plugin.sandbox.line_platform import FakeLinePlatform
from tests.binding.conftest import (
    LINE_CHANNEL,
    consent_through_line,
    visitor_token,
    widget_call,
)
from tests.conftest import OTHER_SHOP_DOMAIN, install_shop, run_jobs

USER = "U" + "a" * 32
OTHER_USER = "U" + "b" * 32


def bindings(shop: Shop) -> list[ChannelBinding]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            select(ChannelBinding)
            .where(ChannelBinding.shop_id == shop.id)
            .order_by(ChannelBinding.id)
        )
    )


def start(client: FlaskClient, shop: Shop, token: str, method: str) -> dict:
    response = widget_call(
        client, shop, "start", token, channel="line", method=method, marketing=True
    )
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def callback(client: FlaskClient, url: str):  # noqa: ANN201
    parts = urlsplit(url)
    return client.get(f"{parts.path}?{parts.query}")


def test_line_login_binds_the_visitor_and_adds_the_friend(
    app: Flask, client: FlaskClient, binding_shop: Shop, line_fake: FakeLinePlatform
) -> None:
    # given a visitor who pressed "LINE" with the consent box ticked
    public_id, token = visitor_token(binding_shop)
    started = start(client, binding_shop, token, "login")
    query = parse_qs(urlsplit(started["url"]).query)
    assert query["bot_prompt"] == ["aggressive"]
    assert query["scope"] == ["profile openid"]

    # when they allow LINE Login and add the account as a friend
    page = callback(client, consent_through_line(started["url"], USER))
    run_jobs(app)

    # then the visitor is bound, reachable, with the consent recorded
    assert page.status_code == 200
    assert "Connected to LINE" in page.get_data(as_text=True)
    [binding] = bindings(binding_shop)
    assert (binding.external_id, binding.reachable, binding.marketing_consent) == (
        USER,
        True,
        True,
    )
    assert binding.bound_via == "line_login"
    [consent] = db.session.scalars(select(ConsentRecord)).all()
    assert (consent.action, consent.marketing, consent.channel) == (
        "granted",
        True,
        "line",
    )
    assert line_fake.is_friend(LINE_CHANNEL, USER)
    [line, _] = funnel_of(binding_shop)
    assert (line.clicked, line.bound) == (1, 1)
    status = widget_call(client, binding_shop, "status", token)
    assert status.get_json() == {"bound": ["line"]}


def test_line_login_without_the_friend_is_bound_unreachable(
    client: FlaskClient, binding_shop: Shop
) -> None:
    # given a visitor going through LINE Login
    _, token = visitor_token(binding_shop)
    started = start(client, binding_shop, token, "login")

    # when they decline the add-friend step
    callback(client, consent_through_line(started["url"], USER, add_friend=False))

    # then the binding exists but pushes would not reach them
    [binding] = bindings(binding_shop)
    assert binding.reachable is False


def test_line_login_refuses_a_tampered_state(
    client: FlaskClient, binding_shop: Shop
) -> None:
    # given a state someone edited
    _, token = visitor_token(binding_shop)
    started = start(client, binding_shop, token, "login")
    url = consent_through_line(started["url"], USER)
    state = parse_qs(urlsplit(url).query)["state"][0]

    # when the callback arrives with it
    page = callback(client, url.replace(state, state[:-2] + "xx"))

    # then nothing is bound and the page says why
    assert page.status_code == 400
    assert "does not verify" in page.get_data(as_text=True)
    assert bindings(binding_shop) == []


def test_line_login_refuses_a_replayed_callback(
    client: FlaskClient, binding_shop: Shop
) -> None:
    # given a completed login
    _, token = visitor_token(binding_shop)
    url = consent_through_line(start(client, binding_shop, token, "login")["url"], USER)
    assert callback(client, url).status_code == 200

    # when the same callback URL is opened again
    page = callback(client, url)

    # then it is refused and the one binding stays as it was
    assert page.status_code == 400
    assert "already used" in page.get_data(as_text=True)
    assert len(bindings(binding_shop)) == 1


def test_line_login_refuses_an_expired_state(
    client: FlaskClient, binding_shop: Shop, monkeypatch
) -> None:
    # given a login whose state was signed eleven minutes ago
    _, token = visitor_token(binding_shop)
    now = time.time()
    monkeypatch.setattr(time, "time", lambda: now - 11 * 60)
    started = start(client, binding_shop, token, "login")
    monkeypatch.setattr(time, "time", lambda: now)

    # when the shopper comes back
    page = callback(client, consent_through_line(started["url"], USER))

    # then nothing is bound
    assert page.status_code == 400
    assert "has expired" in page.get_data(as_text=True)
    assert bindings(binding_shop) == []


def test_line_login_refuses_another_shops_state(
    client: FlaskClient, binding_shop: Shop, platform
) -> None:
    # given a state issued for another shop
    other = install_shop(client, platform, OTHER_SHOP_DOMAIN)
    other_public_id = "o" * 22
    forged = tokens.sign(
        tokens.LOGIN_STATE, tokens.Intent(other.id, other_public_id, True, "n" * 16)
    )
    _, token = visitor_token(binding_shop)
    url = consent_through_line(start(client, binding_shop, token, "login")["url"], USER)
    state = parse_qs(urlsplit(url).query)["state"][0]

    # when it comes back to this shop's callback
    page = callback(client, url.replace(state, forged))

    # then it is refused as another shop's
    assert page.status_code == 400
    assert "another shop" in page.get_data(as_text=True)
    assert bindings(binding_shop) == []


def test_line_login_cancelled_binds_nothing(
    client: FlaskClient, binding_shop: Shop, live_app: str
) -> None:
    # given LINE sending the shopper back after "Cancel"
    _, token = visitor_token(binding_shop)
    started = start(client, binding_shop, token, "login")
    state = parse_qs(urlsplit(started["url"]).query)["state"][0]
    key = urlsplit(parse_qs(urlsplit(started["url"]).query)["redirect_uri"][0]).path

    # when the callback reports the refusal
    page = client.get(f"{key}?error=access_denied&state={state}")

    # then nothing is bound
    assert page.status_code == 400
    assert bindings(binding_shop) == []


def test_one_time_code_binds_when_it_arrives_by_message(
    app: Flask, client: FlaskClient, binding_shop: Shop, line_fake: FakeLinePlatform
) -> None:
    # given a desktop visitor shown a QR code with a one-time code
    public_id, token = visitor_token(binding_shop)
    started = start(client, binding_shop, token, "code")
    assert started["qr"].startswith("data:image/svg+xml")
    assert "/R/oaMessage/%40revisit-test/?Link%20my%20account" in started["url"]

    # when the phone sends the pre-filled message to the account
    assert (
        line_fake.user_sends_text(
            LINE_CHANNEL, USER, f"Link my account: {started['code']}"
        )
        == 200
    )
    run_jobs(app)

    # then that LINE user is bound, and told so in the chat
    [binding] = bindings(binding_shop)
    assert (binding.external_id, binding.bound_via) == (USER, "line_code")
    [reply] = line_fake.delivered_to(USER)
    assert (
        reply.messages[0]["text"]
        == "Thanks! Your LINE account is now linked to Tea House."
    )


def test_one_time_code_used_by_another_account_is_refused(
    app: Flask, client: FlaskClient, binding_shop: Shop, line_fake: FakeLinePlatform
) -> None:
    # given a code already used by one LINE user
    _, token = visitor_token(binding_shop)
    code = start(client, binding_shop, token, "code")["code"]
    line_fake.user_sends_text(LINE_CHANNEL, USER, code)
    run_jobs(app)

    # when another LINE user sends the same code
    line_fake.user_sends_text(LINE_CHANNEL, OTHER_USER, code)
    run_jobs(app)

    # then only the first is bound; the second is told the code was used
    assert [b.external_id for b in bindings(binding_shop)] == [USER]
    [reply] = line_fake.delivered_to(OTHER_USER)
    assert reply.messages[0]["text"] == (
        "The one-time code was already used. Nothing was linked."
    )


def test_unknown_code_binds_nothing(
    app: Flask, binding_shop: Shop, line_fake: FakeLinePlatform
) -> None:
    # given a code we never issued
    # when it arrives by message
    line_fake.user_sends_text(LINE_CHANNEL, USER, "RV-ABCDEFGH")
    run_jobs(app)

    # then nothing is bound
    assert bindings(binding_shop) == []


def test_account_link_with_a_link_token_that_is_not_ascii_is_400(
    client: FlaskClient, binding_shop: Shop
) -> None:
    # given a visitor
    _, token = visitor_token(binding_shop)

    # when the widget asks for LINE's dialog with a token LINE never issues
    answer = widget_call(
        client, binding_shop, "link", token, link_token="\ud800", marketing=True
    )

    # then it is refused and nothing is bound
    assert answer.status_code == 400
    assert answer.get_json()["code"] == "tampered_token"
    assert bindings(binding_shop) == []


def test_account_link_binds_a_shopper_who_starts_in_the_chat(
    app: Flask, client: FlaskClient, binding_shop: Shop, line_fake: FakeLinePlatform
) -> None:
    # given a LINE user asking to link from the chat
    line_fake.user_sends_text(LINE_CHANNEL, USER, "link")
    run_jobs(app)
    [invite] = line_fake.delivered_to(USER)
    button_url = invite.messages[0]["quickReply"]["items"][0]["action"]["uri"]
    link_token = parse_qs(urlsplit(button_url).query)["revisit_link"][0]

    # when the storefront's widget asks for LINE's dialog and they confirm
    _, token = visitor_token(binding_shop)
    answer = widget_call(
        client, binding_shop, "link", token, link_token=link_token, marketing=True
    )
    dialog = answer.get_json()["url"]
    query = parse_qs(urlsplit(dialog).query)
    page = httpx.post(
        dialog.split("?")[0],
        data={"linkToken": query["linkToken"][0], "nonce": query["nonce"][0]},
    )
    run_jobs(app)

    # then the LINE user is bound to that visitor
    assert "linked" in page.text
    [binding] = bindings(binding_shop)
    assert (binding.external_id, binding.bound_via) == (USER, "line_account_link")
