"""The merchant panel in Chromium: the flow editor, refusals, charts, phone width.

Every test saves screenshots of the screens it visits to
``tests/browser/screenshots/`` (git-ignored, rewritten on every run), so a
reviewer can look at the panel without running it.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from flask import Flask
from sqlalchemy import select

from engine.db import db
from engine.reminders.defaults import flow_for
from engine.reminders.models import ReminderStep
from engine.shops.models import Shop
from plugin.sandbox.reminder_history import seed_reminder_history
from plugin.sandbox.shopify_platform import FakeShopifyPlatform
from tests.admin import OWNER_EMAIL, PASSWORD, member
from tests.conftest import API_KEY

if TYPE_CHECKING:
    from playwright.sync_api import Page

SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
SCREENS = ("", "/flow", "/messages", "/channels", "/results", "/team")
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
    page.goto(f"{live_app}/admin/login")
    page.fill("#shop", shop.shop_domain)
    page.fill("#email", OWNER_EMAIL)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_app}/admin")
    yield page


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
    signed_in: Page, live_app: str, shop: Shop
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


def test_every_screen_at_desktop_width(
    signed_in: Page, live_app: str, shop: Shop
) -> None:
    seed_reminder_history(shop, datetime.now(UTC), days=7)
    db.session.commit()
    page = signed_in
    for path in SCREENS:
        page.goto(f"{live_app}/admin{path}")
        page.wait_for_load_state("networkidle")
        assert page.evaluate(HORIZONTAL_OVERFLOW) <= 0, path
        shoot(page, f"desktop-{path.strip('/') or 'home'}")


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
