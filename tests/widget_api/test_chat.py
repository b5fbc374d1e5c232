"""The widget's chat calls: history, messages, images, rating, the stream's token."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from engine.chat.casework import set_status
from engine.chat.conversations import find
from engine.chat.models import ChatMessage, Conversation
from engine.chat.replies import add_note, post_agent_reply
from engine.chat.setup import update_chat_settings
from engine.db import db
from engine.shops.models import Shop
from plugin.sandbox.shopify_platform import FakeShopifyPlatform
from tests.chat import a_member
from tests.conftest import OTHER_SHOP_DOMAIN, install_shop
from tests.widget_api import new_visitor, storefront

CHAT = "/api/widget/v1/chat"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64


def post(
    client: FlaskClient, shop: Shop, path: str, token: str, **fields: Any
) -> TestResponse:
    body = {"widget_key": shop.widget_key, "visitor_token": token, **fields}
    return client.post(
        f"{CHAT}/{path}",
        data=json.dumps(body),
        headers={"Content-Type": "text/plain", "Origin": storefront(shop)},
    )


def say(client: FlaskClient, shop: Shop, token: str, text: str, **fields: Any):
    return post(
        client,
        shop,
        "messages",
        token,
        text=text,
        client_id=str(uuid.uuid4()),
        **fields,
    )


def upload(
    client: FlaskClient,
    shop: Shop,
    token: str,
    data: bytes,
    content_type: str = "image/png",
) -> TestResponse:
    query = (
        f"widget_key={shop.widget_key}&visitor_token={token}&client_id={uuid.uuid4()}"
    )
    return client.post(
        f"{CHAT}/images?{query}",
        data=data,
        headers={"Content-Type": content_type, "Origin": storefront(shop)},
    )


@pytest.fixture
def token(client: FlaskClient, shop: Shop) -> str:
    return new_visitor(client, shop)


def conversation_of(shop: Shop, public_id: str) -> Conversation:
    db.session.expire_all()
    return find(shop, public_id)


def message_count() -> int:
    return db.session.scalar(select(func.count()).select_from(ChatMessage))


def test_history_of_a_new_visitor_is_empty_with_a_stream(
    client: FlaskClient, shop: Shop, token: str
) -> None:
    # when a visitor who never wrote opens the chat
    response = post(client, shop, "history", token)

    # then there is no conversation yet, and a stream to wait on
    body = response.get_json()
    assert response.status_code == 200
    assert body["conversation"] is None
    assert body["messages"] == []
    assert "/api/widget/v1/chat/stream?widget_key=" in body["stream_url"]
    assert set(body["team"]) == {"open", "note"}


def test_a_message_is_stored_once_whatever_the_retries(
    client: FlaskClient, shop: Shop, token: str
) -> None:
    # given a message the widget sends, then sends again (a lost answer)
    client_id = str(uuid.uuid4())
    first = post(client, shop, "messages", token, text="Hello?", client_id=client_id)
    again = post(client, shop, "messages", token, text="Hello?", client_id=client_id)

    # then both answers name the same message, stored once
    assert first.status_code == again.status_code == 201
    assert first.get_json()["message"]["seq"] == again.get_json()["message"]["seq"] == 1
    assert message_count() == 1
    history = post(client, shop, "history", token).get_json()
    assert [item["text"] for item in history["messages"]] == ["Hello?"]
    assert history["conversation"]["status"] == "open"


def test_messages_are_numbered_in_order_and_history_pages_by_seq(
    client: FlaskClient, shop: Shop, token: str
) -> None:
    # given three messages
    for text in ("one", "two", "three"):
        assert say(client, shop, token, text).status_code == 201

    # when the widget asks for what came after the first
    body = post(client, shop, "history", token, after=1).get_json()

    # then it gets exactly the second and third, in order
    assert [(item["seq"], item["text"]) for item in body["messages"]] == [
        (2, "two"),
        (3, "three"),
    ]


def test_team_notes_never_reach_the_shopper(
    app: Flask, client: FlaskClient, shop: Shop, token: str
) -> None:
    # given a conversation where the team left a note and replied
    public_id = say(client, shop, token, "Is this in stock?").get_json()[
        "conversation"
    ]["id"]
    member = a_member(shop, "Mei")
    conversation = conversation_of(shop, public_id)
    add_note(shop, conversation, member, "Customer asked twice before")
    post_agent_reply(shop, conversation, member, "Yes, 3 left!")
    db.session.commit()

    # when the shopper reads the history
    body = post(client, shop, "history", token).get_json()

    # then the reply is there with the agent's name, the note is not
    assert [
        (item["author"], item["name"], item["text"]) for item in body["messages"]
    ] == [
        ("shopper", None, "Is this in stock?"),
        ("agent", "Mei", "Yes, 3 left!"),
    ]


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"text": "", "client_id": "abcdefgh-1"}, "text"),
        ({"text": "x" * 2001, "client_id": "abcdefgh-1"}, "text"),
        ({"text": "hi", "client_id": "no"}, "client_id"),
        ({"text": "hi\x00", "client_id": "abcdefgh-1"}, "text"),
        ({"client_id": "abcdefgh-1"}, "text"),
    ],
)
def test_a_bad_message_is_refused_at_its_field_and_stores_nothing(
    client: FlaskClient, shop: Shop, token: str, fields: dict, field: str
) -> None:
    # when the widget sends a malformed message
    response = post(client, shop, "messages", token, **fields)

    # then it is refused, naming the field, and nothing is stored
    assert response.status_code == 400
    assert response.get_json()["code"] == "invalid_field"
    assert response.get_json()["detail"].startswith(f"{field}:")
    assert message_count() == 0


@pytest.mark.parametrize("forged", ["forged.token", "eyJzIjoxfQ.\udfff"])
def test_a_forged_visitor_token_is_refused(
    client: FlaskClient, shop: Shop, forged: str
) -> None:
    response = say(client, shop, forged, "hi")

    assert response.status_code == 401
    assert response.get_json()["code"] == "invalid_visitor_token"
    assert message_count() == 0


def test_a_switched_off_chat_takes_no_message(
    client: FlaskClient, shop: Shop, token: str
) -> None:
    # given a shop that switched its chat off
    update_chat_settings(shop, enabled=False)
    db.session.commit()

    # when a message arrives anyway
    response = say(client, shop, token, "hello")

    # then it is refused and nothing is stored
    assert response.status_code == 409
    assert response.get_json()["code"] == "chat_off"
    assert message_count() == 0


def test_an_image_is_stored_and_served_as_the_type_its_bytes_are(
    client: FlaskClient, shop: Shop, token: str
) -> None:
    # when the shopper attaches a PNG
    response = upload(client, shop, token, PNG)

    # then it is a message whose image is served back with nosniff
    message = response.get_json()["message"]
    assert response.status_code == 201
    assert message["kind"] == "image"
    image = client.get(message["image_url"].removeprefix("http://localhost"))
    assert image.status_code == 200
    assert image.mimetype == "image/png"
    assert image.headers["X-Content-Type-Options"] == "nosniff"
    assert image.data == PNG


@pytest.mark.parametrize("public_id", ["%00", "nope", "x" * 33])
def test_an_image_address_naming_no_image_is_404(
    client: FlaskClient, public_id: str
) -> None:
    # when an address names no image (a NUL cannot even be compared)
    response = client.get(f"/chat/images/{public_id}")

    # then
    assert response.status_code == 404


@pytest.mark.parametrize(
    ("data", "content_type", "status", "code"),
    [
        (b"<svg onload=alert(1)>", "image/png", 415, "image_type"),
        (JPEG, "image/png", 415, "image_type_mismatch"),
        (b"", "image/png", 415, "image_empty"),
        (PNG + b"\x00" * (5 * 1024 * 1024), "image/png", 413, "payload_too_large"),
    ],
)
def test_an_upload_that_is_not_a_small_image_is_refused(
    client: FlaskClient,
    shop: Shop,
    token: str,
    data: bytes,
    content_type: str,
    status: int,
    code: str,
) -> None:
    response = upload(client, shop, token, data, content_type)

    assert response.status_code == status
    assert response.get_json()["code"] == code
    assert message_count() == 0


def test_a_rating_is_taken_only_once_the_team_asked_for_it(
    client: FlaskClient, shop: Shop, token: str
) -> None:
    # given a conversation not yet resolved
    public_id = say(client, shop, token, "Thanks!").get_json()["conversation"]["id"]

    # then a rating is refused
    early = post(client, shop, "rating", token, score=5)
    assert early.status_code == 422
    assert early.get_json()["code"] == "rating_not_requested"

    # when the team resolves it, the question is in the history
    set_status(shop, conversation_of(shop, public_id), "resolved", None)
    db.session.commit()
    history = post(client, shop, "history", token).get_json()
    assert history["conversation"]["rating_requested"] is True
    assert history["messages"][-1]["kind"] == "rating_request"

    # and the shopper's rating is kept
    rated = post(client, shop, "rating", token, score=4)
    assert rated.status_code == 200
    assert rated.get_json()["conversation"]["rating"] == 4
    assert post(client, shop, "rating", token, score=6).status_code == 400


def test_a_stream_token_of_another_shop_or_forged_is_refused(
    client: FlaskClient, shop: Shop, token: str
) -> None:
    # given a stream address, tampered with
    url = post(client, shop, "history", token).get_json()["stream_url"]
    path = url.removeprefix("http://localhost")

    # when it is opened with a changed token
    response = client.get(path + "x", headers={"Origin": storefront(shop)})

    # then it is refused with its code
    assert response.status_code == 401
    assert response.get_json()["code"] == "invalid_stream_token"


def test_the_page_answer_offers_the_chat_unless_switched_off(
    client: FlaskClient, shop: Shop
) -> None:
    from engine.chat import shopper
    from tests.widget_api import post_page

    assert post_page(client, shop).get_json()["features"]["chat"] is True

    update_chat_settings(shop, enabled=False)
    db.session.commit()
    shopper.forget_chat_offers()

    assert post_page(client, shop).get_json()["features"]["chat"] is False


def test_another_shops_widget_key_refuses_this_shops_tokens(
    app: Flask, client: FlaskClient, platform: FakeShopifyPlatform, shop: Shop
) -> None:
    # given a conversation in shop A, with its stream address
    token = new_visitor(client, shop)
    answer = say(client, shop, token, "Where is my order?").get_json()
    other = install_shop(client, platform, OTHER_SHOP_DOMAIN)

    # when shop B's widget key is used with shop A's visitor and stream tokens
    history = post(client, other, "history", token)
    stream_token = answer["stream_url"].rsplit("token=", 1)[1]
    stream = client.get(
        f"{CHAT}/stream?widget_key={other.widget_key}&token={stream_token}",
        headers={"Origin": storefront(other)},
    )

    # then both are refused, and shop B has no conversation
    assert history.status_code == 401
    assert stream.status_code == 401
    assert stream.get_json()["code"] == "invalid_stream_token"
    assert (
        db.session.scalar(
            select(func.count())
            .select_from(Conversation)
            .where(Conversation.shop_id == other.id)
        )
        == 0
    )
