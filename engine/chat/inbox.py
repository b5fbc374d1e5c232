"""The team's inbox: the list of conversations and the unread counts.

A page of the inbox costs three statements whatever its length: the
conversations (with their assignee, shopper, the member's unread count and
the id of the last message, all joined or correlated in one query), their
tags, and their last messages. Pages are newest activity first and go back
with ``before``, the ``cursor`` of the previous page's last row (the
activity time and the public id, so rows of the same instant are neither
skipped nor repeated).

Queues: ``mine`` is what the member was given; ``team`` every open or
pending case, whoever has it; ``unassigned`` the open cases nobody has;
``all`` everything. Unread means shopper messages numbered above the
member's read mark (``ChatRead``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, case, func, or_, select

from engine.chat.casework import iso
from engine.chat.errors import ConversationNotFound, InvalidChatInput
from engine.chat.models import (
    CHANNELS,
    EVENT,
    IMAGE,
    NOTE,
    OPEN,
    PENDING,
    SHOPPER,
    STATUSES,
    ChatMessage,
    ChatRead,
    ChatTag,
    Conversation,
    ConversationTag,
)
from engine.db import db
from engine.shops.models import Shop
from engine.team.models import TeamMember
from engine.visitors.models import Visitor

MINE = "mine"
TEAM = "team"
UNASSIGNED = "unassigned"
ALL = "all"
QUEUES = (MINE, TEAM, UNASSIGNED, ALL)
PAGE_MAX = 200
PREVIEW_LENGTH = 120
IMAGE_PREVIEW = "[image]"

_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class InboxMember:
    id: int
    name: str


@dataclass(frozen=True)
class InboxTag:
    id: int
    name: str
    color: str


@dataclass(frozen=True)
class InboxRow:
    """One conversation as the inbox lists it."""

    conversation_id: str
    status: str
    assignee: InboxMember | None
    channel: str
    shopper_name: str
    tags: tuple[InboxTag, ...]
    # The last message the shopper could see (notes and events left out).
    preview: str | None
    last_message_at: datetime | None
    waiting_since: datetime | None
    follow_up_at: datetime | None
    unread: int
    # Pass as ``before`` for the next page.
    cursor: str


def list_conversations(
    shop: Shop,
    member: TeamMember,
    *,
    queue: str = TEAM,
    status: str | None = None,
    tag_id: int | None = None,
    channel: str | None = None,
    assignee_id: int | None = None,
    limit: int = 50,
    before: str | datetime | None = None,
) -> list[InboxRow]:
    """A page of the shop's conversations in ``queue``, newest activity first.

    ``before`` is a row's ``cursor`` (or a time): only older rows are listed.

    Raises:
        InvalidChatInput: naming the filter at fault.
    """
    _check_member(shop, member)
    conditions = [
        *_queue_conditions(queue, member),
        *_filter_conditions(status, tag_id, channel, assignee_id),
    ]
    if before is not None:
        conditions.append(_older_than(before))
    limit = _page_size(limit)

    rows = db.session.execute(
        _page_query(shop, member).where(*conditions).limit(limit)
    ).all()
    return _inbox_rows(shop, rows)


def conversation_row(
    shop: Shop, member: TeamMember, conversation: Conversation
) -> InboxRow:
    """One conversation as the inbox lists it, for the panel's header of it."""
    _check_member(shop, member)
    row = db.session.execute(
        _page_query(shop, member).where(Conversation.id == conversation.id)
    ).one_or_none()
    if row is None:
        raise ConversationNotFound(conversation.public_id)
    return _inbox_rows(shop, [row])[0]


def _inbox_rows(shop: Shop, rows: list) -> list[InboxRow]:
    conversation_ids = [row.id for row in rows]
    tags = _tags_of(shop, conversation_ids)
    previews = _previews(shop, [row.last_message_id for row in rows])
    return [
        InboxRow(
            conversation_id=row.public_id,
            status=row.status,
            assignee=InboxMember(row.assignee_id, row.assignee_name)
            if row.assignee_id is not None
            else None,
            channel=row.reply_channel,
            shopper_name=_shopper_name(row),
            tags=tuple(tags.get(row.id, ())),
            preview=previews.get(row.last_message_id),
            last_message_at=row.last_message_at,
            waiting_since=row.waiting_since,
            follow_up_at=row.follow_up_at,
            unread=row.unread or 0,
            cursor=f"{iso(row.activity)}|{row.public_id}",
        )
        for row in rows
    ]


