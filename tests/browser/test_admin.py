"""The merchant panel in Chromium: the flow editor, refusals, charts, phone width.

Every test saves screenshots of the screens it visits to
``tests/browser/screenshots/`` (git-ignored, rewritten on every run), so a
reviewer can look at the panel without running it. Chromium reports each
Content-Security-Policy violation as a console error, so a test that finds
no console errors also found no violation.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from flask import Flask
from sqlalchemy import select

from engine.binding import funnel
from engine.binding.popup import FIELDS, popup_of
from engine.channels.accounts import connect_line
from engine.channels.registry import account_of
from engine.db import db
from engine.reminders.defaults import flow_for
from engine.reminders.models import ReminderStep
from engine.shops.models import Shop
from plugin.sandbox.reminder_history import seed_reminder_history
from plugin.sandbox.shopify_platform import FakeShopifyPlatform
from tests.admin import OWNER_EMAIL, PASSWORD, member
from tests.conftest import API_KEY, APP_URL

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

    from tests.browser.conftest import Console

SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
SCREENS = ("", "/flow", "/messages", "/channels", "/results", "/team", "/binding")
PHONE = {"width": 375, "height": 740}
HORIZONTAL_OVERFLOW = "() => document.documentElement.scrollWidth - window.innerWidth"


def shoot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


@pytest.fixture
def signed_in(page: Page, live_app: str, shop: Shop) -> Iterator[Page]:
    """The panel open in the browser, signed in as the shop's owner."""
    shop.currency, shop.timezone = "TWD", "Asia/Taipei"
    db.session.commit()
    member(shop)
    sign_in_as_owner(page, live_app, shop)
    yield page


@pytest.fixture
def signed_in_zh_tw(
    browser: Browser, live_app: str, shop: Shop, console: Console
) -> Iterator[Page]:
    """The owner signed in from a browser set to Traditional Chinese (Taiwan)."""
    shop.currency, shop.timezone = "TWD", "Asia/Taipei"
    db.session.commit()
    member(shop)
    context = browser.new_context(locale="zh-TW", viewport=PHONE)
    page = context.new_page()
    page.on("console", console.on_console)
    page.on("pageerror", console.on_page_error)
    sign_in_as_owner(page, live_app, shop)
    yield page
    context.close()


def sign_in_as_owner(page: Page, live_app: str, shop: Shop) -> None:
    page.goto(f"{live_app}/admin/login")
    page.fill("#shop", shop.shop_domain)
    page.fill("#email", OWNER_EMAIL)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_app}/admin")


def _save(page: Page) -> None:
    page.click("#save-flow")


def _saved_flow(shop: Shop) -> list[tuple]:
    db.session.expire_all()
    return [
        (step.position, step.enabled, step.delay_minutes, step.channel)
        for step in db.session.scalars(
            select(ReminderStep)
            .where(ReminderStep.shop_id == shop.id)
            .order_by(ReminderStep.position)
        )
    ]


def test_flow_editor_builds_previews_saves_and_reloads_three_steps(
    signed_in: Page, live_app: str, shop: Shop, console
) -> None:
    page = signed_in
    page.goto(f"{live_app}/admin/flow")

    # given one step left of the default three
    page.locator('[data-index="2"] [data-act="remove"]').click()
    page.locator('[data-index="1"] [data-act="remove"]').click()
    assert page.locator("#steps .step").count() == 1

    # when two steps are added and the three set up, one switched off
    page.click("#add-step")
    page.click("#add-step")
    page.fill("#delay-0", "2")
    page.select_option("#channel-0", "line")
    page.fill("#delay-1", "6")
    page.select_option("#channel-1", "messenger")
    page.fill("#p-1-0-text", "Still thinking, {first_name|friend}?")
    page.fill("#delay-2", "2")
    page.select_option("#unit-2", "days")
    page.select_option("#channel-2", "line")
    page.locator('[data-index="2"] [data-bind="enabled"]').uncheck()
    page.locator('[data-index="1"] [data-act="down"]').click()

    # then the preview shows the step as the shopper gets it
    page.locator('[data-index="0"] [data-act="preview"]').click()
    line = page.frame_locator('[data-rendering="line"] iframe')
    line.get_by_text("Hi Mei, you left something in your cart").wait_for()
    assert line.get_by_text("Sample product").count() == 1
    shoot(page, "flow-editor")

    # when saved and reloaded
    _save(page)
    page.locator("#status", has_text="Saved.").wait_for()
    page.reload()

    # then it is as it was built
    assert page.locator("#steps .step").count() == 3
    assert [page.input_value(f"#delay-{i}") for i in range(3)] == ["2", "2", "6"]
    assert [page.input_value(f"#unit-{i}") for i in range(3)] == [
        "hours",
        "days",
        "hours",
    ]
    assert page.input_value("#p-2-0-text") == "Still thinking, {first_name|friend}?"
    assert not page.locator('[data-index="1"] [data-bind="enabled"]').is_checked()
    assert _saved_flow(shop) == [
        (1, True, 120, "line"),
        (2, False, 2880, "line"),
        (3, True, 360, "messenger"),
    ]
    assert console.errors == []


