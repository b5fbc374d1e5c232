"""What a shop's team sets up for its chat: tags, saved replies, settings.

A shop's chat settings row is created with the defaults the first time
anything reads it, and with it the tags merchants asked to find ready
("return/exchange", "defective product", "order status"); a team that then
deletes them does not get them back. Saved replies take variables in the
reminders' syntax (``{first_name}``, ``{first_name|there}`` with a
fallback), filled from the conversation when an agent inserts one; a value
we do not know is left out, or replaced by the fallback the reply gives.

Every function refuses what is not the shop's own, and every refusal names
the field at fault (``InvalidChatInput``). The caller commits.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from sqlalchemy import delete, func, select

from engine.chat.casework import own_conversation
from engine.chat.conversations import TEXT_MAX
from engine.chat.errors import ChatError, InvalidChatInput
from engine.chat.models import (
    ChatSettings,
    ChatTag,
    Conversation,
    ConversationTag,
    SavedReply,
)
from engine.chat.sidebar import orders_of, shopper_of
from engine.db import db, insert_for, utcnow
from engine.reminders.content import fill_variables
from engine.shops.models import Shop
from engine.team.models import TeamMember

logger = logging.getLogger(__name__)

DEFAULT_TAGS = (
    ("return/exchange", "#5c6ac4"),
    ("defective product", "#de3618"),
    ("order status", "#47c1bf"),
)
DEFAULT_COLOR = "#5c6ac4"
TAG_NAME_MAX = 40
TITLE_MAX = 80
NOTE_MAX = 200
NO_REPLY_MINUTES = (1, 1440)
NO_REPLY_ACTIONS = ("queue", "colleague")
REPLY_VARIABLES = ("first_name", "agent_name", "shop_name", "order_name")
SETTINGS_FIELDS = (
    "enabled",
    "no_reply_minutes",
    "no_reply_action",
    "closed_note_en",
    "closed_note_zh",
    "messenger_human_agent",
    "ask_rating",
)

_COLOR = re.compile(r"#[0-9a-fA-F]{6}")
# The reminders' variable syntax (engine.reminders.content): {name|fallback}.
_VARIABLE = re.compile(r"\{(\w+)(?:\|([^{}]*))?\}")


class SetupItemNotFound(ChatError):
    """No tag or saved reply of this shop has that id."""

    status = 404


def list_tags(shop: Shop) -> list[ChatTag]:
    """The shop's tags by name (a shop's first read creates the defaults)."""
    chat_settings(shop)
    return list(
        db.session.scalars(
            select(ChatTag).where(ChatTag.shop_id == shop.id).order_by(ChatTag.name)
        )
    )


def create_tag(shop: Shop, name: str, color: str | None = None) -> ChatTag:
    """Add a tag; refused at ``name`` if the shop has one so named."""
    chat_settings(shop)
    tag = ChatTag(
        shop_id=shop.id,
        name=_tag_name(shop, name),
        color=_color(color),
    )
    db.session.add(tag)
    db.session.flush()
    logger.info("chat.tag_created", extra={"shop_id": shop.id, "tag_id": tag.id})
    return tag


def rename_tag(shop: Shop, tag_id: int, name: str, color: str | None = None) -> ChatTag:
    """Rename a tag (and recolour it when ``color`` is given)."""
    tag = _tag(shop, tag_id)
    tag.name = _tag_name(shop, name, keep=tag)
    if color is not None:
        tag.color = _color(color)
    return tag


def delete_tag(shop: Shop, tag_id: int) -> None:
    """Delete a tag and take it off every conversation that had it."""
    tag = _tag(shop, tag_id)
    db.session.execute(
        delete(ConversationTag).where(
            ConversationTag.shop_id == shop.id, ConversationTag.tag_id == tag.id
        )
    )
    db.session.delete(tag)
    logger.info("chat.tag_deleted", extra={"shop_id": shop.id, "tag_id": tag_id})


def list_saved_replies(shop: Shop) -> list[SavedReply]:
    """The shop's saved replies by title."""
    return list(
        db.session.scalars(
            select(SavedReply)
            .where(SavedReply.shop_id == shop.id)
            .order_by(SavedReply.title)
        )
    )


