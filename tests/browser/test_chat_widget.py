"""The shopper's live chat on the demo storefront: send, hear back live, reload.

The widget talks to the real chat endpoints (``plugin/widget_api/chat.py``)
and its stream; the team's side is played through ``engine.chat.replies``.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from flask import Flask
from sqlalchemy import select

from engine.chat.models import ChatMessage, Conversation
from engine.chat.replies import post_agent_reply
from engine.db import db
from engine.shops.models import Shop
from engine.team.accounts import add_member
from engine.team.models import TeamMember
from tests.browser.visiting import reload, visit

if TYPE_CHECKING:
    from playwright.sync_api import Locator, Page, Request

    from tests.browser.conftest import Console

HISTORY_ENDPOINT = "/api/widget/v1/chat/history"
AGENT_NAME = "Mei"
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c63f8cfc0f01f0005000201e5273fd6"
    "0000000049454e44ae426082"
)


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


def note_streams(tab: Page, name: str, streams: list[str]) -> None:
    """Append ``name`` to ``streams`` for each EventSource ``tab`` opens."""

    def note(request: Request) -> None:
        if request.resource_type == "eventsource":
            streams.append(name)

    tab.on("request", note)


def reply_as_agent(shop: Shop, member: TeamMember, text: str) -> None:
    """The team answers the shop's one conversation, as the panel would."""
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
    # given a shopper chatting in one tab, who opens the chat in a second tab
    member = an_agent(shop)
    second = page.context.new_page()
    streams: list[str] = []
    note_streams(page, "first", streams)
    note_streams(second, "second", streams)
    log = open_chat(page, store_url)
    send(page, "Hello from the first tab")
    page.get_by_text("Sending…").wait_for(state="detached")
    second_log = open_chat(second, store_url + "collections/cats")
    second_log.get_by_text("Hello from the first tab").wait_for()

    # when the agent answers
    reply_as_agent(shop, member, "Hello to both tabs")

    # then both tabs show it, through the first tab's stream only
    log.get_by_text("Hello to both tabs").wait_for(timeout=10_000)
    second_log.get_by_text("Hello to both tabs").wait_for(timeout=10_000)
    assert streams
    assert set(streams) == {"first"}
    assert console.errors == []


def test_shopper_sends_an_image_and_a_too_large_one_is_refused_at_once(
    page: Page, store_url: str, shop: Shop, console: Console
) -> None:
    # given a shopper with the chat open
    log = open_chat(page, store_url)

    # when they pick a PNG image
    with page.expect_file_chooser() as chooser:
        page.get_by_role("button", name="Send an image").click()
    chooser.value.set_files({"name": "tug.png", "mimeType": "image/png", "buffer": PNG})

    # then it shows at once, and is stored as an image message
    page.get_by_text("Sending…").wait_for(state="detached")
    log.get_by_role("img", name="Image").wait_for()
    db.session.rollback()
    [stored] = db.session.scalars(
        select(ChatMessage).where(ChatMessage.shop_id == shop.id)
    ).all()
    assert (stored.author, stored.kind) == ("shopper", "image")

    # and after a reload it loads from the app
    reload(page)
    log = open_panel_chat(page)
    image = log.get_by_role("img", name="Image")
    image.wait_for()
    page.wait_for_function(
        "(image) => image.complete && image.naturalWidth == 1",
        arg=image.element_handle(),
    )

    # when they pick one over 5 MB: refused here, nothing is sent
    with page.expect_file_chooser() as chooser:
        page.get_by_role("button", name="Send an image").click()
    big = {
        "name": "big.png",
        "mimeType": "image/png",
        "buffer": PNG.ljust(5 << 20, b"\0") + b"\0",
    }
    chooser.value.set_files(big)
    page.get_by_role("status").filter(has_text="Images can be at most 5 MB.").wait_for()
    assert log.get_by_role("img").count() == 1
    assert console.errors == []
