"""The chat's part of the platform's privacy requests."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from engine.binding.bindings import bind
from engine.binding.models import LINE_LOGIN
from engine.binding.tokens import Intent
from engine.chat import casework
from engine.chat.conversations import NewMessage, append, start_for_account
from engine.chat.images import store_image
from engine.chat.models import (
    IMAGE,
    SHOPPER,
    ChatAssignment,
    ChatImage,
    ChatMessage,
    ChatRead,
    ChatSettings,
    ChatTag,
    Conversation,
    ConversationTag,
    SavedReply,
)
from engine.chat.setup import list_tags, save_reply
from engine.db import db
from engine.privacy.models import DataExport
from engine.shops.models import Shop
from engine.team.models import TeamMember
from plugin.sandbox.shopify_platform import FakeShopifyPlatform
from tests.chat import a_conversation, a_visitor, agent_says, shopper_says
from tests.conftest import run_jobs
from tests.webhooks import post_webhook, sample_payload

MEI_EMAIL = "mei.chen@example.com"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
CHAT_MODELS = (
    ChatAssignment,
    ChatImage,
    ChatMessage,
    ChatRead,
    ChatSettings,
    ChatTag,
    Conversation,
    ConversationTag,
    SavedReply,
)


def deliver(
    app: Flask, client: FlaskClient, platform: FakeShopifyPlatform, topic: str
) -> None:
    response = post_webhook(client, platform, topic, sample_payload(topic))
    assert response.status_code == 200
    run_jobs(app)
    db.session.expire_all()


def count(model: type) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def conversations_of_mei_and_lin(
    shop: Shop, agent: TeamMember
) -> tuple[Conversation, Conversation, Conversation]:
    """Mei (the sample payloads' customer) wrote on the storefront with a photo,
    and on LINE before binding it; Lin wrote too. Mei's case has the team's
    assignment, tag, read mark and note."""
    mei = a_visitor(shop, "Mei", email=MEI_EMAIL)
    on_site = a_conversation(shop, mei, "My mug arrived broken")
    append(
        on_site,
        NewMessage(author=SHOPPER, kind=IMAGE, image=store_image(shop.id, PNG, None)),
    )
    agent_says(on_site, agent, "Sorry! We will send another.")
    casework.assign(shop, on_site, agent, agent, note="Send a new mug.")
    casework.set_tags(shop, on_site, [list_tags(shop)[0].id])
    casework.mark_read(shop, agent, on_site, 2)

    on_line = start_for_account(shop, "line", "U-mei", "Mei C.")
    shopper_says(on_line, "Hello from LINE")
    bind(shop, Intent.new(shop.id, mei.public_id, True), "line", "U-mei", LINE_LOGIN)

    lins = a_conversation(shop, a_visitor(shop, "Lin"), "Do you ship to Japan?")
    db.session.commit()
    return on_site, on_line, lins


def test_data_request_exports_the_customers_conversations(
    app: Flask,
    client: FlaskClient,
    shop: Shop,
    platform: FakeShopifyPlatform,
    agent: TeamMember,
) -> None:
    # given Mei's two conversations and Lin's
    on_site, on_line, _ = conversations_of_mei_and_lin(shop, agent)

    # when the platform asks for Mei's data
    deliver(app, client, platform, "customers/data_request")

    # then the export has both of hers, every message in order, and not Lin's
    export = db.session.scalars(select(DataExport)).one()
    exported = export.document["chat_conversations"]
    assert [c["id"] for c in exported] == [on_site.public_id, on_line.public_id]
    assert [(m["seq"], m["author"], m["kind"]) for m in exported[0]["messages"]] == [
        (1, "shopper", "text"),
        (2, "shopper", "image"),
        (3, "agent", "text"),
        (4, "agent", "note"),
    ]
    assert exported[0]["messages"][1]["image"] == {
        "content_type": "image/png",
        "size": len(PNG),
    }
    assert exported[1]["line_user_id"] == "U-mei"
    assert [m["text"] for m in exported[1]["messages"]] == ["Hello from LINE"]


def test_customers_redact_deletes_the_customers_conversations_and_all_they_hold(
    app: Flask,
    client: FlaskClient,
    shop: Shop,
    platform: FakeShopifyPlatform,
    agent: TeamMember,
) -> None:
    # given Mei's two conversations and Lin's
    _, _, lins = conversations_of_mei_and_lin(shop, agent)

    # when the platform asks to erase Mei
    deliver(app, client, platform, "customers/redact")

    # then only Lin's conversation and message are left, and nothing of Mei's
    assert db.session.scalars(select(Conversation.public_id)).all() == [lins.public_id]
    assert db.session.scalars(select(ChatMessage.text)).all() == [
        "Do you ship to Japan?"
    ]
    for model in (ChatImage, ChatAssignment, ConversationTag, ChatRead):
        assert count(model) == 0, model
    # and the team's own setup stays
    assert count(ChatTag) == 3


def test_shop_redact_erases_every_chat_table(
    app: Flask,
    client: FlaskClient,
    shop: Shop,
    platform: FakeShopifyPlatform,
    agent: TeamMember,
) -> None:
    # given conversations, the team's tags and saved replies, and settings
    conversations_of_mei_and_lin(shop, agent)
    save_reply(shop, "Thanks", "Thank you!")
    db.session.commit()
    assert all(count(model) for model in CHAT_MODELS)

    # when the platform asks to erase the shop
    deliver(app, client, platform, "shop/redact")

    # then no chat row is left
    assert [count(model) for model in CHAT_MODELS] == [0] * len(CHAT_MODELS)