INVALID_INPUTS = {
    "delay-zero": (
        lambda page: page.fill("#delay-0", "0"),
        "#delay-0",
        "0 is outside the allowed 1 to 43200",
    ),
    "delay-400-days": (
        lambda page: (
            page.fill("#delay-1", "400"),
            page.select_option("#unit-1", "days"),
        ),
        "#delay-1",
        "400 days is longer than the longest delay, 30 days",
    ),
    "messenger-past-window": (
        lambda page: (
            page.fill("#delay-2", "20"),
            page.select_option("#channel-2", "messenger"),
        ),
        "#delay-2",
        "past Messenger's 24-hour window",
    ),
    "text-too-long-for-messenger": (
        lambda page: (
            page.select_option("#channel-0", "messenger"),
            page.fill("#p-0-0-text", "a" * 2100),
        ),
        "#p-0-0-text",
        "Messenger takes at most 2000",
    ),
    "image-not-https": (
        lambda page: (
            page.select_option("#add-part-0", "image"),
            page.fill("#p-0-2-url", "http://cdn.example.com/sale.jpg"),
        ),
        "#p-0-2-url",
        "An image needs an https:// address",
    ),
    "image-not-jpeg-or-png": (
        lambda page: (
            page.select_option("#add-part-0", "image"),
            page.fill("#p-0-2-url", "https://cdn.example.com/sale.webp"),
        ),
        "#p-0-2-url",
        "does not end in .jpg, .jpeg or .png",
    ),
}


@pytest.mark.parametrize("case", sorted(INVALID_INPUTS))
def test_flow_editor_refuses_invalid_input_at_its_field(
    signed_in: Page, live_app: str, shop: Shop, case: str
) -> None:
    page = signed_in
    change, field, words = INVALID_INPUTS[case]
    page.goto(f"{live_app}/admin/flow")
    before = _saved_flow(shop)

    # when
    change(page)
    _save(page)

    # then the message sits right after the field, and nothing changed
    message = page.locator(f"{field} + .field-error")
    message.wait_for()
    assert words in message.inner_text()
    assert page.get_attribute(field, "aria-invalid") == "true"
    assert _saved_flow(shop) == before
    shoot(page, f"flow-refused-{case}")


def test_results_dashboard_draws_charts_with_data(
    signed_in: Page, live_app: str, shop: Shop, app: Flask
) -> None:
    # given two weeks of reminders
    flow_for(shop).message_costs = {"line": "0.40", "messenger": "0"}
    seed_reminder_history(shop, datetime.now(UTC), days=14)
    db.session.commit()

    # when
    page = signed_in
    page.goto(f"{live_app}/admin/results")

    # then
    charts = page.locator("figure.chart svg")
    assert charts.count() == 5
    activity = page.locator("figure.chart").first.locator("rect.bar-a")
    assert activity.count() == 30
    heights = [
        float(h)
        for h in activity.evaluate_all("(r) => r.map(n => n.getAttribute('height'))")
    ]
    assert sum(1 for height in heights if height > 0) >= 10
    assert int(page.inner_text('[data-figure="sent"]')) > 0
    assert page.get_by_text("monthly message quota is used up").count() == 1
    shoot(page, "results")


