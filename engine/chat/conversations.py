"""Finding a shopper's conversation and adding messages to it, numbered.

One person has one conversation with a shop, across their devices and
channels: a visitor's is found through the visitors that are the same
person (the same customer, or bound to the same LINE or Messenger account),
and a LINE or Messenger account's through its bindings. A resolved
conversation opens again when the shopper writes, keeping its history.

``append`` gives each message the next ``seq`` by incrementing the
conversation's counter in the same transaction: the row stays locked until
the commit, so messages of one conversation commit in ``seq`` order and a
reader that has seen ``seq`` n has seen every message before it.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import set_committed_value

from engine.binding.models import ChannelBinding
from engine.chat.errors import InvalidChatInput
from engine.chat.fanout import publish_after_commit
from engine.chat.models import (
    AGENT,
    EVENT,
    IMAGE,
    LINE,
    MESSENGER,
    NOTE,
    OPEN,
    PENDING,
    RESOLVED,
    SHOPPER,
    TEXT,
    WEB,
    ChatImage,
    ChatMessage,
    Conversation,
)
from engine.db import db, utcnow
from engine.shops.models import Shop
from engine.visitors.models import Visitor

logger = logging.getLogger(__name__)

TEXT_MAX = 2000
HISTORY_PAGE = 200


@dataclass(frozen=True)
class NewMessage:
    """What a message says and who wrote it, before it gets its number."""

    author: str
    kind: str = TEXT
    channel: str = WEB
    text: str | None = None
    image: ChatImage | None = None
    member_id: int | None = None
    author_name: str | None = None
    client_id: str | None = None
    external_id: str | None = None
    delivery: str | None = None


def person_visitor_ids(shop: Shop, visitor: Visitor) -> set[int]:
    """The visitors that are the same person as ``visitor`` (itself included)."""
    ids = {visitor.id}
    if visitor.customer_id:
        ids |= set(
            db.session.scalars(
                select(Visitor.id).where(
                    Visitor.shop_id == shop.id,
                    Visitor.customer_id == visitor.customer_id,
                )
            )
        )
    accounts = db.session.execute(
        select(ChannelBinding.channel, ChannelBinding.external_id).where(
            ChannelBinding.shop_id == shop.id, ChannelBinding.visitor_id.in_(ids)
        )
    ).all()
    if accounts:
        ids |= set(
            db.session.scalars(
                select(ChannelBinding.visitor_id).where(
                    ChannelBinding.shop_id == shop.id,
                    or_(
                        *(
                            (ChannelBinding.channel == channel)
                            & (ChannelBinding.external_id == account)
                            for channel, account in accounts
                        )
                    ),
                )
            )
        )
    return ids


def conversation_of_visitor(shop: Shop, visitor: Visitor) -> Conversation | None:
    """The person's conversation with the shop, if they ever started one."""
    return _latest(shop, Conversation.visitor_id.in_(person_visitor_ids(shop, visitor)))


def conversation_of_account(
    shop: Shop, channel: str, external_id: str
) -> Conversation | None:
    """The conversation of a LINE user or Messenger PSID: theirs, or their
    bound visitors'."""
    column = _account_column(channel)
    found = _latest(shop, column == external_id)
    if found is not None:
        return found
    visitor_ids = set(
        db.session.scalars(
            select(ChannelBinding.visitor_id).where(
                ChannelBinding.shop_id == shop.id,
                ChannelBinding.channel == channel,
                ChannelBinding.external_id == external_id,
            )
        )
    )
    if not visitor_ids:
        return None
    return _latest(shop, Conversation.visitor_id.in_(visitor_ids))


def start_for_visitor(shop: Shop, visitor: Visitor) -> Conversation:
    """The visitor's conversation, started now if they have none.

    The visitor's row is locked first, so two first messages sent at once
    (two tabs) start one conversation, not two.
    """
    db.session.execute(
        select(Visitor.id).where(Visitor.id == visitor.id).with_for_update()
    )
    existing = conversation_of_visitor(shop, visitor)
    if existing is not None:
        return existing
    return _create(shop, visitor_id=visitor.id, reply_channel=WEB)