def save_reply(
    shop: Shop, title: str, body: str, reply_id: int | None = None
) -> SavedReply:
    """Add a saved reply, or change the one ``reply_id`` names."""
    reply = _saved_reply(shop, reply_id) if reply_id is not None else None
    title = _reply_title(shop, title, keep=reply)
    body = _reply_body(body)
    if reply is None:
        reply = SavedReply(shop_id=shop.id, title=title, body=body)
        db.session.add(reply)
    else:
        reply.title, reply.body = title, body
    db.session.flush()
    logger.info(
        "chat.saved_reply_saved", extra={"shop_id": shop.id, "reply_id": reply.id}
    )
    return reply


def delete_saved_reply(shop: Shop, reply_id: int) -> None:
    """Delete one of the shop's saved replies."""
    db.session.delete(_saved_reply(shop, reply_id))


def fill_saved_reply(
    shop: Shop, reply: SavedReply, conversation: Conversation, member: TeamMember
) -> str:
    """The reply's body with this conversation's shopper, agent, shop and order."""
    if reply.shop_id != shop.id:
        raise SetupItemNotFound(
            "saved_reply_not_found", "No such saved reply here.", "reply"
        )
    own_conversation(shop, conversation)
    if member.shop_id != shop.id:
        raise InvalidChatInput(
            "invalid_member", "That person is not in this shop's team.", "member"
        )

    shopper = shopper_of(shop, conversation)
    visitor = shopper.visitor
    latest_order = orders_of(shop, shopper, limit=1)
    values = {
        "first_name": (visitor.first_name if visitor else None)
        or conversation.shopper_name,
        "agent_name": member.display_name,
        "shop_name": shop.name or shop.shop_name,
        "order_name": latest_order[0].name if latest_order else None,
    }
    return fill_variables(reply.body, values)


def chat_settings(shop: Shop) -> ChatSettings:
    """The shop's chat settings, created with the defaults (and the default
    tags) the first time."""
    settings = db.session.get(ChatSettings, shop.id)
    if settings is not None:
        return settings

    now = utcnow()
    # Two first reads at once create one row; only the one that did seeds.
    created = db.session.execute(
        insert_for(ChatSettings)
        .values(shop_id=shop.id, created_at=now, updated_at=now)
        .on_conflict_do_nothing(index_elements=[ChatSettings.shop_id])
    )
    if created.rowcount:
        _seed_tags(shop)
    return db.session.get(ChatSettings, shop.id)


def update_chat_settings(shop: Shop, **fields: Any) -> ChatSettings:
    """Change some of the shop's chat settings; all are checked before any
    is stored.

    Raises:
        InvalidChatInput: at the first field that is unknown or out of range.
    """
    cleaned = {name: _setting(name, value) for name, value in fields.items()}
    settings = chat_settings(shop)
    for name, value in cleaned.items():
        setattr(settings, name, value)
    logger.info(
        "chat.settings_updated", extra={"shop_id": shop.id, "fields": sorted(cleaned)}
    )
    return settings


def _seed_tags(shop: Shop) -> None:
    insert = insert_for(ChatTag).values(
        [
            {"shop_id": shop.id, "name": name, "color": color}
            for name, color in DEFAULT_TAGS
        ]
    )
    db.session.execute(
        insert.on_conflict_do_nothing(index_elements=[ChatTag.shop_id, ChatTag.name])
    )


def _tag(shop: Shop, tag_id: int) -> ChatTag:
    tag = db.session.scalar(
        select(ChatTag).where(ChatTag.shop_id == shop.id, ChatTag.id == tag_id)
    )
    if tag is None:
        raise SetupItemNotFound("tag_not_found", f"No tag {tag_id!r} here.", "tag")
    return tag


