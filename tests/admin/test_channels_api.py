"""Channel settings: checked against the platforms before saving, secrets write-only."""

from __future__ import annotations

from dataclasses import replace

import pytest
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from engine.binding.messenger_events import shop_of_page
from engine.channels.accounts import connect_messenger
from engine.channels.registry import account_of
from engine.db import db, utcnow
from engine.runtime import current
from engine.shops.models import Shop
from plugin.sandbox.shopify_platform import FakeShopifyPlatform
from tests.admin import HTTPS, bearer, member, sign_in
from tests.conftest import APP_URL, OTHER_SHOP_DOMAIN, install_shop

CHANNEL_ID = "2000000001"
SECRET = "0123456789abcdef0123456789abcdef"
TOKEN = "line-long-lived-token-0123456789"
ME = "U" + "a" * 32
PAGE_ID = "100000000000001"
PAGE_TOKEN = "page-access-token-0123456789"
LOGIN_ID = "2000000099"
LOGIN_SECRET = "fedcba9876543210fedcba9876543210"
BASIC_ID = "@123abcde"


def _line_body(**changes: object) -> dict:
    return {
        "channel_id": CHANNEL_ID,
        "channel_secret": SECRET,
        "channel_access_token": TOKEN,
        "test_recipient_id": ME,
        "login_channel_id": LOGIN_ID,
        "login_channel_secret": LOGIN_SECRET,
        "basic_id": BASIC_ID,
        **changes,
    }


def _binding_settings(shop: Shop) -> tuple:
    db.session.expire_all()
    account = account_of(shop.id, "line")
    return (
        account.line_login_channel_id,
        account.line_login_channel_secret,
        account.line_basic_id,
    )


def _connected(client: FlaskClient, platform: FakeShopifyPlatform, shop: Shop) -> None:
    response = client.put(
        "/api/admin/v1/channels/line", headers=bearer(platform, shop), json=_line_body()
    )
    assert response.status_code == 200, response.json


def test_line_settings_are_checked_saved_and_never_shown(
    client: FlaskClient, platform: FakeShopifyPlatform, shop: Shop, chat_fakes
) -> None:
    # given
    line, _ = chat_fakes
    line.add_channel(CHANNEL_ID, TOKEN, SECRET)

    # when
    response = client.put(
        "/api/admin/v1/channels/line", headers=bearer(platform, shop), json=_line_body()
    )

    # then
    assert response.status_code == 200
    shown = response.json["channels"][0]
    assert shown == {
        "channel": "line",
        "connected": True,
        "account_id": CHANNEL_ID,
        "secret_set": True,
        "token_set": True,
        "test_recipient_id": ME,
        "quota_paused_until": None,
        "login_channel_id": LOGIN_ID,
        "login_secret_set": True,
        "basic_id": BASIC_ID,
    }
    for secret in (SECRET, TOKEN, LOGIN_SECRET):
        assert secret not in response.get_data(as_text=True)
    account = account_of(shop.id, "line")
    assert (account.line_channel_secret, account.line_channel_access_token) == (
        SECRET,
        TOKEN,
    )
    assert _binding_settings(shop) == (LOGIN_ID, LOGIN_SECRET, BASIC_ID)


def test_line_settings_empty_secrets_keep_the_stored_ones(
    client: FlaskClient, platform: FakeShopifyPlatform, shop: Shop, chat_fakes
) -> None:
    # given
    line, _ = chat_fakes
    line.add_channel(CHANNEL_ID, TOKEN, SECRET)
    client.put(
        "/api/admin/v1/channels/line", headers=bearer(platform, shop), json=_line_body()
    )

    # when
    body = _line_body(
        channel_secret="", channel_access_token=None, login_channel_secret=""
    )
    response = client.put(
        "/api/admin/v1/channels/line", headers=bearer(platform, shop), json=body
    )

    # then
    assert response.status_code == 200
    db.session.expire_all()
    assert account_of(shop.id, "line").line_channel_secret == SECRET
    assert _binding_settings(shop) == (LOGIN_ID, LOGIN_SECRET, BASIC_ID)


def test_line_settings_left_out_keep_the_binding_settings(
    client: FlaskClient, platform: FakeShopifyPlatform, shop: Shop, chat_fakes
) -> None:
    # given
    line, _ = chat_fakes
    line.add_channel(CHANNEL_ID, TOKEN, SECRET)
    _connected(client, platform, shop)

    # when a client that knows only the Messaging API fields saves
    body = {"channel_id": CHANNEL_ID, "channel_access_token": TOKEN}
    response = client.put(
        "/api/admin/v1/channels/line", headers=bearer(platform, shop), json=body
    )

    # then
    assert response.status_code == 200
    assert _binding_settings(shop) == (LOGIN_ID, LOGIN_SECRET, BASIC_ID)


