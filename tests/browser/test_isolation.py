"""The widget and the store's theme leave each other alone, and nothing moves.

The demo theme is hostile on purpose (global ``*`` rules, ``button`` and
``[role=dialog]`` rules with ``!important``, a header with a huge z-index).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from engine.onsite.rules import create_message
from engine.shops.models import Shop
from plugin.widget_api import routes
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.browser.visiting import IDLE_THEN_A_MOMENT, PAGE_ENDPOINT, visit

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

    from tests.browser.conftest import TrackedEvents

# Computed properties that a theme's styles would change if they leaked.
STYLE_PROPERTIES = (
    "font-family",
    "font-size",
    "letter-spacing",
    "text-transform",
    "color",
    "background-color",
    "border-top-width",
    "box-shadow",
    "box-sizing",
    "padding-top",
    "display",
    "z-index",
)
COMPUTED_STYLE = """(node, names) => {
    const style = getComputedStyle(node);
    return Object.fromEntries(names.map((n) => [n, style.getPropertyValue(n)]));
}"""


def styles(page: Page, selector: str) -> dict[str, str]:
    return page.locator(selector).evaluate(COMPUTED_STYLE, list(STYLE_PROPERTIES))


@pytest.fixture
def message_everywhere(shop: Shop) -> None:
    create_message(
        shop,
        name="Rope week",
        kind="button",
        texts={"en": {"title": "Rope week", "button_label": "See the ropes"}},
        link_url="https://revisit-test.myshopify.com/collections/dogs",
    )


@pytest.fixture
def every_feature(monkeypatch: pytest.MonkeyPatch) -> None:
    # The live app runs in this process: the page answer offers every feature
    # not built yet (binding is on for shops with a channel connected).
    for name in ("chat", "game"):
        monkeypatch.setitem(routes.FEATURES, name, True)


def test_widget_styles_do_not_leak_out(
    page: Page, store_url: str, message_everywhere: None, every_feature: None
) -> None:
    # given the store's own button and text, styled before the widget shows
    page.route("**/revisit-loader.js*", lambda route: route.abort())
    page.goto(store_url + "products/rope-tug")
    before = {
        selector: styles(page, selector)
        for selector in ("[data-add-to-cart]", "body", "h1", ".product-price")
    }
    page.unroute("**/revisit-loader.js*")

    # when the same page loads with the widget, showing a message and the bubble
    visit(page, store_url + "products/rope-tug")
    page.get_by_role("dialog", name="Rope week").wait_for()
    page.get_by_role("button", name="Open Revisit").wait_for()

    # then the store's elements are styled exactly as before
    after = {selector: styles(page, selector) for selector in before}
    assert after == before


def test_store_styles_do_not_leak_in(
    page: Page, store_url: str, message_everywhere: None, every_feature: None
) -> None:
    # given a theme whose rules hit every button, link and dialog
    visit(page, store_url + "products/rope-tug")
    dialog = page.get_by_role("dialog", name="Rope week")
    dialog.wait_for()

    # when the widget's parts are drawn
    bubble = styles(page, "revisit-widget >> .b")
    close = styles(page, "revisit-widget >> .x")
    link = styles(page, "revisit-widget >> .c")

    # then none of them took the theme's fonts, colours, borders or spacing
    theme_button = styles(page, "[data-add-to-cart]")
    for widget_part in (bubble, close, link):
        assert "Georgia" not in widget_part["font-family"]
        assert widget_part["text-transform"] == "none"
        assert widget_part["letter-spacing"] == "normal"
        assert widget_part["box-shadow"] != theme_button["box-shadow"]
        assert widget_part["box-sizing"] == "border-box"
    assert bubble["background-color"] == "rgb(31, 41, 55)"
    assert bubble["border-top-width"] == "0px"
    assert (close["background-color"], close["padding-top"]) == (
        "rgba(0, 0, 0, 0)",
        "0px",
    )
    # The theme hides every [role=dialog] with !important: not ours.
    assert dialog.is_visible()
    # The theme's sticky header sits at z-index 2147483000; the widget is above.
    assert styles(page, "revisit-widget >> .w")["z-index"] == "2147483647"


def test_widget_causes_no_layout_shift(
    page: Page, store_url: str, message_everywhere: None, every_feature: None
) -> None:
    # given a page that records every layout shift from the start
    page.add_init_script(
        """window.layoutShifts = [];
        new PerformanceObserver((list) => {
            for (const shift of list.getEntries()) layoutShifts.push(shift.value);
        }).observe({ type: 'layout-shift', buffered: true });"""
    )

    # when the widget shows its bubble and a message
    visit(page, store_url + "collections/dogs")
    page.get_by_role("dialog", name="Rope week").wait_for()
    page.get_by_role("button", name="Open Revisit").wait_for()

    # then nothing on the page moved
    assert page.evaluate("window.layoutShifts") == []


def test_bubble_opens_the_panel_of_the_features_on(
    page: Page, store_url: str, every_feature: None
) -> None:
    # given a shop with every feature on, and no message
    visit(page, store_url)
    bubble = page.get_by_role("button", name="Open Revisit")
    bubble.wait_for()
    assert bubble.get_attribute("aria-expanded") == "false"

    # when the shopper opens it from the keyboard
    bubble.focus()
    page.keyboard.press("Enter")

    # then the panel is open, has focus, and shows the chat and the bonus wallet
    panel = page.get_by_role("dialog", name="Store assistant")
    panel.get_by_role("heading", name="Chat with the store").wait_for()
    panel.get_by_role("heading", name="Bonus wallet").wait_for()
    assert bubble.get_attribute("aria-expanded") == "true"
    assert page.evaluate(
        "document.querySelector('revisit-widget').shadowRoot.activeElement.id"
    ) == ("revisit-panel")
    assert panel.get_by_label("Your message").count() == 1

    # and Escape closes it, handing focus back to the bubble
    page.keyboard.press("Escape")
    assert not panel.is_visible()
    assert bubble.get_attribute("aria-expanded") == "false"
    assert page.evaluate(
        "document.querySelector('revisit-widget').shadowRoot.activeElement.className"
    ) == ("b")


def test_escape_in_the_panel_leaves_the_message_open(
    page: Page,
    store_url: str,
    message_everywhere: None,
    every_feature: None,
    tracked: TrackedEvents,
) -> None:
    # given a message on screen and the panel opened beside it
    visit(page, store_url)
    message = page.get_by_role("dialog", name="Rope week")
    message.wait_for()
    page.get_by_role("button", name="Open Revisit").click()
    panel = page.get_by_role("dialog", name="Store assistant")
    panel.get_by_role("heading", name="Chat with the store").wait_for()

    # when the shopper closes the panel with Escape
    page.keyboard.press("Escape")

    # then only the panel closed: the message stays, and nothing was dismissed
    assert not panel.is_visible()
    assert message.is_visible()
    assert tracked("message_dismiss", timeout=2) == []


def test_page_back_from_the_back_forward_cache_shows_one_bubble_and_one_message(
    browser: Browser, store_url: str, message_everywhere: None, every_feature: None
) -> None:
    # given a browser that keeps pages in the back/forward cache (Playwright
    # turns that off by default), on a page showing the bubble and a message
    cached = browser.browser_type.launch(
        executable_path=str(CHROMIUM),
        args=CHROMIUM_ARGS,
        ignore_default_args=["--disable-back-forward-cache"],
    )
    page = cached.new_page()
    page.add_init_script(
        "addEventListener('pageshow', (e) => { window.fromCache = e.persisted; })"
    )
    visit(page, store_url)
    page.get_by_role("dialog", name="Rope week").wait_for()

    # when the shopper goes to another page and comes back
    visit(page, store_url + "cart")
    with page.expect_response(lambda r: r.url.endswith(PAGE_ENDPOINT)):
        # A page from the cache fires no "load" event: wait for the commit only.
        page.go_back(wait_until="commit")
    for _ in range(2):
        page.evaluate(IDLE_THEN_A_MOMENT)

    # then the restored page still has one bubble and one message
    assert page.evaluate("window.fromCache") is True
    assert page.get_by_role("button", name="Open Revisit").count() == 1
    assert page.get_by_role("dialog", name="Rope week").count() == 1
    cached.close()
