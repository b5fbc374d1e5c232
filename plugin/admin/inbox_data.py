"""The Inbox's objects as its screen and its API show them.

One dict per kind (a queue's row, a conversation with its reply box and
assignment log, a team member, a tag, a saved reply, the chat settings),
shared by the screen's boot data and the JSON API, and dumped through the
response schemas of ``inbox_schemas``. Reading only: nothing here writes.
"""

from __future__ import annotations

from typing import Any

from engine.chat.casework import assignment_log, iso
from engine.chat.conversations import describe_conversation
from engine.chat.delivery import reply_state
from engine.chat.inbox import InboxRow, conversation_row
from engine.chat.models import ChatSettings, ChatTag, Conversation, SavedReply
from engine.chat.setup import SETTINGS_FIELDS
from engine.db import utcnow
from engine.shops.models import Shop
from engine.team.accounts import list_members
from engine.team.models import TeamMember


def conversation_data(
    shop: Shop, member: TeamMember, conversation: Conversation
) -> dict[str, Any]:
    """The conversation with its reply box's state and its assignment log."""
    row = conversation_row(shop, member, conversation)
    return {
        **row_data(row),
        "rating": conversation.rating,
        "rating_requested": describe_conversation(conversation)["rating_requested"],
        "last_seq": conversation.last_seq,
        "reply_state": reply_state(shop, conversation, utcnow()).describe(),
        "assignment_log": assignment_log(shop, conversation),
    }


def row_data(row: InboxRow) -> dict[str, Any]:
    return {
        "id": row.conversation_id,
        "status": row.status,
        "assignee": {"id": row.assignee.id, "name": row.assignee.name}
        if row.assignee is not None
        else None,
        "channel": row.channel,
        "shopper_name": row.shopper_name,
        "tags": [vars(tag) for tag in row.tags],
        "preview": row.preview,
        "last_message_at": iso(row.last_message_at),
        "waiting_since": iso(row.waiting_since),
        "follow_up_at": iso(row.follow_up_at),
        "unread": row.unread,
        "cursor": row.cursor,
    }


def member_data(member: TeamMember) -> dict[str, Any]:
    return {
        "id": member.id,
        "name": member.display_name,
        "role": member.role,
        "on_shift": member.on_shift,
    }


def team_data(shop: Shop) -> list[dict[str, Any]]:
    members = sorted(
        (member for member in list_members(shop) if member.active),
        key=lambda member: member.display_name.lower(),
    )
    return [member_data(member) for member in members]


def tag_data(tag: ChatTag) -> dict[str, Any]:
    return {"id": tag.id, "name": tag.name, "color": tag.color}


def reply_data(reply: SavedReply) -> dict[str, Any]:
    return {"id": reply.id, "title": reply.title, "body": reply.body}


def settings_data(settings: ChatSettings) -> dict[str, Any]:
    return {name: getattr(settings, name) for name in SETTINGS_FIELDS}
