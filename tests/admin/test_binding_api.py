"""The Binding API: the pop-up's settings, refused at their field, and the funnel."""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime

import pytest
from flask.testing import FlaskClient

from engine.binding import funnel
from engine.binding.popup import DEFAULTS, FIELDS, popup_of, update_popup
from engine.db import db
from engine.shops.models import Shop
from plugin.sandbox.shopify_platform import FakeShopifyPlatform
from tests.admin import AGENT_EMAIL, HTTPS, bearer, member, sign_in

POPUP = "/api/admin/v1/binding/popup"
FUNNEL = "/api/admin/v1/binding/funnel"
TEXTS = {
    "en": {"title": "Cart reminders on LINE", "success": "Done: see you there."},
    "zh-TW": {
        "title": "在 LINE 收到購物車提醒",
        "body": "忘了結帳時通知你。",
        "success": "完成！",
    },
}
SETTINGS = {
    "enabled": True,
    "page_types": ["product", "cart"],
    "excluded_pages": ["/pages/contact", "/blogs/*"],
    "trigger": "seconds",
    "trigger_count": 8,
    "max_per_day": 3,
    "channels": ["line"],
    "texts": TEXTS,
    "default_locale": "zh-TW",
    "tag": "line-popup",
}


def _stored(shop: Shop) -> dict | None:
    db.session.expire_all()
    popup = popup_of(shop)
    return None if popup is None else {name: getattr(popup, name) for name in FIELDS}


def test_popup_shows_the_defaults_until_first_saved(
    client: FlaskClient, platform: FakeShopifyPlatform, shop: Shop
) -> None:
    # when
    response = client.get(POPUP, headers=bearer(platform, shop))

    # then
    assert response.status_code == 200
    assert response.json == {**DEFAULTS, "saved": False, "ready_channels": []}
    assert _stored(shop) is None


def test_popup_settings_are_saved_and_shown(
    client: FlaskClient, platform: FakeShopifyPlatform, shop: Shop
) -> None:
    # when
    response = client.put(POPUP, headers=bearer(platform, shop), json=SETTINGS)

    # then
    assert response.status_code == 200
    assert response.json == {**SETTINGS, "saved": True, "ready_channels": []}
    assert _stored(shop) == SETTINGS


def test_popup_changes_only_the_fields_sent(
    client: FlaskClient, platform: FakeShopifyPlatform, shop: Shop
) -> None:
    # given
    update_popup(shop, **copy.deepcopy(SETTINGS))

    # when
    response = client.put(
        POPUP, headers=bearer(platform, shop), json={"max_per_day": 1, "tag": None}
    )

    # then
    assert response.status_code == 200
    assert _stored(shop) == {**SETTINGS, "max_per_day": 1, "tag": None}


REFUSALS = {
    "title-too-long": (
        {"texts": {**TEXTS, "zh-TW": {**TEXTS["zh-TW"], "title": "長" * 81}}},
        "texts.zh-TW.title",
        "must be 1 to 80 characters.",
    ),
    "success-message-missing": (
        {"texts": {"en": {"title": "Reminders on LINE"}}},
        "texts.en.success",
        "must be 1 to 200 characters.",
    ),
    "too-many-add-to-carts": (
        {"trigger": "add_to_cart", "trigger_count": 30},
        "trigger_count",
        "must be a whole number from 1 to 20.",
    ),
    "blank-excluded-page": (
        {"excluded_pages": ["/pages/contact", "   "]},
        "excluded_pages[1]",
        "must be a pattern of 1 to 255 characters.",
    ),
    "no-channel": ({"channels": []}, "channels", "must name at least one channel."),
    "default-locale-without-texts": (
        {"default_locale": "ja"},
        "default_locale",
        "must be a locale of texts.",
    ),
    "tag-with-a-slash": (
        {"tag": "line/popup"},
        "tag",
        "must be up to 40 letters, digits, spaces or '._:-'.",
    ),
}


@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_popup_refusal_names_its_field_and_stores_nothing(
    client: FlaskClient, platform: FakeShopifyPlatform, shop: Shop, case: str
) -> None:
    # given a saved pop-up, and an edit that also changes a good field
    update_popup(shop, **copy.deepcopy(SETTINGS))
    changes, field, problem = REFUSALS[case]

    # when
    body = {"max_per_day": 5, **changes}
    response = client.put(POPUP, headers=bearer(platform, shop), json=body)

    # then
    assert response.status_code == 422
    assert response.json == {
        "detail": f"{field}: {problem}",
        "code": "invalid_popup_setting",
        "field": field,
    }
    assert _stored(shop) == SETTINGS


