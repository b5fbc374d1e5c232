"""The shopper's side of the chat, as the storefront widget sees it.

A visitor's history is their person's conversation (``conversations``); a
first message starts it. The widget names its messages with a
``client_id``, so a retried send stores nothing twice. The stream token is
a short-lived signed pass to the visitor's live events, so the visitor's
long-lived token never appears in a URL.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from engine.binding.person import existing_visitor, visitor_for
from engine.channels.schedule import opening_hours
from engine.chat.conversations import (
    HISTORY_PAGE,
    NewMessage,
    append,
    conversation_of_visitor,
    latest_messages,
    messages_after,
    start_for_visitor,
)
from engine.chat.errors import ChatError
from engine.chat.images import store_image
from engine.chat.models import (
    EVENT,
    IMAGE,
    NOTE,
    SHOPPER,
    TEXT,
    WEB,
    ChatMessage,
    ChatSettings,
    Conversation,
)
from engine.chat.rating import record_rating
from engine.chat.setup import chat_settings
from engine.db import db
from engine.shops.models import Shop
from engine.tracking.memo import ExpiringMemo
from engine.visitors.models import Visitor

logger = logging.getLogger(__name__)

STREAM_TOKEN_SECONDS = 600
# A change of the chat's on/off setting shows in the widget within this.
_offers_chat: ExpiringMemo[int, bool] = ExpiringMemo(ttl=30)
_STREAM_SALT = "revisit.chat.stream"
CLOSED_NOTE = {
    "en": "We're away right now. Leave a message and we'll reply within a day.",
    "zh": "目前非營業時間，請留言，我們會在一天內回覆。",
}


class StreamTokenInvalid(ChatError):
    status = 401


@dataclass(frozen=True)
class StreamPass:
    """Who a stream is for: a shop's visitor, by the visitor's public id."""

    shop_id: int
    public_id: str


def history(
    shop: Shop, public_id: str, after: int | None
) -> tuple[Conversation | None, list[ChatMessage]]:
    """The visitor's conversation and its messages after ``after`` (else the
    latest page), without the team's notes and case events."""
    visitor = existing_visitor(shop, public_id)
    if visitor is None:
        return None, []
    conversation = conversation_of_visitor(shop, visitor)
    if conversation is None:
        return None, []
    if after is None:
        messages = latest_messages(conversation, include_notes=False)
    else:
        messages = messages_after(conversation, after, include_notes=False)
    return conversation, [item for item in messages if item.kind != EVENT]


def messages_for_stream(
    shop_id: int, conversation_id: int, after: int
) -> list[ChatMessage]:
    """What a shopper's open stream has not sent yet: one query, no notes or
    case events."""
    return list(
        db.session.scalars(
            select(ChatMessage)
            .where(
                ChatMessage.shop_id == shop_id,
                ChatMessage.conversation_id == conversation_id,
                ChatMessage.seq > after,
                ChatMessage.kind.not_in((NOTE, EVENT)),
            )
            .order_by(ChatMessage.seq)
            .limit(HISTORY_PAGE)
        )
    )


def post_text(
    shop: Shop, public_id: str, text: str, client_id: str
) -> tuple[Conversation, ChatMessage]:
    """Store the shopper's message; the caller commits."""
    conversation = _conversation_for(shop, public_id)
    message = append(
        conversation,
        NewMessage(
            author=SHOPPER, kind=TEXT, channel=WEB, text=text, client_id=client_id
        ),
    )
    return conversation, message


def post_image(
    shop: Shop, public_id: str, data: bytes, content_type: str | None, client_id: str
) -> tuple[Conversation, ChatMessage]:
    """Check and store the shopper's image as a message; the caller commits."""
    conversation = _conversation_for(shop, public_id)
    image = store_image(shop.id, data, content_type)
    message = append(
        conversation,
        NewMessage(
            author=SHOPPER, kind=IMAGE, channel=WEB, image=image, client_id=client_id
        ),
    )
    return conversation, message


