"""The shopper's live chat on the demo storefront: send, hear back live, reload.

The widget talks to the real chat endpoints (``plugin/widget_api/chat.py``)
and its stream; the team's side is played through ``engine.chat``.
"""

from __future__ import annotations

import importlib
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from flask import Flask
from sqlalchemy import select

from engine.db import db
from engine.shops.models import Shop
from engine.team.accounts import add_member
from engine.team.models import TeamMember
from tests.browser.visiting import reload, visit

if TYPE_CHECKING:
    from playwright.sync_api import Locator, Page, Request

    from tests.browser.conftest import Console

REPO = Path(__file__).resolve().parents[2]
HISTORY_ENDPOINT = "/api/widget/v1/chat/history"
AGENT_NAME = "Mei"


def _missing_server_side() -> str | None:
    if not (REPO / "plugin" / "widget_api" / "chat.py").is_file():
        return (
            "the widget's chat endpoints (plugin/widget_api/chat.py) do not exist yet"
        )
    chat = importlib.import_module("engine.chat")
    if not hasattr(chat, "post_agent_reply"):
        return "engine.chat has no post_agent_reply() to answer as the team yet"
    return None


MISSING = _missing_server_side()
pytestmark = pytest.mark.skipif(MISSING is not None, reason=f"chat: {MISSING}")


def an_agent(shop: Shop) -> TeamMember:
    member = add_member(
        shop, "mei@example.com", AGENT_NAME, "agent", "a long password!"
    )
    db.session.commit()
    return member


def open_chat(page: Page, url: str) -> Locator:
    """Open ``url``, then the bubble; returns the chat's message list."""
    answer = visit(page, url)
    assert answer["features"]["chat"], "the app did not turn chat on for the shop"
    return open_panel_chat(page)


def open_panel_chat(page: Page) -> Locator:
    with page.expect_response(lambda r: r.url.endswith(HISTORY_ENDPOINT)) as history:
        page.get_by_role("button", name="Open Revisit").click()
    assert history.value.status == 200, history.value.text()
    return page.get_by_role("log", name="Chat with the store")


def send(page: Page, text: str) -> None:
    box = page.get_by_label("Your message")
    box.fill(text)
    box.press("Enter")


def stored_shopper_texts(shop: Shop, count: int, timeout: float = 10.0) -> list[str]:
    """The shop's shopper messages once ``count`` are stored (or at ``timeout``)."""
    from engine.chat.models import ChatMessage

    deadline = time.monotonic() + timeout
    while True:
        db.session.rollback()
        texts = db.session.scalars(
            select(ChatMessage.text)
            .where(ChatMessage.shop_id == shop.id, ChatMessage.author == "shopper")
            .order_by(ChatMessage.id)
        ).all()
        if len(texts) >= count or time.monotonic() > deadline:
            return list(texts)
        time.sleep(0.1)


def reply_as_agent(shop: Shop, member: TeamMember, text: str) -> None:
    """The team answers the shop's one conversation, as the panel would."""
    from engine.chat import post_agent_reply
    from engine.chat.models import Conversation

    db.session.rollback()
    conversation = db.session.scalars(
        select(Conversation).where(Conversation.shop_id == shop.id)
    ).one()
    post_agent_reply(shop, conversation, member, text)
    db.session.commit()


def test_shopper_chats_live_and_finds_the_history_after_a_reload(
    app: Flask, page: Page, store_url: str, shop: Shop, console: Console
) -> None:
    # given an agent on the team, and a shopper who opens the chat
    member = an_agent(shop)
    log = open_chat(page, store_url + "products/rope-tug")

    # when they send a question
    send(page, "Is the rope tug machine washable?")

    # then it shows at once, and is stored
    log.get_by_text("Is the rope tug machine washable?").wait_for()
    assert stored_shopper_texts(shop, 1) == ["Is the rope tug machine washable?"]
    page.get_by_text("Sending…").wait_for(state="detached")

    # when the agent answers: it arrives live, under the agent's name
    reply_as_agent(shop, member, "Yes, at 30 °C.")
    log.get_by_text("Yes, at 30 °C.").wait_for(timeout=10_000)
    assert log.get_by_text(AGENT_NAME, exact=True).count() == 1

    # then after a reload the conversation is all there, in order
    reload(page)
    log = open_panel_chat(page)
    log.get_by_text("Yes, at 30 °C.").wait_for()
    texts = log.locator(".hm").all_inner_texts()
    assert [text.splitlines()[-1] for text in texts] == [
        "Is the rope tug machine washable?",
        "Yes, at 30 °C.",
    ]
    assert console.errors == []


def test_markup_in_a_message_stays_text(
    page: Page, store_url: str, shop: Shop, console: Console
) -> None:
    # given a shopper whose message looks like markup
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    log = open_chat(page, store_url)

    # when they send it, and the agent quotes it back
    markup = "<img src=x onerror=alert(1)>"
    send(page, markup)
    log.get_by_text(markup).wait_for()
    assert stored_shopper_texts(shop, 1) == [markup]
    reply_as_agent(shop, an_agent(shop), f"You wrote {markup}")
    log.get_by_text(f"You wrote {markup}").wait_for(timeout=10_000)

    # then both show as text: no element made of them, nothing ran
    assert log.locator("img").count() == 0
    assert dialogs == []
    assert console.errors == []


def test_two_tabs_of_one_browser_share_one_stream(
    page: Page, store_url: str, shop: Shop, console: Console
) -> None:
    # given a shopper with the chat open in two tabs of one browser
    member = an_agent(shop)
    second = page.context.new_page()
    streams: list[str] = []

    def count_stream(request: Request) -> None:
        if request.resource_type == "eventsource":
            streams.append(request.url)

    for tab in (page, second):
        tab.on("request", count_stream)
    log = open_chat(page, store_url)
    send(page, "Hello from the first tab")
    log.get_by_text("Hello from the first tab").wait_for()
    second_log = open_chat(second, store_url + "collections/cats")
    second_log.get_by_text("Hello from the first tab").wait_for()

    # when the agent answers
    reply_as_agent(shop, member, "Hello to both tabs")

    # then both tabs show it, and the browser opened one stream for them
    log.get_by_text("Hello to both tabs").wait_for(timeout=10_000)
    second_log.get_by_text("Hello to both tabs").wait_for(timeout=10_000)
    assert len(streams) == 1, streams
    assert console.errors == []
