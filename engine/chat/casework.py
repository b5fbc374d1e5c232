"""The team's work on a conversation: who has it, where it stands, its tags.

Every change of hands is logged (``ChatAssignment``: from, to, by, why,
when), so the panel can show who had a case when; a hand-over can carry an
internal note for the colleague taking it, stored as a ``note`` message the
shopper never sees. Status changes follow the case: ``pending`` may carry a
follow-up date (``engine.chat.timers`` reopens the case then), and resolving
asks the shopper for a rating when the shop wants one. Read marks are per
member and only ever move forward.

Each function checks that what it is given belongs to the shop, changes the
rows and announces the change to live listeners once the caller commits.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import aliased

from engine.chat.conversations import NewMessage, append, publish_change
from engine.chat.errors import ConversationNotFound, InvalidChatInput
from engine.chat.models import (
    AGENT,
    NOTE,
    OPEN,
    PENDING,
    RESOLVED,
    STATUSES,
    ChatAssignment,
    ChatRead,
    ChatSettings,
    ChatTag,
    Conversation,
    ConversationTag,
)
from engine.chat.rating import request_rating
from engine.db import db, insert_for, utcnow
from engine.shops.models import Shop
from engine.team.models import TeamMember

logger = logging.getLogger(__name__)

ASSIGNED = "assigned"
HANDED_OVER = "handed_over"
NO_REPLY = "no_reply"
# A follow-up further away than this is a forgotten case, not a plan.
FOLLOW_UP_MAX = timedelta(days=90)
NOTE_MAX = 2000


def assign(
    shop: Shop,
    conversation: Conversation,
    to_member: TeamMember | None,
    by: TeamMember | None,
    *,
    reason: str = ASSIGNED,
    note: str | None = None,
) -> ChatAssignment | None:
    """Give the conversation to ``to_member`` (None: back to the queue); the
    caller commits.

    ``by`` is who did it (None for the no-reply timer). A ``note`` is left
    for the new assignee as an internal message. Giving a conversation to
    the member who has it logs nothing and returns None (the note, if any,
    is still left).

    Raises:
        InvalidChatInput: at ``assignee`` for a member of another shop or a
            deactivated one; at ``note`` for a note too long.
    """
    own_conversation(shop, conversation)
    if to_member is not None:
        _check_assignee(shop, to_member)
    _check_member(shop, by, "by")
    note = _clean_note(note)

    if note is not None:
        _leave_note(conversation, by, note)
    from_id = conversation.assignee_id
    to_id = to_member.id if to_member is not None else None
    if from_id == to_id:
        return None

    entry = ChatAssignment(
        shop_id=shop.id,
        conversation_id=conversation.id,
        from_member_id=from_id,
        to_member_id=to_id,
        by_member_id=by.id if by is not None else None,
        reason=reason,
        at=utcnow(),
    )
    db.session.add(entry)
    conversation.assignee_id = to_id
    publish_change(conversation, "assignee")
    logger.info(
        "chat.assigned",
        extra={
            "shop_id": shop.id,
            "conversation_id": conversation.id,
            "from_member_id": from_id,
            "to_member_id": to_id,
            "reason": reason,
        },
    )
    return entry


def hand_over(
    shop: Shop,
    conversation: Conversation,
    to_member: TeamMember | None,
    by: TeamMember | None,
    note: str | None,
) -> ChatAssignment | None:
    """Pass the conversation to a colleague with a note; the caller commits."""
    return assign(shop, conversation, to_member, by, reason=HANDED_OVER, note=note)


def hand_over_all(
    shop: Shop,
    from_member: TeamMember,
    to_member: TeamMember | None,
    by: TeamMember | None,
    note: str | None,
) -> int:
    """The shift change: every open or pending case of ``from_member`` goes to
    ``to_member`` with the note; returns how many. The caller commits."""
    _check_member(shop, from_member, "from")
    if to_member is not None:
        _check_assignee(shop, to_member)
        if to_member.id == from_member.id:
            raise InvalidChatInput(
                "same_assignee", "Hand the cases over to someone else.", "assignee"
            )

    conversations = db.session.scalars(
        select(Conversation)
        .where(
            Conversation.shop_id == shop.id,
            Conversation.assignee_id == from_member.id,
            Conversation.status.in_((OPEN, PENDING)),
        )
        .order_by(Conversation.id)
        .with_for_update()
    ).all()
    for conversation in conversations:
        hand_over(shop, conversation, to_member, by, note)
    return len(conversations)


def assignment_log(shop: Shop, conversation: Conversation) -> list[dict[str, Any]]:
    """Who had the conversation from when, oldest first, with members' names."""
    own_conversation(shop, conversation)
    giver, taker, actor = (aliased(TeamMember) for _ in range(3))
    rows = db.session.execute(
        select(
            giver.display_name.label("from_name"),
            taker.display_name.label("to_name"),
            actor.display_name.label("by_name"),
            ChatAssignment.reason,
            ChatAssignment.at,
        )
        .outerjoin(giver, giver.id == ChatAssignment.from_member_id)
        .outerjoin(taker, taker.id == ChatAssignment.to_member_id)
        .outerjoin(actor, actor.id == ChatAssignment.by_member_id)
        .where(
            ChatAssignment.shop_id == shop.id,
            ChatAssignment.conversation_id == conversation.id,
        )
        .order_by(ChatAssignment.at, ChatAssignment.id)
    )
    return [
        {
            "from": row.from_name,
            "to": row.to_name,
            "by": row.by_name,
            "reason": row.reason,
            "at": iso(row.at),
        }
        for row in rows
    ]


