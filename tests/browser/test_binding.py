"""Binding on the demo storefront, the sandbox standing in for LINE and Messenger.

The pop-up appears, the shopper presses a channel, goes through the fake
platform's own screens in the window that opens, and comes back to a
storefront that has noticed: the success message, then no pop-up.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from flask import Flask
from sqlalchemy import select

from engine.binding.models import ChannelBinding
from engine.binding.popup import update_popup
from engine.db import db
from engine.shops.models import Shop
from tests.binding.conftest import binding_shop, line_fake, messenger_fake  # noqa: F401
from tests.browser.visiting import visit
from tests.conftest import run_jobs

if TYPE_CHECKING:
    from playwright.sync_api import Locator, Page

    from tests.browser.conftest import Console

POPUP = "Get your cart back on LINE or Messenger"
SUCCESS = "You're all set: we'll message you there."


def bindings_of(shop: Shop) -> list[ChannelBinding]:
    db.session.rollback()
    return list(
        db.session.scalars(
            select(ChannelBinding).where(ChannelBinding.shop_id == shop.id)
        )
    )


def wait_for_text(app: Flask, dialog: Locator, text: str, timeout: float = 45) -> None:
    """Until ``text`` shows in the dialog, applying delivered webhooks meanwhile."""
    deadline = time.monotonic() + timeout
    while not dialog.get_by_text(text).count():
        assert time.monotonic() < deadline, f"{text!r} never appeared"
        run_jobs(app)
        time.sleep(0.3)


def test_line_login_from_the_pop_up_binds_and_the_pop_up_goes(
    app: Flask,
    page: Page,
    store_url: str,
    binding_shop: Shop,  # noqa: F811
    console: Console,
) -> None:
    # given the pop-up switched on, at once on any page
    update_popup(binding_shop, trigger="seconds", trigger_count=0)

    # when a desktop shopper opens the store, presses LINE and logs in instead
    visit(page, store_url)
    dialog = page.get_by_role("dialog", name=POPUP)
    dialog.wait_for()
    dialog.get_by_role("checkbox").check()
    dialog.get_by_role("button", name="LINE", exact=True).click()
    dialog.get_by_role("img", name="QR code that opens our LINE account").wait_for()
    with page.context.expect_page() as opened:
        dialog.get_by_role("button", name="Log in with LINE instead").click()
    line = opened.value
    line.get_by_role("button", name="Allow").click()
    line.get_by_role("button", name="Add friend").click()
    line.get_by_text("Connected to LINE").wait_for()

    # then the storefront notices, thanks the shopper and the pop-up goes
    wait_for_text(app, dialog, SUCCESS)
    dialog.wait_for(state="detached", timeout=10_000)
    [binding] = bindings_of(binding_shop)
    assert (binding.channel, binding.marketing_consent, binding.reachable) == (
        "line",
        True,
        True,
    )
    assert console.errors == []


def test_messenger_from_the_pop_up_binds_and_the_pop_up_goes(
    app: Flask,
    page: Page,
    store_url: str,
    binding_shop: Shop,  # noqa: F811
    console: Console,
) -> None:
    # given the pop-up switched on
    update_popup(binding_shop, trigger="seconds", trigger_count=0)

    # when the shopper presses Messenger and starts the conversation
    visit(page, store_url)
    dialog = page.get_by_role("dialog", name=POPUP)
    dialog.wait_for()
    with page.context.expect_page() as opened:
        dialog.get_by_role("button", name="Messenger").click()
    thread = opened.value
    thread.get_by_role("button", name="Get Started").click()
    thread.wait_for_load_state()

    # then the binding is made, the storefront says so, the pop-up goes
    wait_for_text(app, dialog, SUCCESS)
    dialog.wait_for(state="detached", timeout=10_000)
    [binding] = bindings_of(binding_shop)
    assert (binding.channel, binding.marketing_consent) == ("messenger", False)
    assert console.errors == []
