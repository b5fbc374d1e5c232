"""The widget on the demo storefront: it loads cleanly and records what happens."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select

from engine.db import db
from engine.shops.models import Shop
from engine.webhooks.models import WebhookDelivery
from plugin.sandbox.shopify_platform import FakeShopifyPlatform
from plugin.sandbox.storefront import wait_for_webhooks
from tests.browser.visiting import follow, switch_chat_off, visit, widget_hosts

if TYPE_CHECKING:
    from playwright.sync_api import Page

    from tests.browser.conftest import Console, TrackedEvents

ROPE_TUG = "8100000000003"
ROPE_TUG_MEDIUM = "45100000000031"


def test_widget_loads_without_console_errors_and_shows_nothing_unasked(
    page: Page, store_url: str, shop: Shop, console: Console
) -> None:
    # given a store with the app embed on and no message or feature for anyone
    # (its chat switched off)
    switch_chat_off(shop)

    # when a shopper walks through the home, a collection, a product and the cart
    answers = [
        visit(page, store_url + path)
        for path in ("", "collections/dogs", "products/rope-tug", "cart")
    ]

    # then the widget answered every page, logged nothing and drew nothing
    assert [answer["message"] for answer in answers] == [None, None, None, None]
    assert console.errors == []
    assert widget_hosts(page) == 0


def test_page_view_recorded_with_page_type_and_product(
    page: Page, store_url: str, tracked: TrackedEvents
) -> None:
    # given a shopper who arrives on the home page from a campaign post
    landing = store_url + "?utm_source=line&utm_campaign=spring"
    visit(page, landing, referer="https://social.example/post/1")

    # when they open a product from there
    follow(page, "a:has-text('Rope Tug Dog Toy')")

    # then both views are recorded: the landing with its tags, the product with
    # its product and the landing as referrer
    home, product = tracked("page_view", count=2)
    assert (home.page_type, home.product_id, home.url) == ("home", None, landing)
    assert (home.utm_source, home.utm_campaign) == ("line", "spring")
    assert home.referrer == "https://social.example/post/1"
    assert (product.page_type, product.product_id, product.product_handle) == (
        "product",
        ROPE_TUG,
        "rope-tug",
    )
    assert (product.url, product.referrer) == (store_url + "products/rope-tug", landing)
    assert product.visitor_id == home.visitor_id


def test_time_on_page_recorded_after_leaving(
    page: Page, store_url: str, tracked: TrackedEvents
) -> None:
    # given a shopper who spends 42 seconds on a product page (on a fake clock)
    pause_clock(page)
    visit(page, store_url + "products/rope-tug", settled=False)
    page.clock.run_for(42_000)

    # when they leave for the cart
    visit(page, store_url + "cart", settled=False)

    # then the time they saw the product page is recorded against it
    [leave] = tracked("page_leave")
    assert leave.seconds_on_page == 42
    assert leave.url == store_url + "products/rope-tug"


def test_time_on_page_counts_only_visible_time(
    page: Page, store_url: str, tracked: TrackedEvents
) -> None:
    # given a shopper who reads a page for 10 s, switches tabs for 60 s, comes back
    pause_clock(page)
    visit(page, store_url, settled=False)
    page.clock.run_for(10_000)
    _set_visibility(page, "hidden")
    page.clock.run_for(60_000)
    _set_visibility(page, "visible")
    page.clock.run_for(5_000)

    # when they leave
    visit(page, store_url + "cart", settled=False)

    # then only the 15 visible seconds count
    [leave] = tracked("page_leave")
    assert leave.seconds_on_page == 15


def test_add_to_cart_by_fetch_recorded_with_the_cart(
    page: Page,
    store_url: str,
    tracked: TrackedEvents,
    shop: Shop,
    platform: FakeShopifyPlatform,
) -> None:
    # given a shopper on a product page
    visit(page, store_url + "products/rope-tug")

    # when the theme adds two to the cart with fetch (/cart/add.js)
    page.fill("#quantity", "2")
    page.click("[data-add-to-cart]")
    page.wait_for_selector("text=Added to your cart.")

    # then an add_to_cart event names the product, variant, quantity and cart
    [added] = tracked("add_to_cart")
    assert (added.product_id, added.variant_id, added.quantity) == (
        ROPE_TUG,
        ROPE_TUG_MEDIUM,
        2,
    )
    assert (str(added.cart_total), added.cart_item_count, added.cart_currency) == (
        "640.00",
        2,
        "TWD",
    )
    assert added.cart_token is not None and "?" not in added.cart_token

    # and the platform told the app of the new cart, under the same token
    wait_for_webhooks(platform)
    db.session.rollback()
    deliveries = db.session.scalars(
        select(WebhookDelivery).where(WebhookDelivery.shop_id == shop.id)
    ).all()
    assert [delivery.topic for delivery in deliveries] == ["carts/create"]


def test_remove_from_cart_by_xhr_recorded(
    page: Page, store_url: str, tracked: TrackedEvents
) -> None:
    # given a shopper with two rope toys in the cart
    visit(page, store_url + "products/rope-tug")
    page.fill("#quantity", "2")
    page.click("[data-add-to-cart]")
    page.wait_for_selector("text=Added to your cart.")
    visit(page, store_url + "cart")

    # when the cart page's XMLHttpRequest lowers the quantity, then removes it
    page.click("button[aria-label='One fewer Rope Tug Dog Toy - Medium']")
    page.wait_for_selector("[data-quantity]:text-is('1')")
    page.click("button:has-text('Remove')")
    page.wait_for_selector("text=Your cart is empty.")

    # then two removals are recorded, one of each size, the last with an empty cart
    first, second = tracked("remove_from_cart", count=2)
    assert [(e.variant_id, e.quantity) for e in (first, second)] == [
        (ROPE_TUG_MEDIUM, 1),
        (ROPE_TUG_MEDIUM, 1),
    ]
    assert (first.cart_item_count, second.cart_item_count) == (1, 0)
    assert str(second.cart_total) == "0.00"


def test_add_to_cart_by_form_post_recorded_on_the_next_page(
    page: Page, store_url: str, tracked: TrackedEvents
) -> None:
    # given a shopper on a collection page, whose quick-add is a plain form post
    visit(page, store_url + "collections/dogs")

    # when they quick-add the leash and land on the cart page
    follow(page, "button:has-text('Reflective Dog Leash')")

    # then the addition is recorded once, from the cart page
    [added] = tracked("add_to_cart")
    assert (added.product_id, added.variant_id, added.quantity) == (
        "8100000000004",
        "45100000000041",
        1,
    )
    assert added.url == store_url + "cart"


def pause_clock(page: Page) -> None:
    # Time in the page moves only by run_for: seconds come out exact. Paused a
    # moment after the installed time: pausing at "now" may already be past.
    start = datetime.now(UTC)
    page.clock.install(time=start)
    page.clock.pause_at(start + timedelta(seconds=1))


def _set_visibility(page: Page, state: str) -> None:
    # Headless Chromium has no other tab to switch to: report the change the
    # way the browser would, through document.hidden and visibilitychange.
    page.evaluate(
        """(state) => {
            const as = (value) => ({ value, configurable: true });
            Object.defineProperty(document, 'visibilityState', as(state));
            Object.defineProperty(document, 'hidden', as(state == 'hidden'));
            document.dispatchEvent(new Event('visibilitychange'));
        }""",
        state,
    )