def start_for_account(
    shop: Shop, channel: str, external_id: str, name: str | None = None
) -> Conversation:
    """The conversation of a LINE or Messenger account, started if new."""
    conversation = conversation_of_account(shop, channel, external_id)
    if conversation is None:
        visitor_id = db.session.scalar(
            select(ChannelBinding.visitor_id)
            .where(
                ChannelBinding.shop_id == shop.id,
                ChannelBinding.channel == channel,
                ChannelBinding.external_id == external_id,
            )
            .order_by(ChannelBinding.id)
            .limit(1)
        )
        conversation = _create(shop, visitor_id=visitor_id, reply_channel=channel)
    setattr(conversation, _account_column(channel).key, external_id)
    if name and not conversation.shopper_name:
        conversation.shopper_name = name[:120]
    return conversation


def find(shop: Shop, public_id: str) -> Conversation | None:
    if not public_id or len(public_id) > 32:
        return None
    return db.session.scalar(
        select(Conversation).where(
            Conversation.shop_id == shop.id, Conversation.public_id == public_id
        )
    )


def append(conversation: Conversation, new: NewMessage) -> ChatMessage:
    """Store ``new`` as the conversation's next message; the caller commits.

    A ``client_id`` or ``external_id`` seen before returns the message
    stored then: a repeated send or a redelivered webhook adds nothing.
    The event goes out to live listeners after the commit.
    """
    earlier = _earlier_copy(conversation, new)
    if earlier is not None:
        return earlier
    _check_text(new)

    now = utcnow()
    try:
        with db.session.begin_nested():
            message = ChatMessage(
                shop_id=conversation.shop_id,
                conversation_id=conversation.id,
                seq=_next_seq(conversation),
                author=new.author,
                kind=new.kind,
                member_id=new.member_id,
                author_name=new.author_name,
                channel=new.channel,
                text=new.text,
                image_id=new.image.id if new.image is not None else None,
                client_id=new.client_id,
                external_id=new.external_id,
                delivery=new.delivery,
                created_at=now,
            )
            db.session.add(message)
            db.session.flush()
    except IntegrityError:
        # The same client_id or external_id, committed by another request
        # between our look and our insert (which waited for it): the
        # savepoint took our number back, so no seq is skipped.
        db.session.expire(conversation, ["last_seq"])
        earlier = _earlier_copy(conversation, new)
        if earlier is None:
            raise
        return earlier

    _note_on_conversation(conversation, message, now)
    publish_message(conversation, message)
    return message


def messages_after(
    conversation: Conversation,
    after: int,
    *,
    include_notes: bool,
    limit: int = HISTORY_PAGE,
) -> list[ChatMessage]:
    """The conversation's messages numbered above ``after``, oldest first."""
    query = (
        select(ChatMessage)
        .where(
            ChatMessage.conversation_id == conversation.id,
            ChatMessage.seq > max(after, 0),
        )
        .order_by(ChatMessage.seq)
        .limit(limit)
    )
    if not include_notes:
        query = query.where(ChatMessage.kind != NOTE)
    return list(db.session.scalars(query))


def latest_messages(
    conversation: Conversation, *, include_notes: bool, limit: int = HISTORY_PAGE
) -> list[ChatMessage]:
    """The last ``limit`` messages, oldest first (a history's first page)."""
    start = max(conversation.last_seq - limit, 0)
    return messages_after(conversation, start, include_notes=include_notes, limit=limit)


def describe_message(message: ChatMessage, image_url: str | None = None) -> dict:
    """The message as the widget and the panel receive it."""
    return {
        "seq": message.seq,
        "author": message.author,
        "kind": message.kind,
        "name": message.author_name if message.author == AGENT else None,
        "text": message.text,
        "image_url": image_url,
        "channel": message.channel,
        "sent_at": message.created_at.isoformat().replace("+00:00", "Z"),
        "delivery": message.delivery,
        "delivery_error": message.delivery_error,
    }


def describe_conversation(conversation: Conversation) -> dict:
    """What the shopper's widget knows of its conversation."""
    return {
        "id": conversation.public_id,
        "status": conversation.status,
        "rating": conversation.rating,
        "rating_requested": conversation.rating_requested_at is not None
        and conversation.rating is None,
    }


def publish_message(conversation: Conversation, message: ChatMessage) -> None:
    publish_after_commit(
        conversation.shop_id,
        {
            "type": "message",
            "conversation_id": conversation.id,
            "conversation": conversation.public_id,
            "visitor_id": conversation.visitor_id,
            "message_id": message.id,
            "seq": message.seq,
            "kind": message.kind,
        },
    )