def rate(shop: Shop, public_id: str, score: object) -> Conversation:
    """Keep the visitor's rating of their resolved conversation."""
    visitor = existing_visitor(shop, public_id)
    conversation = conversation_of_visitor(shop, visitor) if visitor else None
    if conversation is None:
        raise ChatError("no_conversation", "There is no conversation to rate.")
    record_rating(shop, conversation, score)
    return conversation


def team_availability(shop: Shop, locale: str, now: datetime) -> dict:
    """Whether the team is in now, and the note the widget shows when it is not."""
    is_open = _within_opening_hours(shop, now)
    if is_open:
        return {"open": True, "note": None}
    settings = chat_settings(shop)
    chinese = locale.lower().startswith("zh")
    note = settings.closed_note_zh if chinese else settings.closed_note_en
    return {"open": False, "note": note or CLOSED_NOTE["zh" if chinese else "en"]}


def chat_is_on(shop: Shop) -> bool:
    return chat_settings(shop).enabled


def widget_offers_chat(shop_id: int) -> bool:
    """Whether the widget shows the chat: read-only and memoised, for page views.

    A shop that never changed its chat settings has it on.
    """

    def load() -> bool:
        try:
            enabled = db.session.scalar(
                select(ChatSettings.enabled).where(ChatSettings.shop_id == shop_id)
            )
        except OperationalError:
            logger.warning("chat.settings_read_failed", extra={"shop_id": shop_id})
            return False
        return enabled is None or enabled

    return _offers_chat.get(shop_id, load)


def forget_chat_offers() -> None:
    """Read the chat's on/off setting afresh (after a change in this process)."""
    _offers_chat.clear()


def stream_token(secret_key: str, shop_id: int, public_id: str) -> str:
    serializer = URLSafeTimedSerializer(secret_key, salt=_STREAM_SALT)
    return serializer.dumps([shop_id, public_id])


def read_stream_token(secret_key: str, shop_id: int, token: str) -> StreamPass:
    """The pass a stream token carries, if it is ours, this shop's and fresh.

    Raises:
        StreamTokenInvalid: code ``stream_token_expired`` or
            ``invalid_stream_token``.
    """
    serializer = URLSafeTimedSerializer(secret_key, salt=_STREAM_SALT)
    try:
        value = serializer.loads(token, max_age=STREAM_TOKEN_SECONDS)
    except SignatureExpired:
        raise StreamTokenInvalid(
            "stream_token_expired", "The stream token expired; ask for a new one."
        ) from None
    except BadSignature:
        raise StreamTokenInvalid(
            "invalid_stream_token", "The stream token is not valid."
        ) from None
    if not isinstance(value, list) or len(value) != 2 or value[0] != shop_id:
        raise StreamTokenInvalid(
            "invalid_stream_token", "The stream token is for another shop."
        )
    return StreamPass(shop_id, str(value[1]))


def conversation_for_pass(shop: Shop, stream: StreamPass) -> Conversation | None:
    visitor = existing_visitor(shop, stream.public_id)
    return conversation_of_visitor(shop, visitor) if visitor is not None else None


def visitor_of_pass(shop: Shop, stream: StreamPass) -> Visitor | None:
    return existing_visitor(shop, stream.public_id)


def _conversation_for(shop: Shop, public_id: str) -> Conversation:
    if not chat_is_on(shop):
        raise ChatError("chat_off", "This shop's chat is switched off.")
    visitor = visitor_for(shop, public_id)
    return start_for_visitor(shop, visitor)


def _within_opening_hours(shop: Shop, now: datetime) -> bool:
    local = now.astimezone(ZoneInfo(shop.timezone or "UTC"))
    today = opening_hours(shop)[local.weekday()]
    clock = local.strftime("%H:%M")
    return any(start <= clock < end for start, end in today)