def test_line_binding_settings_emptied_are_removed(
    client: FlaskClient, platform: FakeShopifyPlatform, shop: Shop, chat_fakes
) -> None:
    # given
    line, _ = chat_fakes
    line.add_channel(CHANNEL_ID, TOKEN, SECRET)
    _connected(client, platform, shop)

    # when
    body = _line_body(login_channel_id="", login_channel_secret=None, basic_id=None)
    response = client.put(
        "/api/admin/v1/channels/line", headers=bearer(platform, shop), json=body
    )

    # then
    assert response.status_code == 200
    shown = response.json["channels"][0]
    assert (shown["login_channel_id"], shown["login_secret_set"]) == (None, False)
    assert _binding_settings(shop) == (None, None, None)


def test_line_login_channel_changed_needs_its_own_secret(
    client: FlaskClient, platform: FakeShopifyPlatform, shop: Shop, chat_fakes
) -> None:
    # given
    line, _ = chat_fakes
    line.add_channel(CHANNEL_ID, TOKEN, SECRET)
    _connected(client, platform, shop)

    # when the Login channel changes and its secret is left empty
    body = _line_body(login_channel_id="2000000098", login_channel_secret="")
    response = client.put(
        "/api/admin/v1/channels/line", headers=bearer(platform, shop), json=body
    )

    # then
    assert response.status_code == 422
    assert response.json == {
        "detail": "login_channel_secret: This is required: LINE Login channel"
        " secrets are 32 hexadecimal characters.",
        "code": "invalid_channel_setting",
        "field": "login_channel_secret",
    }
    assert _binding_settings(shop) == (LOGIN_ID, LOGIN_SECRET, BASIC_ID)


BINDING_REFUSALS = {
    "login-id-not-digits": (
        {"login_channel_id": "line-login"},
        "login_channel_id",
        "LINE Login channel ids are 10 digits; got 'line-login'.",
    ),
    "login-id-of-the-messaging-channel": (
        {"login_channel_id": CHANNEL_ID},
        "login_channel_id",
        "This is the Messaging API channel's id; the LINE Login channel is"
        " another channel of the same provider, with an id of its own.",
    ),
    "login-secret-without-its-channel": (
        {"login_channel_id": None},
        "login_channel_id",
        "Give the LINE Login channel's id with its secret.",
    ),
    "login-secret-not-hex": (
        {"login_channel_secret": "not-a-secret"},
        "login_channel_secret",
        "LINE Login channel secrets are 32 hexadecimal characters; got 'not-a-secret'.",
    ),
    "basic-id-without-at": (
        {"basic_id": "123abcde"},
        "basic_id",
        "a LINE basic ID is @ and up to 31 letters, digits, '.', '_' or '-',"
        " like @123abcde; got '123abcde'.",
    ),
}


@pytest.mark.parametrize("case", sorted(BINDING_REFUSALS))
def test_line_binding_setting_of_wrong_shape_is_refused_at_its_field(
    client: FlaskClient, platform: FakeShopifyPlatform, shop: Shop, chat_fakes, case
) -> None:
    # given
    line, _ = chat_fakes
    changes, field, detail = BINDING_REFUSALS[case]

    # when
    response = client.put(
        "/api/admin/v1/channels/line",
        headers=bearer(platform, shop),
        json=_line_body(**changes),
    )

    # then nothing is stored, and LINE was not asked
    assert response.status_code == 422
    assert response.json == {
        "detail": f"{field}: {detail}",
        "code": "invalid_channel_setting",
        "field": field,
    }
    assert account_of(shop.id, "line") is None
    assert line.calls == []


def test_channels_show_the_addresses_to_register_once_line_is_saved(
    client: FlaskClient, platform: FakeShopifyPlatform, shop: Shop, chat_fakes
) -> None:
    # given
    line, _ = chat_fakes
    line.add_channel(CHANNEL_ID, TOKEN, SECRET)
    before = client.get("/api/admin/v1/channels", headers=bearer(platform, shop))
    _connected(client, platform, shop)

    # when
    response = client.get("/api/admin/v1/channels", headers=bearer(platform, shop))

    # then
    key = account_of(shop.id, "line").line_webhook_key
    assert before.json["addresses"] == {
        "line_login_callback_url": None,
        "line_webhook_url": None,
        "messenger_webhook_url": f"{APP_URL}/webhooks/messenger",
        "messenger_webhook_ready": False,
    }
    assert response.json["addresses"] == {
        "line_login_callback_url": f"{APP_URL}/binding/line/{key}/callback",
        "line_webhook_url": f"{APP_URL}/webhooks/line/{key}",
        "messenger_webhook_url": f"{APP_URL}/webhooks/messenger",
        "messenger_webhook_ready": False,
    }