def set_status(
    shop: Shop,
    conversation: Conversation,
    status: str,
    by: TeamMember | None,
    *,
    follow_up_at: datetime | None = None,
) -> Conversation:
    """Open, set pending (optionally until ``follow_up_at``) or resolve the
    conversation; the caller commits.

    Resolving asks the shopper for a rating when the shop's chat settings
    say so. A case set pending or resolved no longer waits for an answer,
    so the no-reply timer leaves it alone.

    Raises:
        InvalidChatInput: at ``status`` for an unknown one; at
            ``follow_up_at`` for a date in the past, more than 90 days ahead,
            without a time zone, or given with a status other than pending.
    """
    own_conversation(shop, conversation)
    _check_member(shop, by, "by")
    if status not in STATUSES:
        raise InvalidChatInput(
            "invalid_status",
            f"Unknown status {status!r}; use one of {', '.join(STATUSES)}.",
            "status",
        )
    now = utcnow()
    _check_follow_up(status, follow_up_at, now)

    was_resolved = conversation.status == RESOLVED
    conversation.status = status
    conversation.follow_up_at = follow_up_at
    conversation.resolved_at = now if status == RESOLVED else None
    if status != OPEN:
        conversation.waiting_since = None
    publish_change(conversation, "status")
    logger.info(
        "chat.status_set",
        extra={
            "shop_id": shop.id,
            "conversation_id": conversation.id,
            "status": status,
            "member_id": by.id if by is not None else None,
        },
    )

    if status == RESOLVED and not was_resolved and _asks_rating(shop):
        request_rating(shop, conversation)
    return conversation


def set_tags(
    shop: Shop, conversation: Conversation, tag_ids: Iterable[int]
) -> list[ChatTag]:
    """Make the conversation's tags exactly ``tag_ids``; the caller commits.

    Raises:
        InvalidChatInput: at ``tags`` when an id is not one of the shop's tags.
    """
    own_conversation(shop, conversation)
    wanted = _tag_id_set(tag_ids)
    tags = list(
        db.session.scalars(
            select(ChatTag)
            .where(ChatTag.shop_id == shop.id, ChatTag.id.in_(wanted))
            .order_by(ChatTag.name)
        )
    )
    unknown = wanted - {tag.id for tag in tags}
    if unknown:
        raise InvalidChatInput(
            "unknown_tag", f"No tag {min(unknown)} in this shop.", "tags"
        )

    current = set(
        db.session.scalars(
            select(ConversationTag.tag_id).where(
                ConversationTag.conversation_id == conversation.id
            )
        )
    )
    if current - wanted:
        db.session.execute(
            delete(ConversationTag).where(
                ConversationTag.conversation_id == conversation.id,
                ConversationTag.tag_id.in_(current - wanted),
            )
        )
    for tag_id in sorted(wanted - current):
        db.session.add(
            ConversationTag(
                conversation_id=conversation.id, tag_id=tag_id, shop_id=shop.id
            )
        )
    if wanted != current:
        publish_change(conversation, "tags")
    return tags


