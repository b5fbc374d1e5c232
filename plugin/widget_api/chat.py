"""The shopper's chat calls: ``chat/history``, ``chat/messages``, ``chat/images``,
``chat/rating`` and the live ``chat/stream``.

Checked like the other widget calls (size, JSON, widget key, origin,
fields, then the visitor token: 401). Writes are one short transaction
each; the message is stored before anything announces it. The stream is a
server-sent event stream whose URL carries a ten-minute stream token
(``engine.chat.shopper``), handed out by ``chat/history``: browsers'
EventSource cannot send a body or headers, and the visitor's own token
should not sit in URLs and logs.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from flask import Response, g, request
from marshmallow import fields
from marshmallow.validate import Length, Range, Regexp
from sqlalchemy.exc import IntegrityError

from engine.chat import shopper
from engine.chat.conversations import describe_conversation, describe_message
from engine.chat.errors import ChatError
from engine.chat.images import MAX_BYTES
from engine.chat.models import EVENT, NOTE, ChatMessage, Conversation
from engine.chat.shopper import StreamTokenInvalid
from engine.db import db, utcnow
from engine.runtime import current
from engine.shops.models import Shop
from engine.tracking.errors import InvalidVisitorToken
from engine.tracking.storefronts import WidgetShop
from engine.tracking.tokens import read_token
from plugin.chat_images import image_urls
from plugin.chat_stream import message_stream
from plugin.errors import ApiError
from plugin.widget_api import bp
from plugin.widget_api.cors import preflight, require_allowed_origin
from plugin.widget_api.routes import _json, _read, _shop
from plugin.widget_api.schemas import CLIENT_ID, Text, _Lenient


class ChatRequestSchema(_Lenient):
    widget_key = fields.String(required=True, validate=Length(1, 64))
    visitor_token = fields.String(required=True, validate=Length(1, 200))
    locale = Text(load_default="en", validate=Length(max=16))


class HistoryRequestSchema(ChatRequestSchema):
    after = fields.Integer(load_default=None, validate=Range(0, 2**31 - 1))


class MessageRequestSchema(ChatRequestSchema):
    text = Text(required=True, validate=Length(1, 2000))
    client_id = fields.String(required=True, validate=Regexp(CLIENT_ID.pattern + r"\Z"))


class RatingRequestSchema(ChatRequestSchema):
    score = fields.Integer(required=True, strict=True, validate=Range(1, 5))


# The team's own entries: shoppers never receive them.
HIDDEN_KINDS = (NOTE, EVENT)
# The changes of a conversation its shopper is told of.
SHOWN = ("status", "rating")
HISTORY_REQUEST = HistoryRequestSchema()
MESSAGE_REQUEST = MessageRequestSchema()
RATING_REQUEST = RatingRequestSchema()


@bp.route("/chat/history", methods=["POST", "OPTIONS"])
def chat_history() -> Response:
    if request.method == "OPTIONS":
        return preflight()
    widget_shop, payload, public_id = _read_as_visitor(HISTORY_REQUEST)
    shop = db.session.get(Shop, widget_shop.shop_id)

    conversation, messages = shopper.history(shop, public_id, payload["after"])
    return _json(
        {
            "conversation": _conversation(conversation),
            "messages": _messages(messages),
            "team": shopper.team_availability(shop, payload["locale"], utcnow()),
            "stream_url": _stream_url(widget_shop, public_id),
        }
    )


@bp.route("/chat/messages", methods=["POST", "OPTIONS"])
def chat_message() -> Response:
    if request.method == "OPTIONS":
        return preflight()
    widget_shop, payload, public_id = _read_as_visitor(MESSAGE_REQUEST)
    shop = db.session.get(Shop, widget_shop.shop_id)

    conversation, message = _stored(
        lambda: shopper.post_text(
            shop, public_id, payload["text"], payload["client_id"]
        )
    )
    return _json(
        {
            "message": _messages([message])[0],
            "conversation": _conversation(conversation),
            "stream_url": _stream_url(widget_shop, public_id),
        },
        201,
    )


@bp.route("/chat/images", methods=["POST", "OPTIONS"])
def chat_image() -> Response:
    if request.method == "OPTIONS":
        return preflight()
    widget_shop = _shop(request.args.get("widget_key"))
    require_allowed_origin(widget_shop)
    g.widget_key = request.args["widget_key"]
    public_id = _visitor(widget_shop, request.args.get("visitor_token"))
    client_id = request.args.get("client_id", "")
    if CLIENT_ID.fullmatch(client_id) is None:
        raise ApiError(400, "invalid_field", "client_id: Not a valid client id.")
    data = _image_body()
    shop = db.session.get(Shop, widget_shop.shop_id)

    conversation, message = _stored(
        lambda: shopper.post_image(
            shop, public_id, data, request.headers.get("Content-Type"), client_id
        )
    )
    return _json(
        {
            "message": _messages([message])[0],
            "conversation": _conversation(conversation),
            "stream_url": _stream_url(widget_shop, public_id),
        },
        201,
    )


@bp.route("/chat/rating", methods=["POST", "OPTIONS"])
def chat_rating() -> Response:
    if request.method == "OPTIONS":
        return preflight()
    widget_shop, payload, public_id = _read_as_visitor(RATING_REQUEST)
    shop = db.session.get(Shop, widget_shop.shop_id)

    try:
        conversation = shopper.rate(shop, public_id, payload["score"])
    except ChatError as refusal:
        raise _api_error(refusal) from None
    db.session.commit()
    return _json({"conversation": _conversation(conversation)})


@bp.route("/chat/stream", methods=["GET"])
def chat_stream() -> Response:
    widget_shop = _shop(request.args.get("widget_key"))
    require_allowed_origin(widget_shop)
    try:
        stream = shopper.read_stream_token(
            current().settings.secret_key,
            widget_shop.shop_id,
            request.args.get("token", ""),
        )
    except StreamTokenInvalid as refusal:
        raise _api_error(refusal) from None
    after = _after(request.headers.get("Last-Event-ID") or request.args.get("after"))

    shop = db.session.get(Shop, widget_shop.shop_id)
    visitor = shopper.visitor_of_pass(shop, stream)
    visitor_id = visitor.id if visitor is not None else None
    conversation = shopper.conversation_for_pass(shop, stream)
    known = {"id": conversation.id if conversation is not None else None}
    shop_id = shop.id
    db.session.close()

    def wants(event: dict[str, Any]) -> bool:
        if event.get("kind") in HIDDEN_KINDS:
            return False
        if event.get("type") == "conversation" and event.get("what") not in SHOWN:
            return False
        if known["id"] is not None:
            return event.get("conversation_id") == known["id"]
        # No conversation yet: the visitor's first message starts one.
        return visitor_id is not None and event.get("visitor_id") == visitor_id

    def catch_up(last: int) -> tuple[list[dict[str, Any]], int | None]:
        if known["id"] is None:
            current_shop = db.session.get(Shop, shop_id)
            found = current_shop and shopper.conversation_for_pass(current_shop, stream)
            if not found:
                return [], None
            known["id"] = found.id
        # One query per wake-up: the conversation is known from here on.
        messages = shopper.messages_for_stream(shop_id, known["id"], last)
        return _messages(messages), known["id"]

    return message_stream(shop_id, wants, catch_up, after)


def _read_as_visitor(schema: Any) -> tuple[WidgetShop, dict[str, Any], str]:
    shop, payload = _read(schema)
    g.widget_key = payload["widget_key"]
    return shop, payload, _visitor(shop, payload["visitor_token"])


def _visitor(shop: WidgetShop, token: object) -> str:
    try:
        return read_token(current().settings.secret_key, shop.shop_id, str(token or ""))
    except InvalidVisitorToken as exc:
        raise ApiError(401, "invalid_visitor_token", str(exc)) from None


def _stored(
    write: Any,
) -> tuple[Conversation, ChatMessage]:
    """Run a write and commit it; a refusal rolls back and answers its code."""
    try:
        conversation, message = write()
        db.session.commit()
    except ChatError as refusal:
        db.session.rollback()
        raise _api_error(refusal) from None
    except IntegrityError:
        # Two tabs started the person's conversation at the same moment on
        # a database without row locks; the second one tries again.
        db.session.rollback()
        conversation, message = write()
        db.session.commit()
    return conversation, message


def _image_body() -> bytes:
    if (request.content_length or 0) > MAX_BYTES:
        raise ApiError(
            413, "payload_too_large", f"An image may be at most {MAX_BYTES} bytes."
        )
    request.max_content_length = MAX_BYTES
    return request.get_data(cache=False)


def _messages(messages: list[ChatMessage]) -> list[dict[str, Any]]:
    urls = image_urls(messages)
    return [describe_message(message, urls.get(message.id)) for message in messages]


def _conversation(conversation: Conversation | None) -> dict[str, Any] | None:
    return describe_conversation(conversation) if conversation is not None else None


def _stream_url(shop: WidgetShop, public_id: str) -> str:
    token = shopper.stream_token(current().settings.secret_key, shop.shop_id, public_id)
    base = current().settings.app_url.rstrip("/")
    query = urlencode({"widget_key": g.widget_key, "token": token})
    return f"{base}/api/widget/v1/chat/stream?{query}"


def _after(value: str | None) -> int:
    try:
        return max(0, min(int(value or 0), 2**31 - 1))
    except ValueError:
        return 0


def _api_error(refusal: ChatError) -> ApiError:
    return ApiError(refusal.status, refusal.code, refusal.detail, field=refusal.field)