def test_popup_of_the_wrong_shape_is_refused_before_the_engine(
    client: FlaskClient, platform: FakeShopifyPlatform, shop: Shop
) -> None:
    # when
    response = client.put(
        POPUP, headers=bearer(platform, shop), json={"trigger": "on_hover"}
    )

    # then
    assert response.status_code == 422
    assert response.json == {
        "detail": "trigger: Must be one of: add_to_cart, seconds.",
        "code": "invalid_request",
        "field": "trigger",
    }
    assert _stored(shop) is None


def test_popup_is_changed_only_by_owners(client: FlaskClient, shop: Shop) -> None:
    # given
    member(shop, AGENT_EMAIL, role="agent")
    csrf = sign_in(client, shop, AGENT_EMAIL)

    # when
    read = client.get(POPUP, base_url=HTTPS)
    changed = client.put(
        POPUP, base_url=HTTPS, headers={"X-CSRF-Token": csrf}, json={"max_per_day": 1}
    )

    # then
    assert read.status_code == 200
    assert changed.status_code == 403
    assert changed.json["code"] == "owner_only"
    assert _stored(shop) is None


def _count(shop: Shop, channel: str, stage: str, day: date, times: int = 1) -> None:
    at = datetime(day.year, day.month, day.day, 12, tzinfo=UTC)
    for _ in range(times):
        funnel.count(shop.id, channel, stage, at)
    db.session.commit()


def _day(on: str, channel: str, shown: int, clicked: int, bound: int) -> dict:
    return {
        "day": on,
        "channel": channel,
        "shown": shown,
        "clicked": clicked,
        "bound": bound,
    }


def test_funnel_counts_each_channel_per_day_over_the_period(
    client: FlaskClient, platform: FakeShopifyPlatform, shop: Shop
) -> None:
    # given counts on two days of the period and one before it
    _count(shop, "line", funnel.SHOWN, date(2026, 12, 1), times=4)
    _count(shop, "line", funnel.CLICKED, date(2026, 12, 1), times=2)
    _count(shop, "line", funnel.BOUND, date(2026, 12, 3))
    _count(shop, "messenger", funnel.SHOWN, date(2026, 12, 3), times=3)
    _count(shop, "line", funnel.SHOWN, date(2026, 11, 30), times=9)

    # when
    response = client.get(
        f"{FUNNEL}?since=2026-12-01&until=2026-12-03", headers=bearer(platform, shop)
    )

    # then
    assert response.status_code == 200

    assert response.json == {
        "since": "2026-12-01",
        "until": "2026-12-03",
        "channels": [
            {"channel": "line", "shown": 4, "clicked": 2, "bound": 1},
            {"channel": "messenger", "shown": 3, "clicked": 0, "bound": 0},
        ],
        "days": [
            _day("2026-12-01", "line", 4, 2, 0),
            _day("2026-12-01", "messenger", 0, 0, 0),
            _day("2026-12-02", "line", 0, 0, 0),
            _day("2026-12-02", "messenger", 0, 0, 0),
            _day("2026-12-03", "line", 0, 0, 1),
            _day("2026-12-03", "messenger", 3, 0, 0),
        ],
    }


def test_funnel_period_ending_before_it_starts_is_refused(
    client: FlaskClient, platform: FakeShopifyPlatform, shop: Shop
) -> None:
    # when
    response = client.get(
        f"{FUNNEL}?since=2026-12-05&until=2026-12-01", headers=bearer(platform, shop)
    )

    # then
    assert response.status_code == 422
    assert response.json == {
        "detail": "since: the period starts after it ends.",
        "code": "invalid_period",
        "field": "since",
    }


def test_binding_screen_shows_the_popup_form_and_the_funnel(
    client: FlaskClient, shop: Shop
) -> None:
    # given
    update_popup(shop, **copy.deepcopy(SETTINGS))
    _count(shop, "line", funnel.SHOWN, date(2026, 12, 2), times=5)
    _count(shop, "line", funnel.BOUND, date(2026, 12, 2), times=2)
    member(shop)
    sign_in(client, shop)

    # when
    response = client.get(
        "/admin/binding?since=2026-12-01&until=2026-12-07", base_url=HTTPS
    )

    # then
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'value="在 LINE 收到購物車提醒"' in page
    assert page.count("<svg") == 2
    assert (
        '<tr data-channel="line"><th scope="row">LINE</th><td>5</td><td>0</td>'
        "<td>2</td><td>40.0%</td></tr>"
    ) in page
    assert "Messenger cannot bind shoppers yet" not in page
    assert "LINE cannot bind shoppers yet" in page
    assert 'id="popup-unsaved"' not in page