def mark_read(
    shop: Shop, member: TeamMember, conversation: Conversation, seq: int
) -> None:
    """Note that ``member`` has read up to ``seq``; never moves back. The
    caller commits."""
    own_conversation(shop, conversation)
    _check_member(shop, member, "member")
    if isinstance(seq, bool) or not isinstance(seq, int) or seq < 0:
        raise InvalidChatInput(
            "invalid_seq", "A message number is a whole number from 0.", "seq"
        )
    seq = min(seq, conversation.last_seq)

    insert = insert_for(ChatRead).values(
        member_id=member.id,
        conversation_id=conversation.id,
        shop_id=shop.id,
        last_read_seq=seq,
    )
    db.session.execute(
        insert.on_conflict_do_update(
            index_elements=[ChatRead.member_id, ChatRead.conversation_id],
            set_={"last_read_seq": insert.excluded.last_read_seq},
            where=ChatRead.last_read_seq < insert.excluded.last_read_seq,
        )
    )


def set_on_shift(member: TeamMember, on_shift: bool) -> None:
    """Start or end the member's shift; the caller commits.

    Only members on shift receive conversations from the no-reply timer.
    """
    member.on_shift = bool(on_shift)
    logger.info(
        "chat.shift_set",
        extra={
            "shop_id": member.shop_id,
            "member_id": member.id,
            "on_shift": member.on_shift,
        },
    )


def own_conversation(shop: Shop, conversation: Conversation) -> None:
    """Refuse a conversation of another shop as if it did not exist."""
    if conversation.shop_id != shop.id:
        raise ConversationNotFound(conversation.public_id)


def iso(moment: datetime | None) -> str | None:
    """A UTC time as the panel's JSON carries it (``...Z``)."""
    if moment is None:
        return None
    return moment.isoformat().replace("+00:00", "Z")


def _check_assignee(shop: Shop, member: TeamMember) -> None:
    if member.shop_id != shop.id:
        raise InvalidChatInput(
            "invalid_assignee", "That person is not in this shop's team.", "assignee"
        )
    if not member.active:
        raise InvalidChatInput(
            "inactive_assignee",
            f"{member.display_name} is deactivated and cannot take conversations.",
            "assignee",
        )


def _check_member(shop: Shop, member: TeamMember | None, field: str) -> None:
    if member is not None and member.shop_id != shop.id:
        raise InvalidChatInput(
            "invalid_member", "That person is not in this shop's team.", field
        )


def _clean_note(note: str | None) -> str | None:
    if note is None or not note.strip():
        return None
    if len(note) > NOTE_MAX:
        raise InvalidChatInput(
            "note_too_long", f"A note holds at most {NOTE_MAX} characters.", "note"
        )
    return note.strip()


def _leave_note(conversation: Conversation, by: TeamMember | None, note: str) -> None:
    append(
        conversation,
        NewMessage(
            author=AGENT,
            kind=NOTE,
            text=note,
            member_id=by.id if by is not None else None,
            author_name=by.display_name if by is not None else None,
        ),
    )


def _check_follow_up(status: str, follow_up_at: datetime | None, now: datetime) -> None:
    if follow_up_at is None:
        return
    if status != PENDING:
        raise InvalidChatInput(
            "follow_up_needs_pending",
            "A follow-up date goes with the pending status.",
            "follow_up_at",
        )
    if follow_up_at.tzinfo is None:
        raise InvalidChatInput(
            "follow_up_without_zone",
            "Give the follow-up date with its time zone.",
            "follow_up_at",
        )
    if follow_up_at <= now:
        raise InvalidChatInput(
            "follow_up_in_past", "The follow-up date has passed.", "follow_up_at"
        )
    if follow_up_at > now + FOLLOW_UP_MAX:
        raise InvalidChatInput(
            "follow_up_too_far",
            f"A follow-up is at most {FOLLOW_UP_MAX.days} days ahead.",
            "follow_up_at",
        )


def _asks_rating(shop: Shop) -> bool:
    settings = db.session.get(ChatSettings, shop.id)
    # A shop that never saved its settings has the defaults: ask.
    return settings is None or settings.ask_rating


def _tag_id_set(tag_ids: Iterable[int]) -> set[int]:
    ids = list(tag_ids)
    if any(isinstance(i, bool) or not isinstance(i, int) for i in ids):
        raise InvalidChatInput("unknown_tag", "Tags are given by their ids.", "tags")
    return set(ids)
