"""Helpers for driving the demo storefront: visit a page, let the widget settle."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from engine.chat import shopper
from engine.chat.setup import update_chat_settings
from engine.db import db
from engine.shops.models import Shop

if TYPE_CHECKING:
    from playwright.sync_api import Page

PAGE_ENDPOINT = "/api/widget/v1/page"
IDLE_THEN_A_MOMENT = (
    "() => new Promise((done) =>"
    " requestIdleCallback(() => setTimeout(done, 50), { timeout: 2000 }))"
)


def visit(
    page: Page, url: str, referer: str | None = None, *, settled: bool = True
) -> dict[str, Any]:
    """Open a storefront page; return the app's answer to its page view.

    ``settled=False`` returns as soon as the answer arrived: for a page on a
    paused fake clock, whose idle callbacks and timers wait for the test.
    """
    with page.expect_response(lambda r: r.url.endswith(PAGE_ENDPOINT)) as answer:
        page.goto(url, referer=referer)
    response = answer.value
    assert response.status == 200, response.text()
    if settled:
        settle(page)
    return response.json()


def follow(page: Page, selector: str) -> dict[str, Any]:
    """Click a link or button that leads to another storefront page."""
    with page.expect_response(lambda r: r.url.endswith(PAGE_ENDPOINT)) as answer:
        page.click(selector)
    settle(page)
    return answer.value.json()


def reload(page: Page) -> dict[str, Any]:
    """Reload the page; return the app's answer to the new page view."""
    with page.expect_response(lambda r: r.url.endswith(PAGE_ENDPOINT)) as answer:
        page.reload()
    settle(page)
    return answer.value.json()


def settle(page: Page) -> None:
    """Wait until the page has loaded and the browser has had idle time twice.

    The widget does its visible work in idle callbacks after ``load``; two
    rounds leave room for a chunk import started in the first.
    """
    page.wait_for_load_state("load")
    for _ in range(2):
        page.evaluate(IDLE_THEN_A_MOMENT)


def widget_hosts(page: Page) -> int:
    """How many widget hosts the page holds (0 when the widget shows nothing)."""
    return page.locator("revisit-widget").count()


def switch_chat_off(shop: Shop) -> None:
    """Turn the shop's chat off, so the widget draws nothing unasked."""
    update_chat_settings(shop, enabled=False)
    db.session.commit()
    shopper.forget_chat_offers()
