"""The chat's part of the platform's privacy requests.

A customer's conversations are those of their visitors, and those of the
LINE and Messenger accounts their visitors are bound to (a conversation
started on LINE before the binding names only the account). An export
lists each conversation with every message, the team's notes included:
they are data held on the person. Erasure deletes the conversations with
everything hanging off them (messages, their images, assignments, tags,
read marks), explicitly rather than by the database's cascades, which
SQLite leaves off. ``shop/redact`` needs nothing here: every chat table
has a ``shop_id`` and ``engine.privacy.requests.redact_shop`` empties them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import delete, false, or_, select

from engine.binding.models import ChannelBinding
from engine.chat.casework import iso
from engine.chat.models import (
    LINE,
    MESSENGER,
    ChatAssignment,
    ChatImage,
    ChatMessage,
    ChatRead,
    Conversation,
    ConversationTag,
)
from engine.db import db
from engine.shops.models import Shop


def customer_conversations(
    shop: Shop, visitor_ids: Iterable[int]
) -> list[dict[str, Any]]:
    """The customer's conversations and their messages, for a data export."""
    conversations = list(
        db.session.scalars(
            select(Conversation)
            .where(Conversation.shop_id == shop.id, _theirs(shop, visitor_ids))
            .order_by(Conversation.id)
        )
    )
    messages: dict[int, list[dict[str, Any]]] = {}
    rows = db.session.execute(
        select(ChatMessage, ChatImage.content_type, ChatImage.size)
        .outerjoin(
            ChatImage,
            (ChatImage.id == ChatMessage.image_id) & (ChatImage.shop_id == shop.id),
        )
        .where(
            ChatMessage.shop_id == shop.id,
            ChatMessage.conversation_id.in_([c.id for c in conversations]),
        )
        .order_by(ChatMessage.conversation_id, ChatMessage.seq)
    )
    for message, content_type, size in rows:
        messages.setdefault(message.conversation_id, []).append(
            {
                "seq": message.seq,
                "author": message.author,
                "kind": message.kind,
                "name": message.author_name,
                "channel": message.channel,
                "text": message.text,
                "image": {"content_type": content_type, "size": size}
                if content_type
                else None,
                "sent_at": iso(message.created_at),
            }
        )
    return [
        {
            "id": conversation.public_id,
            "status": conversation.status,
            "shopper_name": conversation.shopper_name,
            "line_user_id": conversation.line_user_id,
            "messenger_psid": conversation.messenger_psid,
            "started_at": iso(conversation.created_at),
            "rating": conversation.rating,
            "messages": messages.get(conversation.id, []),
        }
        for conversation in conversations
    ]


def forget_conversations(shop: Shop, visitor_ids: Iterable[int]) -> int:
    """Delete the customer's conversations and all they hold; returns how many.

    Call before the visitors and their bindings go: they are how the
    conversations are found. The caller commits.
    """
    conversation_ids = list(
        db.session.scalars(
            select(Conversation.id).where(
                Conversation.shop_id == shop.id, _theirs(shop, visitor_ids)
            )
        )
    )
    if not conversation_ids:
        return 0
    image_ids = list(
        db.session.scalars(
            select(ChatMessage.image_id).where(
                ChatMessage.shop_id == shop.id,
                ChatMessage.conversation_id.in_(conversation_ids),
                ChatMessage.image_id.is_not(None),
            )
        )
    )
    for model in (ConversationTag, ChatRead, ChatAssignment, ChatMessage):
        db.session.execute(
            delete(model).where(
                model.shop_id == shop.id, model.conversation_id.in_(conversation_ids)
            )
        )
    db.session.execute(
        delete(ChatImage).where(
            ChatImage.shop_id == shop.id, ChatImage.id.in_(image_ids)
        )
    )
    db.session.execute(
        delete(Conversation).where(
            Conversation.shop_id == shop.id, Conversation.id.in_(conversation_ids)
        )
    )
    return len(conversation_ids)


def _theirs(shop: Shop, visitor_ids: Iterable[int]):  # noqa: ANN202 - a condition
    """Conversations of these visitors, of the accounts they are bound to, and
    of the other devices bound to those accounts (as bindings are erased)."""
    visitor_ids = list(visitor_ids)
    if not visitor_ids:
        return false()
    accounts = db.session.execute(
        select(ChannelBinding.channel, ChannelBinding.external_id).where(
            ChannelBinding.shop_id == shop.id,
            ChannelBinding.visitor_id.in_(visitor_ids),
        )
    ).all()
    if not accounts:
        return Conversation.visitor_id.in_(visitor_ids)

    same_account = or_(
        *(
            (ChannelBinding.channel == channel)
            & (ChannelBinding.external_id == external_id)
            for channel, external_id in accounts
        )
    )
    bound_visitors = select(ChannelBinding.visitor_id).where(
        ChannelBinding.shop_id == shop.id, same_account
    )
    columns = {LINE: Conversation.line_user_id, MESSENGER: Conversation.messenger_psid}
    return or_(
        Conversation.visitor_id.in_(visitor_ids),
        Conversation.visitor_id.in_(bound_visitors),
        *(
            columns[channel] == external_id
            for channel, external_id in accounts
            if channel in columns
        ),
    )
