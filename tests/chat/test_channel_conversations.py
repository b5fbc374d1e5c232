"""LINE and Messenger messages in the inbox, and the team's replies going back.

Against the fake LINE and Messenger platforms: a shopper writes there, the
signed webhook lands in their conversation, the team answers, and the
answer goes out under the channel's rules (LINE's free reply token while
it is young, else a push; Messenger's 24-hour window, the human-agent tag
up to 7 days where the Page has it, else closed).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import select

from engine.binding.bindings import bind
from engine.binding.models import LINE, MESSENGER
from engine.binding.person import visitor_for
from engine.binding.tokens import Intent
from engine.chat.casework import set_status
from engine.chat.conversations import conversation_of_account, start_for_visitor
from engine.chat.delivery import BY_HUMAN_AGENT, BY_PUSH, BY_REPLY_TOKEN, reply_state
from engine.chat.errors import ChannelClosed
from engine.chat.models import DELIVERED, IMAGE, ChatMessage, Conversation
from engine.chat.replies import post_agent_reply
from engine.chat.setup import update_chat_settings
from engine.db import db, utcnow
from engine.runtime import current
from engine.shops.models import Shop
from engine.tracking.tokens import new_public_id
from plugin.sandbox.line_platform import FakeLinePlatform
from plugin.sandbox.messenger_platform import FakeMessengerPlatform
from tests.binding.conftest import (  # noqa: F401  (fixtures, by name)
    LINE_CHANNEL,
    PAGE_ID,
    binding_shop,
    line_fake,
    live_app,
    messenger_fake,
)
from tests.chat import a_member, shopper_says
from tests.conftest import run_jobs

USER = "U" + "a" * 32
PSID = "7000000000000001"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def chat_shop(request: pytest.FixtureRequest) -> Shop:
    """The shop with LINE and a Page on the fakes, LINE's content host too."""
    shop = request.getfixturevalue("binding_shop")
    line = request.getfixturevalue("line_fake")
    runtime = current()
    runtime.settings = replace(runtime.settings, line_data_base_url=line.base_url)
    return shop


@pytest.fixture
def line(request: pytest.FixtureRequest) -> FakeLinePlatform:
    return request.getfixturevalue("line_fake")


@pytest.fixture
def messenger(request: pytest.FixtureRequest) -> FakeMessengerPlatform:
    return request.getfixturevalue("messenger_fake")


def line_conversation(shop: Shop) -> Conversation:
    db.session.expire_all()
    conversation = conversation_of_account(shop, LINE, USER)
    assert conversation is not None
    return conversation


def texts(conversation: Conversation) -> list[tuple[str, str, str | None]]:
    rows = db.session.scalars(
        select(ChatMessage)
        .where(ChatMessage.conversation_id == conversation.id)
        .order_by(ChatMessage.seq)
    )
    return [(row.author, row.channel, row.text) for row in rows]


def test_a_line_message_lands_in_the_inbox_and_the_reply_uses_the_reply_token(
    app: Flask, chat_shop: Shop, line: FakeLinePlatform
) -> None:
    # given a LINE user, not bound to any visitor, who writes to the shop
    line.user_follows(LINE_CHANNEL, USER)
    line.user_sends_text(LINE_CHANNEL, USER, "Do you ship to Tainan?")
    run_jobs(app)
    conversation = line_conversation(chat_shop)
    assert texts(conversation) == [("shopper", "line", "Do you ship to Tainan?")]
    used_before = line.usage(LINE_CHANNEL)

    # when the team answers at once
    state = reply_state(chat_shop, conversation, utcnow())
    reply = post_agent_reply(
        chat_shop, conversation, a_member(chat_shop, "Mei"), "Yes, in 2 days."
    )
    db.session.commit()
    run_jobs(app)

    # then the answer went out as a reply (free), not a push
    assert state.how == BY_REPLY_TOKEN
    sent = line.delivered_to(USER)
    assert [(entry.reply, entry.messages[0]["text"]) for entry in sent] == [
        (True, "Yes, in 2 days.")
    ]
    assert line.usage(LINE_CHANNEL) == used_before
    db.session.refresh(reply)
    assert reply.delivery == DELIVERED


