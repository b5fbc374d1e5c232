"""The Bonus game screen in Chromium: a campaign made through the form, refusals
at their field, pause and resume, and the screen at phone and desktop width.

Screenshots go to ``tests/browser/screenshots/`` like the other screens'.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import pytest
from flask.testing import FlaskClient

from engine.db import db
from engine.game import list_campaigns, targets
from engine.game.campaigns import active_targets
from engine.shops.models import Shop
from engine.tracking.buffer import EventBuffer
from tests.admin import OWNER_EMAIL, PASSWORD, member
from tests.browser.test_admin import HORIZONTAL_OVERFLOW, PHONE, shoot
from tests.game import (
    OTHER_PRODUCT_URL,
    PRODUCT_URL,
    a_campaign,
    collect,
    report_seen,
    view_page,
)
from tests.widget_api import widget_state  # noqa: F401  (the fixture below uses it)

if TYPE_CHECKING:
    from playwright.sync_api import Page

SCREEN = "/admin/game"


@pytest.fixture(autouse=True)
def _idle_buffer(widget_state: EventBuffer) -> Iterator[EventBuffer]:  # noqa: F811
    # Collects are seeded through the widget's endpoints, as a shopper's are.
    targets.forget_all()
    yield widget_state
    targets.forget_all()


@pytest.fixture
def owner(page: Page, live_app: str, shop: Shop) -> Page:
    """The panel open in the browser, signed in as the owner of a TWD shop."""
    shop.currency, shop.timezone = "TWD", "Asia/Taipei"
    db.session.commit()
    member(shop)
    page.goto(f"{live_app}/admin/login")
    page.fill("#shop", shop.shop_domain)
    page.fill("#email", OWNER_EMAIL)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_app}/admin")
    return page


def _stored(shop: Shop) -> list[dict[str, Any]]:
    db.session.expire_all()
    return [
        {
            "name": campaign.name,
            "paused": campaign.paused,
            "min_seconds": campaign.min_seconds,
            "cap_per_visitor": campaign.cap_per_visitor,
            "budget": campaign.budget,
            "credit_expiry_days": campaign.credit_expiry_days,
            "look": campaign.look,
            "targets": [(t.kind, t.value, t.reward) for t in active_targets(campaign)],
        }
        for campaign in list_campaigns(shop)
    ]


def _fill_target(page: Page, index: int, kind: str, value: str, reward: str) -> None:
    page.select_option(f"#target-{index}-kind", kind)
    page.fill(f"#target-{index}-value", value)
    page.fill(f"#target-{index}-reward", reward)


def _fill_campaign(page: Page) -> None:
    page.fill("#campaign-name", "Explore the toys")
    _fill_target(page, 0, "product", "chew-toy", "5")
    page.click("#add-target")
    _fill_target(page, 1, "url", "/pages/*", "2.50")
    page.fill("#campaign-seconds", "15")
    page.fill("#campaign-cap", "20")
    page.fill("#campaign-budget", "500")
    page.fill("#campaign-expiry", "14")
    page.select_option("#look-icon", "star")
    page.fill("#look-color", "#1d4ed8")
    page.fill("#look-label-en", "Grab it")


def _seed_results(client: FlaskClient, shop: Shop) -> None:
    """Two campaigns: three visitors see the newer one's coin, two collect it."""
    a_campaign(
        shop,
        name="Rope week",
        starts_at=datetime.now(UTC) - timedelta(days=3),
        ends_at=datetime.now(UTC) - timedelta(hours=1),
        targets=[{"kind": "product", "value": "rope-tug", "reward": "7"}],
    )
    a_campaign(
        shop,
        name="Explore the shop",
        min_seconds=0,
        targets=[
            {"kind": "product", "value": "chew-toy", "reward": "5"},
            {"kind": "url", "value": "/pages/*", "reward": "2"},
        ],
        look={"icon": "gift", "color": "#15803d", "texts": {"en": "A gift"}},
    )
    for index in range(3):
        answer = view_page(client, shop, url=PRODUCT_URL)
        report_seen(client, shop, answer)
        if index < 2:
            assert collect(client, shop, answer).status_code == 200
    # The ended campaign's page offers nothing now.
    assert view_page(client, shop, url=OTHER_PRODUCT_URL).get("collectible") is None