def test_channels_say_messenger_webhook_is_ready_but_never_its_token(
    client: FlaskClient, platform: FakeShopifyPlatform, shop: Shop
) -> None:
    # given the server has Meta's app secret and verify token
    runtime = current()
    original = runtime.settings
    runtime.settings = replace(
        original,
        messenger_app_secret="meta-app-secret-0123456789",
        messenger_verify_token="meta-verify-token-0123456789",
    )
    try:
        # when
        response = client.get("/api/admin/v1/channels", headers=bearer(platform, shop))
    finally:
        runtime.settings = original

    # then
    assert response.json["addresses"]["messenger_webhook_ready"] is True
    body = response.get_data(as_text=True)
    assert "meta-verify-token-0123456789" not in body
    assert "meta-app-secret-0123456789" not in body


def test_line_token_the_platform_refuses_is_not_saved(
    client: FlaskClient, platform: FakeShopifyPlatform, shop: Shop, chat_fakes
) -> None:
    # given LINE knows no channel with this token

    # when
    response = client.put(
        "/api/admin/v1/channels/line", headers=bearer(platform, shop), json=_line_body()
    )

    # then
    assert response.status_code == 422
    assert response.json["field"] == "channel_access_token"
    assert response.json["detail"].startswith(
        "channel_access_token: LINE refused these credentials:"
    )
    assert account_of(shop.id, "line") is None


def test_line_secret_of_wrong_shape_is_refused_without_asking_line(
    client: FlaskClient, platform: FakeShopifyPlatform, shop: Shop, chat_fakes
) -> None:
    # given
    line, _ = chat_fakes

    # when
    body = _line_body(channel_secret="not-hex")
    response = client.put(
        "/api/admin/v1/channels/line", headers=bearer(platform, shop), json=body
    )

    # then
    assert response.status_code == 422
    assert response.json == {
        "detail": "channel_secret: LINE channel secrets are 32 hexadecimal"
        " characters; got 'not-hex'.",
        "code": "invalid_channel_setting",
        "field": "channel_secret",
    }
    assert line.calls == []


def _connect_page(
    client: FlaskClient, platform: FakeShopifyPlatform, shop: Shop
) -> TestResponse:
    """The panel saving the Page PAGE_ID with its token PAGE_TOKEN."""
    body = {"page_id": PAGE_ID, "page_access_token": PAGE_TOKEN}
    return client.put(
        "/api/admin/v1/channels/messenger", headers=bearer(platform, shop), json=body
    )


def test_messenger_token_of_another_page_is_refused(
    client: FlaskClient, platform: FakeShopifyPlatform, shop: Shop, chat_fakes
) -> None:
    # given the token belongs to another Page
    _, messenger = chat_fakes
    messenger.add_page("100000000000002", PAGE_TOKEN)

    # when
    response = _connect_page(client, platform, shop)

    # then
    assert response.status_code == 422
    assert response.json["field"] == "page_access_token"
    assert "belongs to Page 100000000000002" in response.json["detail"]
    assert account_of(shop.id, "messenger") is None


def test_messenger_page_is_connected(
    client: FlaskClient, platform: FakeShopifyPlatform, shop: Shop, chat_fakes
) -> None:
    # given
    _, messenger = chat_fakes
    messenger.add_page(PAGE_ID, PAGE_TOKEN)

    # when
    response = _connect_page(client, platform, shop)

    # then the Page is stored, and has subscribed our app to its webhooks
    assert response.status_code == 200
    assert response.json["channels"][1]["connected"] is True
    assert account_of(shop.id, "messenger").messenger_page_access_token == PAGE_TOKEN
    assert messenger.page(PAGE_ID).subscribed_fields == (
        "messages",
        "messaging_postbacks",
        "messaging_referrals",
    )


def test_messenger_page_of_another_installed_shop_is_refused(
    client: FlaskClient, platform: FakeShopifyPlatform, shop: Shop, chat_fakes
) -> None:
    # given the Page is already connected to another shop: its events come to
    # one webhook, so only one shop could ever see them
    _, messenger = chat_fakes
    messenger.add_page(PAGE_ID, PAGE_TOKEN)
    other = install_shop(client, platform, OTHER_SHOP_DOMAIN)
    connect_messenger(other, PAGE_ID, PAGE_TOKEN)
    db.session.commit()

    # when
    response = _connect_page(client, platform, shop)

    # then
    assert response.status_code == 422
    assert response.json["field"] == "page_id"
    assert "connected to another shop" in response.json["detail"]
    assert account_of(shop.id, "messenger") is None
    assert account_of(other.id, "messenger").enabled is True