def test_every_screen_fits_a_phone_without_sideways_scroll(
    signed_in: Page, live_app: str, shop: Shop, console: Console
) -> None:
    # given
    seed_reminder_history(shop, datetime.now(UTC), days=7)
    db.session.commit()
    page = signed_in
    page.set_viewport_size(PHONE)

    for path in SCREENS:
        # when
        page.goto(f"{live_app}/admin{path}")
        page.wait_for_load_state("networkidle")

        # then
        assert page.evaluate(HORIZONTAL_OVERFLOW) <= 0, path
        shoot(page, f"phone-{path.strip('/') or 'home'}")
    assert console.errors == []


def test_every_screen_at_desktop_width(
    signed_in: Page, live_app: str, shop: Shop, console: Console
) -> None:
    seed_reminder_history(shop, datetime.now(UTC), days=7)
    db.session.commit()
    page = signed_in
    for path in SCREENS:
        page.goto(f"{live_app}/admin{path}")
        page.wait_for_load_state("networkidle")
        assert page.evaluate(HORIZONTAL_OVERFLOW) <= 0, path
        shoot(page, f"desktop-{path.strip('/') or 'home'}")
    assert console.errors == []


def test_a_content_security_policy_violation_is_a_console_error(
    signed_in: Page, live_app: str, console: Console
) -> None:
    # given a panel page
    page = signed_in
    page.goto(f"{live_app}/admin/team")
    assert console.errors == []

    # when something puts inline code and style into it
    page.evaluate(
        """() => {
          const script = document.createElement("script");
          script.textContent = "window.injected = true;";
          document.body.append(script);
          document.body.insertAdjacentHTML("beforeend", '<p style="color:red">x</p>');
        }"""
    )

    # then neither runs, and both are reported where the tests look
    page.wait_for_function("() => document.querySelector('p[style]') !== null")
    assert page.evaluate("() => window.injected === undefined")
    assert (
        page.evaluate(
            "() => getComputedStyle(document.querySelector('p[style]')).color"
        )
        != "rgb(255, 0, 0)"
    )
    violations = [error for error in console.errors if "Content Security" in error]
    assert len(violations) == 2, console.errors


def test_every_screen_in_traditional_chinese_fits_a_phone(
    signed_in_zh_tw: Page, live_app: str, shop: Shop, console: Console
) -> None:
    # given
    seed_reminder_history(shop, datetime.now(UTC), days=7)
    db.session.commit()
    page = signed_in_zh_tw

    for path in (*SCREENS, "/game"):
        # when
        page.goto(f"{live_app}/admin{path}")
        page.wait_for_load_state("networkidle")

        # then
        assert page.get_attribute("html", "lang") == "zh-TW"
        assert page.evaluate(HORIZONTAL_OVERFLOW) <= 0, path
        shoot(page, f"phone-zh-TW-{path.strip('/') or 'home'}")
    assert console.errors == []


def test_flow_editor_in_traditional_chinese_at_phone_width(
    signed_in_zh_tw: Page, live_app: str, console: Console
) -> None:
    page = signed_in_zh_tw

    # when
    page.goto(f"{live_app}/admin/flow")

    # then the editor, its steps and its preview speak Chinese
    assert page.inner_text("h1") == "購物車提醒"
    assert page.inner_text("nav.tabs a[aria-current=page]") == "購物車提醒"
    assert page.inner_text('#steps [data-index="0"] h3') == "步驟 1"
    assert page.input_value("#unit-0") == "hours"
    assert page.locator("#unit-0 option:checked").inner_text() == "小時"
    for channel in ("line", "messenger"):
        preview = page.frame_locator(f'[data-rendering="{channel}"] iframe')
        preview.get_by_text("Sample product").first.wait_for()
    page.locator("#preview-note", has_text="預覽使用").wait_for()
    assert page.evaluate(HORIZONTAL_OVERFLOW) <= 0

    # when the merchant saves
    page.click("#save-flow")

    # then the status line says so in Chinese
    page.locator("#status", has_text="已儲存。").wait_for()
    page.locator('[data-rendering="messenger"]').scroll_into_view_if_needed()
    shoot(page, "phone-flow-zh-TW")
    assert console.errors == []