def _tag_name(shop: Shop, name: object, keep: ChatTag | None = None) -> str:
    text = _required_text(name, "name", TAG_NAME_MAX, "A tag")
    same = db.session.scalar(
        select(ChatTag.id).where(
            ChatTag.shop_id == shop.id, func.lower(ChatTag.name) == text.lower()
        )
    )
    if same is not None and (keep is None or same != keep.id):
        raise InvalidChatInput(
            "tag_exists", f"There is already a tag {text!r}.", "name"
        )
    return text


def _color(color: object) -> str:
    if color is None:
        return DEFAULT_COLOR
    if not isinstance(color, str) or not _COLOR.fullmatch(color):
        raise InvalidChatInput(
            "invalid_color", "A colour is written #rrggbb, like #5c6ac4.", "color"
        )
    return color.lower()


def _saved_reply(shop: Shop, reply_id: int) -> SavedReply:
    reply = db.session.scalar(
        select(SavedReply).where(
            SavedReply.shop_id == shop.id, SavedReply.id == reply_id
        )
    )
    if reply is None:
        raise SetupItemNotFound(
            "saved_reply_not_found", f"No saved reply {reply_id!r} here.", "reply"
        )
    return reply


def _reply_title(shop: Shop, title: object, keep: SavedReply | None) -> str:
    text = _required_text(title, "title", TITLE_MAX, "A title")
    same = db.session.scalar(
        select(SavedReply.id).where(
            SavedReply.shop_id == shop.id, SavedReply.title == text
        )
    )
    if same is not None and (keep is None or same != keep.id):
        raise InvalidChatInput(
            "saved_reply_exists", f"There is already a reply {text!r}.", "title"
        )
    return text


def _reply_body(body: object) -> str:
    text = _required_text(body, "body", TEXT_MAX, "A reply")
    for match in _VARIABLE.finditer(text):
        if match.group(1) not in REPLY_VARIABLES:
            raise InvalidChatInput(
                "unknown_variable",
                f"Unknown variable {{{match.group(1)}}}; use one of"
                f" {', '.join('{' + name + '}' for name in REPLY_VARIABLES)}.",
                "body",
            )
    return text


def _required_text(value: object, field: str, limit: int, what: str) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if not text:
        raise InvalidChatInput("empty_field", f"{what} cannot be empty.", field)
    if len(text) > limit:
        raise InvalidChatInput(
            "field_too_long", f"{what} holds at most {limit} characters.", field
        )
    return text


def _setting(name: str, value: Any) -> Any:
    if name not in SETTINGS_FIELDS:
        raise InvalidChatInput(
            "unknown_setting",
            f"{name!r} is not a chat setting; use one of {', '.join(SETTINGS_FIELDS)}.",
            name,
        )
    if name == "no_reply_minutes":
        low, high = NO_REPLY_MINUTES
        if isinstance(value, bool) or not isinstance(value, int):
            value = None
        if value is None or not low <= value <= high:
            raise InvalidChatInput(
                "invalid_no_reply_minutes",
                f"The no-reply time is {low} to {high} minutes (a day).",
                name,
            )
        return value
    if name == "no_reply_action":
        if value not in NO_REPLY_ACTIONS:
            raise InvalidChatInput(
                "invalid_no_reply_action",
                "After no reply a conversation goes back to the queue or to a"
                " colleague: use 'queue' or 'colleague'.",
                name,
            )
        return value
    if name.startswith("closed_note"):
        return _note(value, name)
    if not isinstance(value, bool):
        raise InvalidChatInput("invalid_setting", "Use true or false.", name)
    return value


def _note(value: object, field: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidChatInput("invalid_note", "A note is text.", field)
    text = value.strip()
    if len(text) > NOTE_MAX:
        raise InvalidChatInput(
            "note_too_long", f"A note holds at most {NOTE_MAX} characters.", field
        )
    return text or None