def unread_summary(shop: Shop, member: TeamMember) -> dict[str, int]:
    """How many open or pending conversations have shopper messages the member
    has not read, per queue: ``{"mine", "team", "unassigned"}``."""
    _check_member(shop, member)
    last_read = func.coalesce(ChatRead.last_read_seq, 0)

    def counted(condition: ColumnElement[bool]) -> ColumnElement[int]:
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    row = db.session.execute(
        select(
            counted(Conversation.assignee_id == member.id).label(MINE),
            func.count().label(TEAM),
            counted(
                (Conversation.status == OPEN) & Conversation.assignee_id.is_(None)
            ).label(UNASSIGNED),
        )
        .select_from(Conversation)
        .outerjoin(ChatRead, _read_mark_of(member))
        .where(
            Conversation.shop_id == shop.id,
            Conversation.status.in_((OPEN, PENDING)),
            Conversation.last_shopper_seq > last_read,
        )
    ).one()
    return {MINE: int(row.mine), TEAM: int(row.team), UNASSIGNED: int(row.unassigned)}


def _page_query(shop: Shop, member: TeamMember):  # noqa: ANN202 - a Select
    last_read = func.coalesce(ChatRead.last_read_seq, 0)
    unread_count = (
        select(func.count())
        .where(
            ChatMessage.conversation_id == Conversation.id,
            ChatMessage.author == SHOPPER,
            ChatMessage.seq > last_read,
        )
        .scalar_subquery()
    )
    # Counted only where something is unread: most rows need no count.
    unread = case((Conversation.last_shopper_seq > last_read, unread_count), else_=0)
    last_message_id = (
        select(ChatMessage.id)
        .where(
            ChatMessage.conversation_id == Conversation.id,
            ChatMessage.kind.not_in((NOTE, EVENT)),
        )
        .order_by(ChatMessage.seq.desc())
        .limit(1)
        .scalar_subquery()
    )
    activity = _activity()
    return (
        select(
            Conversation.id,
            Conversation.public_id,
            Conversation.status,
            Conversation.assignee_id,
            TeamMember.display_name.label("assignee_name"),
            Conversation.reply_channel,
            Conversation.shopper_name,
            Visitor.first_name,
            Visitor.public_id.label("visitor_public_id"),
            Conversation.last_message_at,
            Conversation.waiting_since,
            Conversation.follow_up_at,
            activity.label("activity"),
            unread.label("unread"),
            last_message_id.label("last_message_id"),
        )
        .outerjoin(
            TeamMember,
            (TeamMember.id == Conversation.assignee_id)
            & (TeamMember.shop_id == shop.id),
        )
        .outerjoin(
            Visitor,
            (Visitor.id == Conversation.visitor_id) & (Visitor.shop_id == shop.id),
        )
        .outerjoin(ChatRead, _read_mark_of(member))
        .where(Conversation.shop_id == shop.id)
        .order_by(activity.desc(), Conversation.public_id.desc())
    )


def _activity() -> ColumnElement[datetime]:
    # A conversation with no message yet sorts by when it started.
    return func.coalesce(Conversation.last_message_at, Conversation.created_at)


def _read_mark_of(member: TeamMember) -> ColumnElement[bool]:
    return and_(
        ChatRead.conversation_id == Conversation.id,
        ChatRead.member_id == member.id,
        ChatRead.shop_id == Conversation.shop_id,
    )


def _queue_conditions(queue: str, member: TeamMember) -> list[ColumnElement[bool]]:
    if queue == MINE:
        return [Conversation.assignee_id == member.id]
    if queue == TEAM:
        return [Conversation.status.in_((OPEN, PENDING))]
    if queue == UNASSIGNED:
        return [Conversation.status == OPEN, Conversation.assignee_id.is_(None)]
    if queue == ALL:
        return []
    raise InvalidChatInput(
        "invalid_queue",
        f"Unknown queue {queue!r}; use one of {', '.join(QUEUES)}.",
        "queue",
    )