def test_panel_inside_the_sandbox_store_admin(
    page: Page, live_app: str, shop: Shop, platform: FakeShopifyPlatform, console
) -> None:
    # given the store admin frames the live app
    original = platform.app_url
    platform.app_url = live_app
    try:
        page.goto(f"{platform.base_url}/{shop.shop_domain}/admin/apps/{API_KEY}")
        frame = page.frame_locator("iframe")
        frame.get_by_text("What your store has told us").wait_for()

        # when the merchant opens the reminders (a fresh id_token per page)
        frame.locator("nav.tabs").get_by_role("link", name="Reminders").click()

        # then the editor loads, and its preview came through the API with a
        # session token
        inner = frame.frame_locator('[data-rendering="line"] iframe')
        inner.get_by_text("Hi Mei, you left something in your cart").wait_for()
        shoot(page, "embedded-flow")
    finally:
        platform.app_url = original
    assert console.errors == []


def _saved_popup(shop: Shop) -> dict | None:
    db.session.expire_all()
    popup = popup_of(shop)
    return None if popup is None else {name: getattr(popup, name) for name in FIELDS}


def test_binding_screen_saves_the_popup_and_finds_it_after_a_reload(
    signed_in: Page, live_app: str, shop: Shop, console
) -> None:
    # given a week of the funnel
    for day in range(1, 8):
        at = datetime(2026, 12, day, 12, tzinfo=UTC)
        for _ in range(day):
            funnel.count(shop.id, "line", funnel.SHOWN, at)
        funnel.count(shop.id, "line", funnel.CLICKED, at)
        funnel.count(shop.id, "messenger", funnel.SHOWN, at)
    funnel.count(shop.id, "line", funnel.BOUND, datetime(2026, 12, 4, tzinfo=UTC))
    db.session.commit()
    page = signed_in
    page.goto(f"{live_app}/admin/binding?since=2026-12-01&until=2026-12-07")

    # then the screen shows the defaults, not yet saved, and the funnel drawn
    assert page.locator("#popup-unsaved").count() == 1
    assert page.locator("figure.chart svg").count() == 2
    line_chart = page.locator("figure.chart").first
    assert line_chart.locator("rect.bar-a").count() == 7
    assert page.inner_text('#funnel-table tr[data-channel="line"]').split("\t") == [
        "LINE",
        "28",
        "7",
        "1",
        "3.6%",
    ]
    shoot(page, "binding")

    # when the merchant sets the pop-up up and saves
    page.locator('[data-list="page_types"][value="product"]').check()
    page.locator('[data-list="channels"][value="messenger"]').uncheck()
    page.fill("#popup-excluded", "/pages/contact\n/blogs/*")
    page.select_option("#popup-trigger", "seconds")
    page.fill("#popup-count", "8")
    page.fill("#popup-per-day", "3")
    page.fill("#popup-zh-TW-title", "在 LINE 收到購物車提醒")
    page.fill("#popup-zh-TW-success", "完成！")
    page.select_option("#popup-locale", "zh-TW")
    page.fill("#popup-tag", "line-popup")
    page.click("#save-popup")
    page.locator("#status", has_text="Pop-up saved.").wait_for()
    page.wait_for_load_state("networkidle")
    page.reload()

    # then it is as it was set, on the page and in the database
    assert page.locator("#popup-unsaved").count() == 0
    assert page.input_value("#popup-count") == "8"
    assert page.input_value("#popup-trigger") == "seconds"
    assert page.input_value("#popup-zh-TW-title") == "在 LINE 收到購物車提醒"
    assert page.input_value("#popup-tag") == "line-popup"
    assert page.locator('[data-list="page_types"][value="product"]').is_checked()
    saved = _saved_popup(shop)
    assert {name: saved[name] for name in ("page_types", "channels", "tag")} == {
        "page_types": ["product"],
        "channels": ["line"],
        "tag": "line-popup",
    }
    assert (saved["trigger"], saved["trigger_count"], saved["max_per_day"]) == (
        "seconds",
        8,
        3,
    )
    assert saved["excluded_pages"] == ["/pages/contact", "/blogs/*"]
    assert saved["texts"]["zh-TW"]["title"] == "在 LINE 收到購物車提醒"
    assert saved["default_locale"] == "zh-TW"
    assert console.errors == []
    shoot(page, "binding-saved")


