"""On-site messages on the demo storefront: shown by their rules, counted, closed."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from engine.onsite.rules import create_message
from engine.shops.models import Shop
from plugin.sandbox.shopify_platform import FakeShopifyPlatform
from plugin.sandbox.storefront import open_storefront
from tests.browser.visiting import (
    follow,
    reload,
    switch_chat_off,
    visit,
    widget_hosts,
)

if TYPE_CHECKING:
    from playwright.sync_api import Locator, Page

    from tests.browser.conftest import Console, TrackedEvents

MESSAGE = "revisit-widget [role=dialog]"


def a_message(shop: Shop, title: str = "Free shipping today", **fields: Any):
    values = {
        "name": title,
        "kind": "text",
        "texts": {"en": {"title": title, "body": "Orders over NT$1,000 ship free."}},
        **fields,
    }
    return create_message(shop, **values)


def shown(page: Page) -> Locator:
    return page.locator(MESSAGE)


def test_message_appears_when_its_rule_matches(
    page: Page, store_url: str, shop: Shop, tracked: TrackedEvents, console: Console
) -> None:
    # given a message for product pages
    message = a_message(shop, url_match="contains", url_value="/products/")

    # when a shopper opens a product page
    answer = visit(page, store_url + "products/rope-tug")

    # then it shows, labelled by its title, and its view is counted
    assert answer["message"]["id"] == message.id
    dialog = page.get_by_role("dialog", name="Free shipping today")
    dialog.wait_for()
    assert dialog.get_attribute("aria-modal") == "false"
    assert dialog.get_by_text("Orders over NT$1,000 ship free.").is_visible()
    [view] = tracked("message_view")
    assert view.message_id == message.id
    assert console.errors == []


def test_message_not_shown_where_its_rule_does_not_match(
    page: Page, store_url: str, shop: Shop, tracked: TrackedEvents
) -> None:
    # given a message for product pages only, in a shop without chat
    a_message(shop, url_match="contains", url_value="/products/")
    switch_chat_off(shop)

    # when a shopper opens the home page and a collection
    answers = [visit(page, store_url), visit(page, store_url + "collections/all")]

    # then no message is offered or drawn, and no view is counted
    assert [answer["message"] for answer in answers] == [None, None]
    assert widget_hosts(page) == 0
    assert tracked("message_view", timeout=0) == []


def test_message_priority_prefers_the_specific_page(
    page: Page, store_url: str, shop: Shop
) -> None:
    # given a message for this one product, and a newer one for every page
    product_url = store_url + "products/rope-tug"
    specific = a_message(
        shop, "A treat for your dog", url_match="is", url_value=product_url
    )
    a_message(shop, "Welcome to the shop")

    # when a shopper opens that product
    answer = visit(page, product_url)

    # then the specific message wins over the newer, broader one
    assert answer["message"]["id"] == specific.id
    page.get_by_role("dialog", name="A treat for your dog").wait_for()
    assert shown(page).count() == 1


def test_dismissed_message_stays_closed_across_reloads(
    page: Page, store_url: str, shop: Shop, tracked: TrackedEvents
) -> None:
    # given a message on every page, shown to a shopper
    message = a_message(shop)
    visit(page, store_url)
    dialog = page.get_by_role("dialog", name="Free shipping today")
    dialog.wait_for()

    # when they close it
    dialog.get_by_role("button", name="Close message").click()

    # then it is gone, its dismissal is counted, and a reload does not bring it back
    assert shown(page).count() == 0
    [dismissal] = tracked("message_dismiss")
    assert dismissal.message_id == message.id
    reload(page)
    assert shown(page).count() == 0

    # and the app remembers it too: without this browser's memory it stays away
    page.evaluate("localStorage.removeItem('revisit:dismissed')")
    assert reload(page)["message"] is None
    assert shown(page).count() == 0


def test_message_does_not_take_focus_and_escape_closes_it(
    page: Page, store_url: str, shop: Shop, tracked: TrackedEvents
) -> None:
    # given a message shown 3 s into a product page, to a shopper typing a quantity
    a_message(shop, delay_seconds=3)
    page.clock.install()
    visit(page, store_url + "products/rope-tug")
    page.focus("#quantity")

    # when the message appears
    page.clock.run_for(3_000)
    dialog = page.get_by_role("dialog", name="Free shipping today")
    dialog.wait_for()

    # then focus stays where the shopper put it, and Escape there is the theme's
    assert page.evaluate("document.activeElement.id") == "quantity"
    page.keyboard.press("Escape")
    assert dialog.is_visible()

    # and once they move focus out of the form, Escape closes the message
    page.evaluate("document.activeElement.blur()")
    page.keyboard.press("Escape")
    assert shown(page).count() == 0
    assert len(tracked("message_dismiss")) == 1


def test_message_waits_for_its_delay(page: Page, store_url: str, shop: Shop) -> None:
    # given a message that shows after 10 seconds on the page (on a fake clock)
    a_message(shop, delay_seconds=10)
    page.clock.install()
    visit(page, store_url)

    # when 8 seconds pass, then 2 more
    page.clock.run_for(8_000)
    before = shown(page).count()
    page.clock.run_for(2_000)

    # then it was not there at 8 s, and is at 10 s
    assert before == 0
    page.get_by_role("dialog", name="Free shipping today").wait_for()


def test_exit_intent_message_shows_when_the_pointer_leaves_through_the_top(
    page: Page, store_url: str, shop: Shop
) -> None:
    # given an exit-intent message, and a shopper whose pointer is on the page
    a_message(shop, exit_intent=True)
    visit(page, store_url)
    page.mouse.move(640, 400)
    page.mouse.move(640, 300)
    assert shown(page).count() == 0

    # when the pointer leaves the window through the top (towards the tabs)
    page.mouse.move(640, -5)

    # then the message shows
    page.get_by_role("dialog", name="Free shipping today").wait_for()


def test_button_message_link_carries_utm_tags_and_counts_the_click(
    page: Page, store_url: str, shop: Shop, tracked: TrackedEvents
) -> None:
    # given a button message that links to the dogs collection
    message = a_message(
        shop,
        kind="button",
        texts={"en": {"title": "New rope toys", "button_label": "See them"}},
        link_url=store_url + "collections/dogs",
        slug="rope-week",
    )
    visit(page, store_url)

    # when the shopper presses its button
    follow(page, f"{MESSAGE} >> role=link[name='See them']")

    # then they land there with our tags, and the click is counted
    assert page.url == (
        store_url + "collections/dogs"
        "?utm_source=revisit&utm_medium=onsite&utm_campaign=rope-week"
    )
    [click] = tracked("message_click")
    assert click.message_id == message.id


def test_image_message_shows_its_picture_as_the_link(
    page: Page, store_url: str, shop: Shop
) -> None:
    # given an image message
    a_message(
        shop,
        kind="image",
        image_url=store_url + "images/donut-bed.svg",
        link_url=store_url + "products/donut-bed",
    )

    # when it shows
    visit(page, store_url)
    dialog = page.get_by_role("dialog", name="Free shipping today")
    dialog.wait_for()

    # then the picture, loaded before showing, is a link named by the title
    link = dialog.get_by_role("link", name="Free shipping today")
    assert link.get_attribute("href").startswith(store_url + "products/donut-bed?")
    assert link.locator("img").evaluate("(image) => image.naturalWidth") == 600


def test_message_speaks_the_store_locale(
    page: Page,
    shop: Shop,
    platform: FakeShopifyPlatform,
    live_app: str,
    store_url: str,
) -> None:
    # given a store in Traditional Chinese, and a message written in two languages
    zh_store = open_storefront(
        platform,
        shop.shop_domain,
        app_url=live_app,
        widget_key=shop.widget_key,
        locale="zh-TW",
    )
    a_message(
        shop,
        texts={
            "en": {"title": "Free shipping today"},
            "zh-TW": {"title": "今日免運"},
        },
    )

    # when a shopper opens it
    visit(page, zh_store)

    # then the message and its close button speak Traditional Chinese
    dialog = page.get_by_role("dialog", name="今日免運")
    dialog.wait_for()
    assert dialog.get_by_role("button", name="關閉訊息").is_visible()