def test_a_late_line_reply_is_pushed(
    app: Flask, chat_shop: Shop, line: FakeLinePlatform
) -> None:
    # given a LINE message answered only after its reply token aged
    line.user_follows(LINE_CHANNEL, USER)
    line.user_sends_text(LINE_CHANNEL, USER, "Hello?")
    run_jobs(app)
    conversation = line_conversation(chat_shop)
    conversation.line_reply_token_at = utcnow() - timedelta(minutes=2)
    db.session.commit()

    # when the team answers
    state = reply_state(chat_shop, conversation, utcnow())
    post_agent_reply(chat_shop, conversation, a_member(chat_shop, "Mei"), "Hi!")
    db.session.commit()
    run_jobs(app)

    # then it was pushed
    assert state.how == BY_PUSH
    assert [entry.reply for entry in line.delivered_to(USER)] == [False]


def test_a_bound_shopper_continues_the_widget_conversation_on_line(
    app: Flask, chat_shop: Shop, line: FakeLinePlatform
) -> None:
    # given a storefront visitor who chatted in the widget, then bound LINE
    visitor = visitor_for(chat_shop, new_public_id())
    web = start_for_visitor(chat_shop, visitor)
    shopper_says(web, "Is the donut bed washable?")
    bind(
        chat_shop,
        Intent.new(chat_shop.id, visitor.public_id, True),
        LINE,
        USER,
        "test",
    )
    db.session.commit()

    # when the shopper writes on LINE
    line.user_follows(LINE_CHANNEL, USER)
    line.user_sends_text(LINE_CHANNEL, USER, "Asking again here")
    run_jobs(app)

    # then it is the same conversation, now answered on LINE
    conversation = line_conversation(chat_shop)
    assert conversation.id == web.id
    assert texts(conversation) == [
        ("shopper", "web", "Is the donut bed washable?"),
        ("shopper", "line", "Asking again here"),
    ]
    assert conversation.reply_channel == LINE


def test_a_line_image_is_kept_and_a_rating_button_is_recorded(
    app: Flask, chat_shop: Shop, line: FakeLinePlatform
) -> None:
    # given a LINE user who sends a photo of a broken toy
    line.user_follows(LINE_CHANNEL, USER)
    line.user_sends_image(LINE_CHANNEL, USER, PNG, "image/png")
    run_jobs(app)
    conversation = line_conversation(chat_shop)
    image = db.session.scalar(
        select(ChatMessage).where(ChatMessage.conversation_id == conversation.id)
    )
    assert image.kind == IMAGE

    # when the team resolves the case and the shopper taps 5 stars
    set_status(chat_shop, conversation, "resolved", a_member(chat_shop, "Mei"))
    db.session.commit()
    run_jobs(app)
    question = line.delivered_to(USER)[-1].messages[0]
    line.user_posts_back(LINE_CHANNEL, USER, "revisit.chat.rate:5")
    run_jobs(app)

    # then the question had one button per score, and the answer is kept
    assert len(question["quickReply"]["items"]) == 5
    assert line_conversation(chat_shop).rating == 5


def test_messenger_replies_keep_to_the_window(
    app: Flask, chat_shop: Shop, messenger: FakeMessengerPlatform
) -> None:
    # given a Messenger shopper who wrote three days ago
    messenger.user_sends_text(PAGE_ID, PSID, "Any news on my order?")
    run_jobs(app)
    db.session.expire_all()
    conversation = conversation_of_account(chat_shop, MESSENGER, PSID)
    three_days_ago = utcnow() - timedelta(days=3)
    conversation.last_shopper_message_at = three_days_ago
    messenger.receive_message(PAGE_ID, PSID, three_days_ago)
    db.session.commit()
    member = a_member(chat_shop, "Mei")

    # then without the human-agent permission the reply box is closed
    with pytest.raises(ChannelClosed):
        post_agent_reply(chat_shop, conversation, member, "Shipped today!")
    db.session.rollback()

    # when the Page has the permission, the reply goes with the HUMAN_AGENT tag
    update_chat_settings(chat_shop, messenger_human_agent=True)
    messenger.set_human_agent(PAGE_ID)
    db.session.commit()
    state = reply_state(chat_shop, conversation, utcnow())
    reply = post_agent_reply(chat_shop, conversation, member, "Shipped today!")
    db.session.commit()
    run_jobs(app)

    assert state.how == BY_HUMAN_AGENT
    db.session.refresh(reply)
    assert reply.delivery == DELIVERED
    assert messenger.delivered_to(PSID)[-1].messages[0]["text"] == ("Shipped today!")

    # and past 7 days it is closed even so
    conversation.last_shopper_message_at = utcnow() - timedelta(days=8)
    assert not reply_state(chat_shop, conversation, utcnow()).open