POPUP_REFUSALS = {
    "too-many-add-to-carts": (
        lambda page: page.fill("#popup-count", "30"),
        "#popup-count",
        "trigger_count: must be a whole number from 1 to 20.",
    ),
    "title-too-long": (
        lambda page: page.fill("#popup-zh-TW-title", "長" * 81),
        "#popup-zh-TW-title",
        "texts.zh-TW.title: must be 1 to 80 characters.",
    ),
    "success-message-emptied": (
        lambda page: page.fill("#popup-en-success", ""),
        "#popup-en-success",
        "texts.en.success: must be 1 to 200 characters.",
    ),
    "tag-with-a-slash": (
        lambda page: page.fill("#popup-tag", "line/popup"),
        "#popup-tag",
        "tag: must be up to 40 letters, digits, spaces or '._:-'.",
    ),
}


@pytest.mark.parametrize("case", sorted(POPUP_REFUSALS))
def test_binding_screen_refuses_invalid_input_at_its_field(
    signed_in: Page, live_app: str, shop: Shop, case: str
) -> None:
    page = signed_in
    change, field, words = POPUP_REFUSALS[case]
    page.goto(f"{live_app}/admin/binding")

    # when
    change(page)
    page.click("#save-popup")

    # then the sentence sits right after the field, and nothing was stored
    message = page.locator(f"{field} + .field-error")
    message.wait_for()
    assert message.inner_text() == words
    assert page.get_attribute(field, "aria-invalid") == "true"
    assert _saved_popup(shop) is None
    shoot(page, f"binding-refused-{case}")


def test_channels_screen_refuses_a_bad_basic_id_at_its_field(
    signed_in: Page, live_app: str, shop: Shop
) -> None:
    page = signed_in
    page.goto(f"{live_app}/admin/channels")

    # when
    page.fill("#line-id", "2000000001")
    page.fill("#line-secret", "0123456789abcdef0123456789abcdef")
    page.fill("#line-token", "line-long-lived-token-0123456789")
    page.fill("#line-basic-id", "123abcde")
    page.locator("#line-basic-id").press("Enter")

    # then
    message = page.locator("#line-basic-id + .field-error")
    message.wait_for()
    assert "a LINE basic ID is @ and up to 31 letters" in message.inner_text()
    assert page.get_attribute("#line-basic-id", "aria-invalid") == "true"
    db.session.expire_all()
    assert account_of(shop.id, "line") is None
    shoot(page, "channels-refused-basic-id")


def test_channels_screen_shows_the_addresses_to_register_even_at_phone_width(
    signed_in: Page, live_app: str, shop: Shop
) -> None:
    # given LINE is connected, the Login channel and basic ID included
    account = connect_line(
        shop,
        "2000000001",
        "0123456789abcdef0123456789abcdef",
        "line-long-lived-token-0123456789",
        login_channel_id="2000000099",
        login_channel_secret="fedcba9876543210fedcba9876543210",
        basic_id="@123abcde",
    )
    db.session.commit()
    page = signed_in
    page.set_viewport_size(PHONE)

    # when
    page.goto(f"{live_app}/admin/channels")

    # then the addresses are the app's (APP_URL), not the browser's
    key = account.line_webhook_key
    assert page.inner_text("#line-callback-url") == (
        f"{APP_URL}/binding/line/{key}/callback"
    )
    assert page.inner_text("#line-webhook-url") == f"{APP_URL}/webhooks/line/{key}"
    assert page.input_value("#line-login-id") == "2000000099"
    assert page.input_value("#line-login-secret") == ""
    assert page.get_attribute("#line-login-secret", "placeholder") == (
        "Stored; leave empty to keep it"
    )
    assert page.evaluate(HORIZONTAL_OVERFLOW) <= 0
    shoot(page, "phone-channels-connected")