def publish_change(conversation: Conversation, what: str) -> None:
    """Tell listeners the conversation's status, owner or tags changed."""
    publish_after_commit(
        conversation.shop_id,
        {
            "type": "conversation",
            "what": what,
            "conversation_id": conversation.id,
            "conversation": conversation.public_id,
            "visitor_id": conversation.visitor_id,
            "status": conversation.status,
            "seq": conversation.last_seq,
        },
    )


def reopen_if_closed(conversation: Conversation) -> None:
    """A shopper's new message brings a resolved or pending case back."""
    if conversation.status in (RESOLVED, PENDING):
        conversation.status = OPEN
        conversation.resolved_at = None
        conversation.follow_up_at = None
        publish_change(conversation, "status")


def image_of(message: ChatMessage) -> ChatImage | None:
    if message.image_id is None:
        return None
    return db.session.get(ChatImage, message.image_id)


def images_by_id(messages: Iterable[ChatMessage]) -> dict[int, ChatImage]:
    ids = {message.image_id for message in messages if message.image_id}
    if not ids:
        return {}
    rows = db.session.scalars(select(ChatImage).where(ChatImage.id.in_(ids)))
    return {row.id: row for row in rows}


def _latest(shop: Shop, condition: Any) -> Conversation | None:
    return db.session.scalar(
        select(Conversation)
        .where(Conversation.shop_id == shop.id, condition)
        .order_by(Conversation.last_message_at.desc().nulls_last(), Conversation.id)
        .limit(1)
    )


def _create(shop: Shop, *, visitor_id: int | None, reply_channel: str) -> Conversation:
    conversation = Conversation(
        shop_id=shop.id,
        public_id=secrets.token_urlsafe(16),
        visitor_id=visitor_id,
        status=OPEN,
        reply_channel=reply_channel,
        last_seq=0,
        last_shopper_seq=0,
    )
    db.session.add(conversation)
    db.session.flush()
    logger.info(
        "chat.conversation_started",
        extra={"shop_id": shop.id, "conversation_id": conversation.id},
    )
    return conversation


def _account_column(channel: str) -> Any:
    if channel == LINE:
        return Conversation.line_user_id
    if channel == MESSENGER:
        return Conversation.messenger_psid
    raise ValueError(f"No account column for channel {channel!r}.")


def _earlier_copy(conversation: Conversation, new: NewMessage) -> ChatMessage | None:
    if new.client_id is not None:
        condition = ChatMessage.client_id == new.client_id
        scope = ChatMessage.conversation_id == conversation.id
    elif new.external_id is not None:
        condition = ChatMessage.external_id == new.external_id
        scope = (ChatMessage.shop_id == conversation.shop_id) & (
            ChatMessage.channel == new.channel
        )
    else:
        return None
    return db.session.scalar(select(ChatMessage).where(scope, condition))


def _check_text(new: NewMessage) -> None:
    if new.kind in (TEXT, NOTE):
        text = (new.text or "").strip()
        if not text:
            raise InvalidChatInput("empty_message", "Write something first.", "text")
        if len(new.text or "") > TEXT_MAX:
            raise InvalidChatInput(
                "message_too_long",
                f"A message holds at most {TEXT_MAX} characters.",
                "text",
            )
    if new.kind == IMAGE and new.image is None:
        raise InvalidChatInput("image_missing", "The image is missing.", "image")


def _next_seq(conversation: Conversation) -> int:
    seq = db.session.execute(
        update(Conversation)
        .where(Conversation.id == conversation.id)
        .values(last_seq=Conversation.last_seq + 1)
        .returning(Conversation.last_seq)
        .execution_options(synchronize_session=False)
    ).scalar_one()
    set_committed_value(conversation, "last_seq", seq)
    return seq


def _note_on_conversation(
    conversation: Conversation, message: ChatMessage, now: datetime
) -> None:
    if message.kind in (NOTE, EVENT):
        return
    conversation.last_message_at = now
    if message.author == SHOPPER:
        conversation.last_shopper_seq = message.seq
        conversation.last_shopper_message_at = now
        conversation.reply_channel = message.channel
        if conversation.waiting_since is None:
            conversation.waiting_since = now
        reopen_if_closed(conversation)
    elif message.author == AGENT:
        conversation.waiting_since = None
