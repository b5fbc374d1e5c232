"""Channel settings: checked against the platforms before saving, secrets write-only."""

from __future__ import annotations

from flask.testing import FlaskClient

from engine.channels.registry import account_of
from engine.db import db
from engine.shops.models import Shop
from plugin.sandbox.shopify_platform import FakeShopifyPlatform
from tests.admin import bearer

CHANNEL_ID = "2000000001"
SECRET = "0123456789abcdef0123456789abcdef"
TOKEN = "line-long-lived-token-0123456789"
ME = "U" + "a" * 32
PAGE_ID = "100000000000001"
PAGE_TOKEN = "page-access-token-0123456789"


def _line_body(**changes: object) -> dict:
    return {
        "channel_id": CHANNEL_ID,
        "channel_secret": SECRET,
        "channel_access_token": TOKEN,
        "test_recipient_id": ME,
        **changes,
    }


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
    }
    assert SECRET not in response.get_data(as_text=True)
    assert TOKEN not in response.get_data(as_text=True)
    account = account_of(shop.id, "line")
    assert (account.line_channel_secret, account.line_channel_access_token) == (
        SECRET,
        TOKEN,
    )


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
    body = _line_body(channel_secret="", channel_access_token=None)
    response = client.put(
        "/api/admin/v1/channels/line", headers=bearer(platform, shop), json=body
    )

    # then
    assert response.status_code == 200
    db.session.expire_all()
    assert account_of(shop.id, "line").line_channel_secret == SECRET


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


def test_messenger_token_of_another_page_is_refused(
    client: FlaskClient, platform: FakeShopifyPlatform, shop: Shop, chat_fakes
) -> None:
    # given the token belongs to another Page
    _, messenger = chat_fakes
    messenger.add_page("100000000000002", PAGE_TOKEN)

    # when
    body = {"page_id": PAGE_ID, "page_access_token": PAGE_TOKEN}
    response = client.put(
        "/api/admin/v1/channels/messenger", headers=bearer(platform, shop), json=body
    )

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
    body = {"page_id": PAGE_ID, "page_access_token": PAGE_TOKEN}
    response = client.put(
        "/api/admin/v1/channels/messenger", headers=bearer(platform, shop), json=body
    )

    # then
    assert response.status_code == 200
    assert response.json["channels"][1]["connected"] is True
    assert account_of(shop.id, "messenger").messenger_page_access_token == PAGE_TOKEN


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
