"""The team's inbox in Chromium, beside a shopper on the demo storefront.

Two browsers: the shopper writes in the store's widget, and an agent signed
in to the panel sees it arrive live in the inbox and answers; the answer
reaches the shopper live. The agent's internal note never reaches the
shopper; resolving the case shows the shopper the rating buttons. Markup in a
message stays text on both sides. Screenshots of the inbox at desktop and
phone width go to ``tests/browser/screenshots/`` (inbox-desktop, inbox-phone,
and inbox-phone-zh-TW for a browser set to Traditional Chinese).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import select

from engine.chat.models import Conversation
from engine.db import db, utcnow
from engine.shops.models import Shop
from engine.team.models import OWNER
from tests.admin import PASSWORD
from tests.admin.test_inbox_api import a_sent_reminder
from tests.browser.conftest import Console
from tests.browser.test_admin import HORIZONTAL_OVERFLOW, PHONE, shoot
from tests.browser.test_chat_widget import open_chat, send, stored_shopper_texts
from tests.chat import a_conversation, a_member, a_visitor

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

STREAM = "/api/admin/v1/inbox/stream?"
LIVE = 10_000
MARKUP = "<img src=x onerror=alert(1)>"


class Agent:
    """Mei's browser with the inbox open, and what it reported."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.console = Console()
        self.dialogs: list[str] = []
        page.on("console", self.console.on_console)
        page.on("pageerror", self.console.on_page_error)
        page.on(
            "dialog",
            lambda dialog: (self.dialogs.append(dialog.message), dialog.dismiss()),
        )

    def row(self, text: str):  # noqa: ANN201 - a Locator
        return self.page.locator("#conversation-list .conversation-row", has_text=text)

    def timeline(self):  # noqa: ANN201 - a Locator
        return self.page.get_by_role("log", name="Messages")

    def write(self, text: str, *, note: bool = False) -> None:
        toggle = self.page.locator("#note-toggle")
        if toggle.is_checked() != note:
            toggle.click()
        self.page.fill("#reply-text", text)
        self.page.click("#send-reply")


@pytest.fixture
def agent(browser: Browser, live_app: str, shop: Shop) -> Iterator[Agent]:
    """Mei, an agent, signed in with the inbox open and its live stream connected."""
    a_member(shop, "Mei")
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    mei = Agent(page)
    sign_in_to_inbox(page, live_app, shop, "mei@example.com")
    yield mei
    context.close()


def sign_in_to_inbox(
    page: Page, live_app: str, shop: Shop, email: str, link: str = "Inbox"
) -> None:
    """Sign in, open the inbox, and wait for its live stream to be connected."""
    page.goto(f"{live_app}/admin/login")
    page.fill("#shop", shop.shop_domain)
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_app}/admin")
    with page.expect_response(lambda response: STREAM in response.url) as stream:
        page.get_by_role("link", name=link).click()
    assert stream.value.status == 200


def test_the_agent_and_the_shopper_chat_live(
    page: Page, store_url: str, shop: Shop, console: Console, agent: Agent
) -> None:
    shopper_dialogs: list[str] = []
    page.on(
        "dialog",
        lambda dialog: (shopper_dialogs.append(dialog.message), dialog.dismiss()),
    )

    # given a shopper who writes in the store's chat
    log = open_chat(page, store_url + "products/rope-tug")
    send(page, "Do you have the rope tug in red?")
    assert stored_shopper_texts(shop, 1) == ["Do you have the rope tug in red?"]

    # then the conversation arrives in the agent's list, unread
    row = agent.row("Do you have the rope tug in red?")
    row.wait_for(timeout=LIVE)
    assert row.locator(".unread-dot").inner_text() == "1"

    # when the agent opens it and answers
    row.locator("button").click()
    timeline = agent.timeline()
    timeline.get_by_text("Do you have the rope tug in red?").wait_for()
    assert agent.page.locator("#reply-state").inner_text() == (
        "Replying in the store's web chat"
    )
    agent.write("Yes, we have it in red.")

    # then the shopper sees the answer live, under the agent's name
    log.get_by_text("Yes, we have it in red.").wait_for(timeout=LIVE)
    assert log.get_by_text("Mei", exact=True).count() == 1

    # when the shopper answers with markup, and the agent quotes it back
    send(page, MARKUP)
    timeline.get_by_text(MARKUP).wait_for(timeout=LIVE)
    agent.write(f"You wrote {MARKUP}")
    log.get_by_text(f"You wrote {MARKUP}").wait_for(timeout=LIVE)

    # when the agent leaves a note for the team, then resolves the case
    agent.write("Offer the red one with the bonus code.", note=True)
    note = agent.page.locator("#timeline .item.note")
    note.get_by_text("Offer the red one with the bonus code.").wait_for()
    assert note.locator(".who").inner_text() == "Note · Mei"
    agent.page.click("#resolve")
    agent.page.locator("#conversation-status", has_text="Resolved").wait_for()

    # then the shopper is asked for a rating, and never saw the note
    page.get_by_role("button", name="5 out of 5").wait_for(timeout=LIVE)
    assert log.get_by_text("Offer the red one").count() == 0
    assert log.get_by_text(MARKUP, exact=True).count() == 1

    # and markup stayed text on both sides: no image made of it, nothing ran
    assert timeline.get_by_text(MARKUP, exact=True).count() == 1
    assert agent.page.locator("#timeline img").count() == 0
    assert log.locator("img").count() == 0
    assert (agent.dialogs, shopper_dialogs) == ([], [])
    db.session.rollback()
    conversation = db.session.scalars(
        select(Conversation).where(Conversation.shop_id == shop.id)
    ).one()
    assert conversation.status == "resolved"

    # the inbox at desktop and phone width, every conversation listed,
    # without sideways scrolling
    agent.page.click("[data-queue=all]")
    agent.page.click("[data-status=open]")
    agent.row("Resolved · Mei").wait_for(timeout=LIVE)
    shoot(agent.page, "inbox-desktop")
    agent.page.set_viewport_size(PHONE)
    agent.page.locator("#timeline").scroll_into_view_if_needed()
    assert agent.page.evaluate(HORIZONTAL_OVERFLOW) == 0
    shoot(agent.page, "inbox-phone")
    assert agent.console.errors == []
    assert console.errors == []


