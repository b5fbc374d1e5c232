"""Tags, saved replies with their variables, and the chat settings."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from engine.chat import casework, setup
from engine.chat.errors import ConversationNotFound, InvalidChatInput
from engine.chat.models import ChatSettings, Conversation, ConversationTag
from engine.chat.setup import SetupItemNotFound
from engine.commerce.models import Order
from engine.db import db
from engine.shops.models import Shop
from engine.team.models import TeamMember
from tests.chat import a_conversation, a_visitor

DEFAULT_TAG_NAMES = ["defective product", "order status", "return/exchange"]


def test_the_first_list_creates_the_default_tags_once(shop: Shop) -> None:
    # when the shop's tags are first read
    first = [tag.name for tag in setup.list_tags(shop)]
    db.session.commit()

    # then the defaults merchants asked for are there
    assert first == DEFAULT_TAG_NAMES

    # when the team deletes them all, then they stay deleted
    for tag in setup.list_tags(shop):
        setup.delete_tag(shop, tag.id)
    db.session.commit()
    assert setup.list_tags(shop) == []


def test_create_rename_and_delete_a_tag(shop: Shop, conversation: Conversation) -> None:
    # when a tag is created, renamed and put on a conversation
    tag = setup.create_tag(shop, " VIP ", "#FFAA00")
    setup.rename_tag(shop, tag.id, "VIP customer", color="#00aa00")
    casework.set_tags(shop, conversation, [tag.id])
    db.session.commit()

    # then it is listed with its new name and colour
    listed = {t.name: t.color for t in setup.list_tags(shop)}
    assert listed["VIP customer"] == "#00aa00"

    # when it is deleted, then it is gone from the conversation too
    setup.delete_tag(shop, tag.id)
    db.session.commit()
    assert "VIP customer" not in {t.name for t in setup.list_tags(shop)}
    assert db.session.scalars(select(ConversationTag)).all() == []


@pytest.mark.parametrize(
    ("name", "color", "field"),
    [
        ("", None, "name"),
        ("x" * 41, None, "name"),
        ("Order Status", None, "name"),
        ("VIP", "red", "color"),
    ],
)
def test_create_tag_refuses_bad_names_and_colours(
    shop: Shop, name: str, color: str | None, field: str
) -> None:
    # given the default tags
    setup.list_tags(shop)

    # then
    with pytest.raises(InvalidChatInput) as refused:
        setup.create_tag(shop, name, color)
    assert refused.value.field == field


def test_another_shops_tags_and_replies_cannot_be_touched(
    shop: Shop, other_shop: Shop
) -> None:
    # given a tag and a saved reply of the other shop
    tag = setup.create_tag(other_shop, "wholesale", None)
    reply = setup.save_reply(other_shop, "Hi", "Hello!")
    db.session.commit()

    # then this shop can neither change nor delete them
    for action in (
        lambda: setup.rename_tag(shop, tag.id, "mine now"),
        lambda: setup.delete_tag(shop, tag.id),
        lambda: setup.save_reply(shop, "Hi", "Mine", reply_id=reply.id),
        lambda: setup.delete_saved_reply(shop, reply.id),
    ):
        with pytest.raises(SetupItemNotFound):
            action()
    assert "wholesale" not in {t.name for t in setup.list_tags(shop)}
    assert setup.list_saved_replies(shop) == []


def test_save_list_change_and_delete_saved_replies(shop: Shop) -> None:
    # when two replies are saved and one is changed
    thanks = setup.save_reply(shop, "Thanks", "Thank you, {first_name|there}!")
    setup.save_reply(shop, "Shipping", "Your order {order_name} has shipped.")
    setup.save_reply(shop, "Thanks a lot", "Many thanks!", reply_id=thanks.id)
    db.session.commit()

    # then they are listed by title
    assert [(r.title, r.body) for r in setup.list_saved_replies(shop)] == [
        ("Shipping", "Your order {order_name} has shipped."),
        ("Thanks a lot", "Many thanks!"),
    ]

    # when one is deleted
    setup.delete_saved_reply(shop, thanks.id)
    db.session.commit()
    assert [r.title for r in setup.list_saved_replies(shop)] == ["Shipping"]


@pytest.mark.parametrize(
    ("title", "body", "field", "code"),
    [
        ("", "Hello", "title", "empty_field"),
        ("Hi", "  ", "body", "empty_field"),
        ("Hi", "x" * 2001, "body", "field_too_long"),
        ("Hi", "Dear {last_name}", "body", "unknown_variable"),
        ("Taken", "Hello", "title", "saved_reply_exists"),
    ],
)
def test_save_reply_refuses_at_the_field(
    shop: Shop, title: str, body: str, field: str, code: str
) -> None:
    # given a reply titled "Taken"
    setup.save_reply(shop, "Taken", "Hello")

    # then
    with pytest.raises(InvalidChatInput) as refused:
        setup.save_reply(shop, title, body)
    assert (refused.value.field, refused.value.code) == (field, code)


def test_fill_saved_reply_names_shopper_agent_shop_and_latest_order(
    shop: Shop, agent: TeamMember
) -> None:
    # given Lin, whose two orders match her e-mail
    visitor = a_visitor(shop, "Lin", email="lin@example.com")
    conversation = a_conversation(shop, visitor, "Where is my parcel?")
    for order_id, name, placed in (
        ("1", "#1001", datetime(2026, 11, 1, tzinfo=UTC)),
        ("2", "#1002", datetime(2026, 11, 20, tzinfo=UTC)),
    ):
        db.session.add(
            Order(
                shop_id=shop.id,
                order_id=order_id,
                name=name,
                email="lin@example.com",
                placed_at=placed,
            )
        )
    shop.name = "Tea House"
    reply = setup.save_reply(
        shop,
        "Shipped",
        "Hi {first_name}, {agent_name} of {shop_name} here: {order_name} shipped.",
    )
    db.session.commit()

    # when Mei inserts the reply
    text = setup.fill_saved_reply(shop, reply, conversation, agent)

    # then
    assert text == "Hi Lin, Mei of Tea House here: #1002 shipped."


def test_fill_saved_reply_leaves_out_what_is_unknown_or_uses_the_fallback(
    shop: Shop, agent: TeamMember
) -> None:
    # given a shopper with no name and no order
    conversation = a_conversation(shop, a_visitor(shop), "Hello")
    plain = setup.save_reply(shop, "Plain", "Hi {first_name}, about {order_name}.")
    with_fallback = setup.save_reply(
        shop, "Fallback", "Hi {first_name|there}, about {order_name|your order}."
    )

    # then
    assert setup.fill_saved_reply(shop, plain, conversation, agent) == "Hi, about."
    assert (
        setup.fill_saved_reply(shop, with_fallback, conversation, agent)
        == "Hi there, about your order."
    )


def test_fill_saved_reply_refuses_another_shops_reply_or_conversation(
    shop: Shop, other_shop: Shop, agent: TeamMember, conversation: Conversation
) -> None:
    theirs = setup.save_reply(other_shop, "Hi", "Hello!")
    ours = setup.save_reply(shop, "Hi", "Hello!")
    their_conversation = a_conversation(other_shop, a_visitor(other_shop), "Hi")

    with pytest.raises(SetupItemNotFound):
        setup.fill_saved_reply(shop, theirs, conversation, agent)
    with pytest.raises(ConversationNotFound):
        setup.fill_saved_reply(shop, ours, their_conversation, agent)


def test_chat_settings_are_created_with_the_defaults(shop: Shop) -> None:
    # when the settings are first read
    settings = setup.chat_settings(shop)
    db.session.commit()

    # then they hold the defaults, in one row
    assert (
        settings.enabled,
        settings.no_reply_minutes,
        settings.no_reply_action,
        settings.ask_rating,
    ) == (True, 15, "colleague", True)
    assert setup.chat_settings(shop) is settings
    assert len(db.session.scalars(select(ChatSettings)).all()) == 1


def test_update_chat_settings_stores_valid_fields(shop: Shop) -> None:
    # when the owner changes the timer and the closed-hours notes
    setup.update_chat_settings(
        shop,
        no_reply_minutes=30,
        no_reply_action="queue",
        closed_note_en="We reply within a few hours.",
        closed_note_zh="  ",
        ask_rating=False,
    )
    db.session.commit()
    db.session.expire_all()

    # then
    settings = setup.chat_settings(shop)
    assert (
        settings.no_reply_minutes,
        settings.no_reply_action,
        settings.closed_note_en,
        settings.closed_note_zh,
        settings.ask_rating,
    ) == (30, "queue", "We reply within a few hours.", None, False)


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"no_reply_minutes": 0}, "no_reply_minutes"),
        ({"no_reply_minutes": 1441}, "no_reply_minutes"),
        ({"no_reply_minutes": "15"}, "no_reply_minutes"),
        ({"no_reply_action": "nobody"}, "no_reply_action"),
        ({"closed_note_en": "x" * 201}, "closed_note_en"),
        ({"ask_rating": "yes"}, "ask_rating"),
        ({"colour": "red"}, "colour"),
        ({"no_reply_minutes": 5, "no_reply_action": "nobody"}, "no_reply_action"),
    ],
)
def test_update_chat_settings_refuses_at_the_field_and_stores_nothing(
    shop: Shop, fields: dict[str, object], field: str
) -> None:
    with pytest.raises(InvalidChatInput) as refused:
        setup.update_chat_settings(shop, **fields)
    assert refused.value.field == field
    assert setup.chat_settings(shop).no_reply_minutes == 15