def test_a_campaign_is_created_through_the_form_and_listed(
    owner: Page, live_app: str, shop: Shop, console
) -> None:
    page = owner
    page.goto(f"{live_app}{SCREEN}")
    assert page.locator("#no-campaigns").count() == 1

    # when the merchant fills the form in and creates the campaign
    _fill_campaign(page)
    page.click("#save-campaign")
    page.locator("#status", has_text="Campaign created.").wait_for()
    page.wait_for_url("**campaign=*")
    page.wait_for_load_state("networkidle")

    # then it is listed, live, selected, and stored as it was set
    entry = page.locator("#campaign-list .campaign")
    assert entry.count() == 1
    assert entry.locator(".campaign-name").inner_text() == "Explore the toys"
    assert entry.locator("[data-state]").inner_text() == "Live"
    assert page.locator("#editor-heading").inner_text() == "Edit Explore the toys"
    assert page.input_value("#target-1-value") == "/pages/*"
    assert page.is_disabled("#target-1-value")
    assert _stored(shop) == [
        {
            "name": "Explore the toys",
            "paused": False,
            "min_seconds": 15,
            "cap_per_visitor": Decimal("20.00"),
            "budget": Decimal("500.00"),
            "credit_expiry_days": 14,
            "look": {"icon": "star", "color": "#1d4ed8", "texts": {"en": "Grab it"}},
            "targets": [
                ("product", "chew-toy", Decimal("5.00")),
                ("url", "/pages/*", Decimal("2.50")),
            ],
        }
    ]
    assert console.errors == []
    shoot(page, "game-created")

    # when the merchant pauses it, then resumes it
    page.click("[data-pause]")
    page.locator("[data-state]", has_text="Paused").wait_for()
    paused = _stored(shop)[0]["paused"]
    page.click("[data-resume]")
    page.locator("[data-state]", has_text="Live").wait_for()

    # then the list followed
    assert paused is True
    assert _stored(shop)[0]["paused"] is False


def test_a_bad_reward_is_refused_at_its_field(
    owner: Page, live_app: str, shop: Shop
) -> None:
    page = owner
    page.goto(f"{live_app}{SCREEN}")

    # given three pages, the middle one removed: the third is now the second
    _fill_campaign(page)
    page.click("#add-target")
    _fill_target(page, 2, "collection", "cats", "25")
    page.locator('[data-field="targets[1]"] [data-remove-target]').click()

    # when
    page.click("#save-campaign")

    # then the sentence sits under that page's row, described by the reward,
    # and nothing was stored
    message = page.locator('[data-field="targets[1]"] > .field-error')
    message.wait_for()
    assert message.inner_text() == (
        "targets[1].reward: must not exceed cap_per_visitor, or nobody could"
        " collect it."
    )
    assert page.input_value("#target-1-value") == "cats"
    assert page.get_attribute("#target-1-reward", "aria-invalid") == "true"
    described_by = page.get_attribute("#target-1-reward", "aria-describedby")
    assert message.get_attribute("id") == described_by
    assert _stored(shop) == []
    shoot(page, "game-refused-reward")


@pytest.mark.parametrize(
    ("name", "viewport"),
    [("phone", PHONE), ("desktop", {"width": 1280, "height": 800})],
)
def test_the_screen_with_results_fits_the_width(
    owner: Page,
    live_app: str,
    shop: Shop,
    client: FlaskClient,
    name: str,
    viewport: dict[str, int],
) -> None:
    # given
    _seed_results(client, shop)
    page = owner
    page.set_viewport_size(viewport)

    # when
    page.goto(f"{live_app}{SCREEN}")
    page.wait_for_load_state("networkidle")

    # then the newest campaign's results are drawn, and nothing scrolls sideways
    assert page.locator("#campaign-list .campaign").count() == 2
    assert page.locator("#results figure.chart svg").count() == 2
    assert page.inner_text('[data-figure="collected"]') == "10.00"
    assert page.inner_text('[data-figure="shown_to"]') == "3"
    assert page.locator("#ledger-link").inner_text() == "Download ledger (CSV)"
    assert page.evaluate(HORIZONTAL_OVERFLOW) <= 0
    shoot(page, f"{name}-game")