@pytest.fixture
def owner(browser: Browser, live_app: str, shop: Shop) -> Iterator[Agent]:
    """Jun, an owner, signed in with the inbox open."""
    a_member(shop, "Jun", OWNER)
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    jun = Agent(context.new_page())
    sign_in_to_inbox(jun.page, live_app, shop, "jun@example.com")
    yield jun
    context.close()


def test_an_owner_sets_up_tags_and_saved_replies_and_works_a_case(
    shop: Shop, owner: Agent
) -> None:
    # given Lin's question, after a LINE reminder, and Mei on the team
    lin = a_visitor(shop, "Lin")
    a_sent_reminder(
        shop,
        lin,
        utcnow() - timedelta(minutes=30),
        [{"type": "text", "text": "Your cart misses you"}],
    )
    a_conversation(shop, lin, "Can I still get the discount?")
    a_member(shop, "Mei")
    page = owner.page

    # when Jun adds a tag and a saved reply in the inbox's settings
    page.get_by_text("Inbox settings").click()
    page.get_by_label("Name of the new tag").fill("vip")
    with page.expect_navigation():
        page.get_by_role("button", name="Add tag").click()
    page.get_by_text("Inbox settings").click()
    page.fill("#new-reply-title", "Hello")
    page.fill("#new-reply-body", "Hi {first_name|there}, {agent_name} here.")
    with page.expect_navigation():
        page.get_by_role("button", name="Add saved reply").click()

    # then they are there to use on Lin's case, beside the reminder she got
    owner.row("Can I still get the discount?").locator("button").click()
    timeline = owner.timeline()
    timeline.get_by_text("Reminder sent on LINE: Your cart misses you").wait_for()
    page.select_option("#saved-reply", label="Hello")
    page.wait_for_function(
        "() => document.getElementById('reply-text').value.length > 0"
    )
    assert page.input_value("#reply-text") == "Hi Lin, Jun here."

    # when Jun tags the case and hands it to Mei with a note
    page.get_by_text("Tags…").click()
    page.locator("#tag-choices label", has_text="vip").click()
    page.get_by_role("button", name="Save tags").click()
    page.locator("#conversation-tags", has_text="vip").wait_for()
    page.get_by_text("Assign…").click()
    page.select_option("#assign-to", label="Mei")
    page.fill("#assign-note", "She asks about the 10 % code.")
    page.get_by_role("button", name="Hand over").click()

    # then the case is Mei's, the note is in the timeline, the log says so
    page.locator("#conversation-assignee", has_text="Assigned to Mei").wait_for()
    timeline.get_by_text("She asks about the 10 % code.").wait_for()
    page.get_by_text("Assignment log").click()
    assert (
        page.locator("#assignment-log li")
        .inner_text()
        .endswith("Jun handed it over to Mei")
    )
    assert page.input_value("#reply-text") == "Hi Lin, Jun here."
    assert owner.console.errors == []


def test_the_inbox_in_traditional_chinese_at_phone_width(
    browser: Browser, live_app: str, shop: Shop
) -> None:
    # given Lin's question after a LINE reminder, and Jun, an owner whose
    # browser reads Traditional Chinese, with the inbox open on a phone
    lin = a_visitor(shop, "Lin")
    a_sent_reminder(
        shop,
        lin,
        utcnow() - timedelta(minutes=30),
        [{"type": "text", "text": "Your cart misses you"}],
    )
    a_conversation(shop, lin, "請問折扣碼還能用嗎？")
    a_member(shop, "Jun", OWNER)
    context = browser.new_context(locale="zh-TW", viewport=PHONE)
    jun = Agent(context.new_page())
    page = jun.page
    sign_in_to_inbox(page, live_app, shop, "jun@example.com", link="客服收件匣")

    # when Jun opens the conversation
    jun.row("請問折扣碼還能用嗎？").locator("button").click()
    timeline = page.get_by_role("log", name="訊息")
    timeline.get_by_text("已透過 LINE 發送提醒：Your cart misses you").wait_for()

    # then the inbox, the case and the reply box speak Chinese
    assert page.inner_text("h1") == "客服收件匣"
    assert page.locator("#queues .pill").all_inner_texts()[:1] == ["我的"]
    assert page.inner_text("#conversation-status") == "處理中"
    assert page.inner_text("#conversation-assignee") == "未指派"
    assert page.inner_text("#reply-state") == "在商店網站聊天中回覆"
    assert page.inner_text("#send-reply") == "傳送"
    page.locator("#sidebar-body h3", has_text="已發送的提醒").wait_for()

    # when Jun switches to an internal note
    page.locator("#note-toggle").click()

    # then
    assert page.inner_text("#send-reply") == "新增備註"
    assert page.inner_text("#reply-state") == "內部備註：只有團隊看得到。"
    assert page.evaluate(HORIZONTAL_OVERFLOW) == 0
    page.locator("#conversation").scroll_into_view_if_needed()
    shoot(page, "inbox-phone-zh-TW")
    assert jun.console.errors == []
    context.close()
