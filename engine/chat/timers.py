"""The chat's clocks: unanswered conversations change hands, follow-ups come due.

Run every minute from ``engine.periodic`` for every shop:

- **No reply.** An open conversation whose shopper has waited longer than
  the shop's ``no_reply_minutes`` (``waiting_since``), and whose assignee
  had that whole time (given it before the wait's deadline), goes to the
  active, on-shift colleague with the fewest open conversations, or back to
  the queue when the shop says so or nobody else is on shift. The timer
  moves a conversation once per wait: a conversation it already moved since
  ``waiting_since`` stays with its new assignee until the shopper is
  answered. Shops' timer lengths differ, so each distinct length is one
  query with a plain cutoff time, which every database compares alike.
- **Follow-ups.** A pending conversation whose ``follow_up_at`` has passed
  opens again with a system event saying so, and shows in the queue.
- **Undelivered.** A team message to LINE or Messenger whose delivery job
  was lost goes again, or is reported failed (``engine.chat.delivery``).

Both work in batches of locked rows (``SKIP LOCKED`` on PostgreSQL): two
workers running at once take different conversations, and a conversation
is checked again after it is locked, so none moves twice.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import datetime, timedelta

from sqlalchemy import and_, func, or_, select

from engine.chat.casework import NO_REPLY, assign
from engine.chat.conversations import NewMessage, append, publish_change
from engine.chat.delivery import sweep_undelivered
from engine.chat.models import (
    EVENT,
    OPEN,
    PENDING,
    SYSTEM,
    ChatAssignment,
    ChatSettings,
    Conversation,
)
from engine.db import db, utcnow
from engine.shops.models import Shop
from engine.team.models import TeamMember

logger = logging.getLogger(__name__)

BATCH = 200
# Batches per step and timer length in one run; the next run goes on.
MAX_BATCHES = 25
# A shop that never saved its chat settings has the model's defaults.
DEFAULT_NO_REPLY_MINUTES = 15
DEFAULT_NO_REPLY_ACTION = "colleague"
QUEUE = "queue"
FOLLOW_UP_TEXT = "Follow-up date reached"


def run_chat_timers(now: datetime | None = None) -> dict[str, int]:
    """One pass of both timers over every shop; returns what each did."""
    now = now or utcnow()
    moved, queued = _move_unanswered(now)
    done = {"moved": moved, "queued": queued, "reopened": _reopen_follow_ups(now)}
    done.update(sweep_undelivered(now))
    if any(done.values()):
        logger.info("chat.timers", extra=done)
    return done


def _move_unanswered(now: datetime) -> tuple[int, int]:
    moved = queued = 0
    for minutes in _timer_lengths():
        cutoff = now - timedelta(minutes=minutes)
        for _ in range(MAX_BATCHES):
            batch = _unanswered(minutes, cutoff)
            to_colleague, to_queue = _move_batch(batch, cutoff)
            db.session.commit()
            moved, queued = moved + to_colleague, queued + to_queue
            if len(batch) < BATCH:
                break
    return moved, queued


def _timer_lengths() -> set[int]:
    lengths = set(db.session.scalars(select(ChatSettings.no_reply_minutes).distinct()))
    return lengths | {DEFAULT_NO_REPLY_MINUTES}


def _unanswered(minutes: int, cutoff: datetime) -> list[tuple[Conversation, str]]:
    """Open conversations of shops with this timer length that waited past
    ``cutoff`` with an assignee who had them since before it; locked."""
    last_assigned = (
        select(func.max(ChatAssignment.at))
        .where(ChatAssignment.conversation_id == Conversation.id)
        .scalar_subquery()
    )
    rows = db.session.execute(
        select(
            Conversation,
            func.coalesce(ChatSettings.no_reply_action, DEFAULT_NO_REPLY_ACTION),
        )
        .outerjoin(ChatSettings, ChatSettings.shop_id == Conversation.shop_id)
        .where(
            func.coalesce(ChatSettings.no_reply_minutes, DEFAULT_NO_REPLY_MINUTES)
            == minutes,
            Conversation.status == OPEN,
            Conversation.assignee_id.is_not(None),
            Conversation.waiting_since <= cutoff,
            or_(last_assigned.is_(None), last_assigned <= cutoff),
            ~_moved_this_wait().exists(),
        )
        .order_by(Conversation.waiting_since, Conversation.id)
        .limit(BATCH)
        .with_for_update(skip_locked=True, of=Conversation)
        .execution_options(populate_existing=True)
    ).all()
    return [(conversation, action) for conversation, action in rows]


def _moved_this_wait():  # noqa: ANN202 - a Select
    return select(ChatAssignment.id).where(
        ChatAssignment.conversation_id == Conversation.id,
        ChatAssignment.reason == NO_REPLY,
        ChatAssignment.at >= Conversation.waiting_since,
    )


def _move_batch(
    batch: list[tuple[Conversation, str]], cutoff: datetime
) -> tuple[int, int]:
    if not batch:
        return 0, 0
    # Our query's snapshot may predate another worker's commit on a row we
    # then locked; a new statement sees it.
    changed = _changed_hands_since(
        [conversation.id for conversation, _ in batch], cutoff
    )
    shops = _shops({conversation.shop_id for conversation, _ in batch})
    loads = _open_loads(set(shops))

    moved = queued = 0
    for conversation, action in batch:
        if conversation.id in changed:
            continue
        shop = shops[conversation.shop_id]
        colleague = None
        if action != QUEUE:
            colleague = _least_loaded(loads[shop.id], conversation.assignee_id)
        previous = conversation.assignee_id
        assign(shop, conversation, colleague, None, reason=NO_REPLY)
        _count_move(loads[shop.id], previous, colleague)
        if colleague is None:
            queued += 1
        else:
            moved += 1
    return moved, queued


def _changed_hands_since(conversation_ids: list[int], cutoff: datetime) -> set[int]:
    """Of these, the conversations given to someone after ``cutoff`` or already
    moved by the timer in this wait."""
    return set(
        db.session.scalars(
            select(ChatAssignment.conversation_id)
            .join(Conversation, Conversation.id == ChatAssignment.conversation_id)
            .where(
                ChatAssignment.conversation_id.in_(conversation_ids),
                or_(
                    ChatAssignment.at > cutoff,
                    and_(
                        ChatAssignment.reason == NO_REPLY,
                        ChatAssignment.at >= Conversation.waiting_since,
                    ),
                ),
            )
        )
    )


def _shops(shop_ids: set[int]) -> dict[int, Shop]:
    shops = db.session.scalars(select(Shop).where(Shop.id.in_(shop_ids)))
    return {shop.id: shop for shop in shops}


def _open_loads(shop_ids: set[int]) -> dict[int, dict[TeamMember, int]]:
    """Per shop, each active on-shift member and how many open cases they have."""
    rows = db.session.execute(
        select(TeamMember, func.count(Conversation.id))
        .outerjoin(
            Conversation,
            (Conversation.assignee_id == TeamMember.id)
            & (Conversation.shop_id == TeamMember.shop_id)
            & (Conversation.status == OPEN),
        )
        .where(
            TeamMember.shop_id.in_(shop_ids),
            TeamMember.active.is_(True),
            TeamMember.on_shift.is_(True),
        )
        .group_by(TeamMember.id)
    )
    loads: dict[int, dict[TeamMember, int]] = defaultdict(dict)
    for member, count in rows:
        loads[member.shop_id][member] = count
    return loads


def _least_loaded(
    loads: dict[TeamMember, int], current_id: int | None
) -> TeamMember | None:
    others = [member for member in loads if member.id != current_id]
    if not others:
        return None
    return min(others, key=lambda member: (loads[member], member.id))


def _count_move(
    loads: dict[TeamMember, int], from_id: int | None, to: TeamMember | None
) -> None:
    """Keep the batch's loads current, so one batch spreads its cases."""
    for member in loads:
        if member.id == from_id:
            loads[member] -= 1
    if to is not None:
        loads[to] += 1


def _reopen_follow_ups(now: datetime) -> int:
    reopened = 0
    for _ in range(MAX_BATCHES):
        batch = db.session.scalars(
            select(Conversation)
            .where(Conversation.status == PENDING, Conversation.follow_up_at <= now)
            .order_by(Conversation.follow_up_at, Conversation.id)
            .limit(BATCH)
            .with_for_update(skip_locked=True)
            .execution_options(populate_existing=True)
        ).all()
        for conversation in batch:
            _reopen(conversation)
        db.session.commit()
        reopened += len(batch)
        if len(batch) < BATCH:
            break
    return reopened


def _reopen(conversation: Conversation) -> None:
    conversation.status = OPEN
    conversation.follow_up_at = None
    append(conversation, NewMessage(author=SYSTEM, kind=EVENT, text=FOLLOW_UP_TEXT))
    publish_change(conversation, "status")
    logger.info(
        "chat.follow_up_due",
        extra={"shop_id": conversation.shop_id, "conversation_id": conversation.id},
    )
