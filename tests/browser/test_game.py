"""The bonus game on the demo storefront: collect on a page, redeem, apply the code."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest
from flask import Flask
from flask.testing import FlaskClient

from engine.game import create_campaign, targets
from engine.shops.models import Shop
from plugin.sandbox.shopify_platform import FakeShopifyPlatform
from plugin.sandbox.storefront import open_storefront
from tests.browser.visiting import visit
from tests.conftest import SHOP_DOMAIN, run_jobs
from tests.game import install_paying_shop

if TYPE_CHECKING:
    from playwright.sync_api import Locator, Page

    from tests.browser.conftest import Console


@pytest.fixture
def shop(app: Flask, client: FlaskClient, platform: FakeShopifyPlatform) -> Shop:
    """The demo shop, granting the scopes the game pays out with."""
    return install_paying_shop(client, platform, SHOP_DOMAIN)


def a_live_campaign(shop: Shop, min_seconds: int = 2) -> None:
    """NT$5 on the rope toy's page, collectable after ``min_seconds``."""
    create_campaign(
        shop,
        name="Explore the shop",
        starts_at=datetime.now(UTC) - timedelta(minutes=1),
        targets=[{"kind": "product", "value": "rope-tug", "reward": "5"}],
        min_seconds=min_seconds,
        cap_per_visitor="50",
        budget="1000",
    )
    targets.forget_all()


def until_visible(app: Flask, locator: Locator, timeout: float = 20.0) -> None:
    """Run queued jobs (the payout) as a worker would, until ``locator`` shows."""
    deadline = time.monotonic() + timeout
    while not locator.is_visible():
        assert time.monotonic() < deadline, f"{locator} never appeared"
        run_jobs(app)
        time.sleep(0.2)


def test_shopper_collects_redeems_and_applies_the_code(
    app: Flask,
    page: Page,
    store_url: str,
    shop: Shop,
    platform: FakeShopifyPlatform,
    console: Console,
) -> None:
    # given a live campaign on the rope toy's page
    a_live_campaign(shop)

    # when a shopper opens the page and stays: the coin appears in time
    started = time.monotonic()
    answer = visit(page, store_url + "products/rope-tug")
    assert answer["collectible"]["amount"] == "5.00"
    coin = page.get_by_role("button", name="Collect a NT$5 bonus")
    coin.wait_for(timeout=10_000)
    assert time.monotonic() - started >= 2

    # and taps it: the wallet is credited, and says so
    coin.click()
    page.get_by_role("status").filter(
        has_text="NT$5 added to your bonus wallet."
    ).wait_for()
    assert coin.count() == 0

    # when they put the toy in the cart and open the wallet
    page.get_by_role("button", name="Add to cart").click()
    page.get_by_text("Added to your cart.").wait_for()
    page.get_by_role("button", name="Open Revisit").click()
    wallet = page.get_by_role("region", name="Bonus wallet")
    wallet.get_by_text("NT$5", exact=True).wait_for()
    assert wallet.get_by_text("Collected · Explore the shop · +NT$5").count() == 1

    # and use the balance: a one-time code for NT$5 is made on the platform
    wallet.get_by_role("button", name="Use my balance").click()
    apply = wallet.get_by_role("link", name="Apply to cart")
    until_visible(app, apply)
    code = wallet.locator(".z").inner_text()
    [discount] = platform.discounts(shop.shop_domain)
    assert (discount.code, str(discount.amount)) == (code, "5.00")
    assert wallet.get_by_text("NT$0", exact=True).count() == 1

    # then "Apply to cart" takes them to the cart, with the code applied
    with page.expect_navigation(url="**/cart"):
        apply.click()
    applied = page.locator(f"[data-discount-code='{code}']")
    assert applied.inner_text() == f"Discount {code}: −TWD 5"
    assert page.locator("[data-cart-total]").inner_text() == "TWD 315"
    assert console.errors == []


def test_collectible_is_keyboard_usable_and_speaks_zh_tw(
    page: Page,
    store_url: str,
    live_app: str,
    shop: Shop,
    platform: FakeShopifyPlatform,
    console: Console,
) -> None:
    # given a campaign on the page, on a storefront in Traditional Chinese
    a_live_campaign(shop, min_seconds=1)
    open_storefront(
        platform,
        shop.shop_domain,
        app_url=live_app,
        widget_key=shop.widget_key,
        locale="zh-TW",
    )

    # when the coin appears while the shopper types a quantity
    visit(page, store_url + "products/rope-tug")
    page.get_by_label("Quantity").focus()
    coin = page.get_by_role("button", name="領取 $5 紅利")
    coin.wait_for(timeout=10_000)

    # then it took no focus, and a live region told screen readers about it
    assert page.evaluate("document.activeElement.id") == "quantity"
    assert page.locator("revisit-widget [aria-live=polite]").first.inner_text() == (
        "此頁有紅利可以領取：$5。"
    )

    # and Enter on it collects, said in Chinese
    coin.focus()
    page.keyboard.press("Enter")
    page.get_by_role("status").filter(has_text="已將 $5 存入您的紅利錢包。").wait_for()
    assert console.errors == []