def _filter_conditions(
    status: str | None,
    tag_id: int | None,
    channel: str | None,
    assignee_id: int | None,
) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if status is not None:
        if status not in STATUSES:
            raise InvalidChatInput(
                "invalid_status",
                f"Unknown status {status!r}; use one of {', '.join(STATUSES)}.",
                "status",
            )
        conditions.append(Conversation.status == status)
    if channel is not None:
        if channel not in CHANNELS:
            raise InvalidChatInput(
                "invalid_channel",
                f"Unknown channel {channel!r}; use one of {', '.join(CHANNELS)}.",
                "channel",
            )
        conditions.append(Conversation.reply_channel == channel)
    if tag_id is not None:
        conditions.append(
            select(ConversationTag.tag_id)
            .where(
                ConversationTag.conversation_id == Conversation.id,
                ConversationTag.tag_id == tag_id,
            )
            .exists()
        )
    if assignee_id is not None:
        conditions.append(Conversation.assignee_id == assignee_id)
    return conditions


def _older_than(before: str | datetime) -> ColumnElement[bool]:
    activity = _activity()
    if isinstance(before, datetime):
        return activity < _aware(before)
    moment, _, public_id = str(before).rpartition("|")
    try:
        when = _aware(datetime.fromisoformat(moment))
    except ValueError:
        raise InvalidChatInput(
            "invalid_cursor", "That page cursor is not one we gave.", "before"
        ) from None
    return or_(
        activity < when, and_(activity == when, Conversation.public_id < public_id)
    )


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise InvalidChatInput(
            "invalid_cursor", "Give the time with its time zone.", "before"
        )
    return moment


def _page_size(limit: int) -> int:
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise InvalidChatInput(
            "invalid_limit", "Ask for at least one conversation.", "limit"
        )
    return min(limit, PAGE_MAX)


def _tags_of(shop: Shop, conversation_ids: list[int]) -> dict[int, list[InboxTag]]:
    if not conversation_ids:
        return {}
    rows = db.session.execute(
        select(ConversationTag.conversation_id, ChatTag.id, ChatTag.name, ChatTag.color)
        .join(ChatTag, ChatTag.id == ConversationTag.tag_id)
        .where(
            ConversationTag.shop_id == shop.id,
            ChatTag.shop_id == shop.id,
            ConversationTag.conversation_id.in_(conversation_ids),
        )
        .order_by(ChatTag.name)
    )
    tags: dict[int, list[InboxTag]] = {}
    for row in rows:
        tags.setdefault(row.conversation_id, []).append(
            InboxTag(row.id, row.name, row.color)
        )
    return tags


def _previews(shop: Shop, message_ids: list[int | None]) -> dict[int, str]:
    ids = [message_id for message_id in message_ids if message_id is not None]
    if not ids:
        return {}
    rows = db.session.execute(
        select(ChatMessage.id, ChatMessage.kind, ChatMessage.text).where(
            ChatMessage.shop_id == shop.id, ChatMessage.id.in_(ids)
        )
    )
    return {row.id: _preview(row.kind, row.text) for row in rows}


def _preview(kind: str, text: str | None) -> str:
    if kind == IMAGE:
        return IMAGE_PREVIEW
    line = _SPACES.sub(" ", text or "").strip()
    if len(line) > PREVIEW_LENGTH:
        return line[: PREVIEW_LENGTH - 1] + "…"
    return line


def _shopper_name(row) -> str:  # noqa: ANN001 - a result row
    if row.shopper_name:
        return row.shopper_name
    if row.first_name:
        return row.first_name
    short_id = (row.visitor_public_id or row.public_id)[:6]
    return f"Visitor {short_id}"


def _check_member(shop: Shop, member: TeamMember) -> None:
    if member.shop_id != shop.id:
        raise InvalidChatInput(
            "invalid_member", "That person is not in this shop's team.", "member"
        )