def test_messenger_page_of_an_uninstalled_shop_can_be_connected(
    client: FlaskClient, platform: FakeShopifyPlatform, shop: Shop, chat_fakes
) -> None:
    # given the shop that held the Page has uninstalled the app
    _, messenger = chat_fakes
    messenger.add_page(PAGE_ID, PAGE_TOKEN)
    other = install_shop(client, platform, OTHER_SHOP_DOMAIN)
    connect_messenger(other, PAGE_ID, PAGE_TOKEN)
    other.uninstalled_at = utcnow()
    db.session.commit()

    # when
    response = _connect_page(client, platform, shop)

    # then the Page's events now go to this shop
    assert response.status_code == 200
    assert shop_of_page(PAGE_ID).id == shop.id


def test_messenger_page_that_cannot_subscribe_the_app_is_refused(
    client: FlaskClient, platform: FakeShopifyPlatform, shop: Shop, chat_fakes
) -> None:
    # given Meta refuses the subscription (a token without pages_manage_metadata)
    _, messenger = chat_fakes
    messenger.add_page(PAGE_ID, PAGE_TOKEN)
    messenger.refuse_subscriptions(
        "(#200) Requires pages_manage_metadata permission to manage the object"
    )

    # when
    response = _connect_page(client, platform, shop)

    # then the merchant sees Meta's words at the token, and nothing is stored
    assert response.status_code == 422
    assert response.json["field"] == "page_access_token"
    assert "pages_manage_metadata" in response.json["detail"]
    assert account_of(shop.id, "messenger") is None


def test_schedule_sets_hours_and_a_time_zone_the_platform_keeps(
    client: FlaskClient, platform: FakeShopifyPlatform, shop: Shop
) -> None:
    # when
    weekly = [[["09:00", "12:00"], ["13:00", "18:00"]]] * 5 + [[["10:00", "16:00"]], []]
    response = client.put(
        "/api/admin/v1/channels/schedule",
        headers=bearer(platform, shop),
        json={"timezone": "Asia/Tokyo", "opening_hours": weekly},
    )

    # then
    assert response.status_code == 200
    assert response.json["schedule"] == {
        "timezone": "Asia/Tokyo",
        "opening_hours": weekly,
    }
    db.session.expire_all()
    assert shop.timezone_chosen_at is not None


def test_schedule_closing_before_opening_is_refused(
    client: FlaskClient, platform: FakeShopifyPlatform, shop: Shop
) -> None:
    # when
    weekly = [[["09:00", "18:00"]]] * 6 + [[["18:00", "09:00"]]]
    response = client.put(
        "/api/admin/v1/channels/schedule",
        headers=bearer(platform, shop),
        json={"timezone": "Mars/Olympus", "opening_hours": weekly},
    )

    # then the hours are checked before the zone, and nothing is stored
    assert response.status_code == 422
    assert response.json["field"] == "opening_hours.sunday"
    db.session.expire_all()
    assert shop.timezone_chosen_at is None


def test_send_test_goes_to_the_merchants_own_line_account(
    client: FlaskClient, platform: FakeShopifyPlatform, shop: Shop, chat_fakes
) -> None:
    # given
    line, _ = chat_fakes
    line.add_channel(CHANNEL_ID, TOKEN, SECRET)
    client.put(
        "/api/admin/v1/channels/line", headers=bearer(platform, shop), json=_line_body()
    )

    # when
    step = {
        "delay": 1,
        "unit": "hours",
        "channel": "any",
        "message": [{"type": "text", "text": "Test for {shop_name}"}],
    }
    response = client.post(
        "/api/admin/v1/flow/test",
        headers=bearer(platform, shop),
        json={"step": step, "cart_id": None},
    )

    # then
    assert response.status_code == 200
    assert response.json["delivered_to"] == "line"
    assert response.json["recipient_id"] == ME
    pushes = [call for call in line.calls if call.path == "/v2/bot/message/push"]
    assert [(call.status, call.recipient) for call in pushes] == [(200, ME)]


def test_channels_screen_shows_the_binding_fields_and_addresses_not_secrets(
    client: FlaskClient, platform: FakeShopifyPlatform, shop: Shop, chat_fakes
) -> None:
    # given
    line, _ = chat_fakes
    line.add_channel(CHANNEL_ID, TOKEN, SECRET)
    _connected(client, platform, shop)
    member(shop)
    sign_in(client, shop)

    # when
    page = client.get("/admin/channels", base_url=HTTPS).get_data(as_text=True)

    # then
    key = account_of(shop.id, "line").line_webhook_key
    assert f'value="{LOGIN_ID}"' in page
    assert f'value="{BASIC_ID}"' in page
    assert (
        f'<code id="line-callback-url">{APP_URL}/binding/line/{key}/callback</code>'
    ) in page
    assert f'<code id="line-webhook-url">{APP_URL}/webhooks/line/{key}</code>' in page
    assert f"{APP_URL}/webhooks/messenger</code>" in page
    assert "cannot take Messenger's webhooks" in page
    for secret in (SECRET, TOKEN, LOGIN_SECRET):
        assert secret not in page
