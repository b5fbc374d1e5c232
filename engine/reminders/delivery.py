"""Sending a batch of prepared reminders so each takes effect exactly once.

The batch first drops every send whose run stopped or whose cart was ordered
since it was claimed, reading the runs under their row locks: the check
right before sending. It commits then, so no lock is held while platforms
answer; an order, opt-out or pause that lands during the calls stops its run
at once, and the send already on its way is the last: runs move on only in
``outcomes.settle``, which locks them again and skips any that stopped. The
platform calls run side by side on a thread pool (threads touch no database,
only ``Channel.send``), and one call's unexpected error is that send's
outcome alone, never the batch's.

A worker killed after a platform accepted a message but before the commit
leaves the send claimed; the sweep releases it and the retry carries the
same ``X-Line-Retry-Key``, which LINE answers 409: counted as sent, not sent
twice. Messenger has no retry key; its client notes accepted parts in Redis
as they are accepted, leaving only a crash between Meta's answer and that
note to repeat one part.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select, update

from engine.channels.base import Channel, SendResult
from engine.channels.errors import (
    ChannelError,
    InvalidMessageError,
    LocallyThrottledError,
    OutsideWindowError,
    PermanentChannelError,
    QuotaExceededError,
    RecipientUnreachableError,
    RetryableChannelError,
)
from engine.commerce.models import Cart
from engine.db import db
from engine.reminders import clock
from engine.reminders.models import (
    ACTIVE,
    CANCELLED,
    FAILED,
    PENDING,
    SENDING,
    SENT,
    SKIPPED,
    ReminderRun,
    ReminderSend,
)

logger = logging.getLogger(__name__)

# Attempts at the platform before a retryable failure counts as failed.
MAX_ATTEMPTS = 6
# Seconds before retry n (jittered); Retry-After, when given, wins.
BACKOFF = (30, 120, 600, 1800, 3600)

# Outcome kinds, for the dispatcher to act on.
DELIVERED = "delivered"
RETRY = "retry"
QUOTA = "quota"
UNREACHABLE = "unreachable"
GAVE_UP = "gave_up"
STOPPED = "stopped"


@dataclass(frozen=True)
class Outbound:
    """A reminder ready to go: everything a pool thread needs, no ORM objects."""

    send_id: int
    run_id: int
    shop_id: int
    channel: Channel
    recipient_id: str
    parts: Sequence[object]
    retry_key: str
    attempts: int


@dataclass(frozen=True)
class Outcome:
    """What became of one send, and the columns that record it."""

    outbound: Outbound
    kind: str
    values: dict = field(default_factory=dict)

    @property
    def retry_at(self) -> datetime | None:
        return self.values.get("due_at")


def send_batch(outbound: list[Outbound], concurrency: int) -> list[Outcome]:
    """Check, send and record a batch; the caller settles and commits.

    Commits once, after the check and before the platform calls.
    """
    wanted = _still_wanted(outbound)
    db.session.commit()
    outcomes = [
        Outcome(item, STOPPED, _stopped_values())
        for item in outbound
        if item.send_id not in wanted
    ]
    to_send = [item for item in outbound if item.send_id in wanted]
    outcomes += _call_platforms(to_send, concurrency)
    _record(outcomes)
    return outcomes


def _still_wanted(outbound: list[Outbound]) -> set[int]:
    """Lock the batch's runs; the sends whose run and cart still want them."""
    if not outbound:
        return set()
    rows = db.session.execute(
        select(ReminderSend.id)
        .join(ReminderRun, ReminderRun.id == ReminderSend.run_id)
        .join(Cart, Cart.id == ReminderRun.cart_id)
        .where(
            ReminderSend.id.in_([item.send_id for item in outbound]),
            ReminderSend.status == SENDING,
            ReminderRun.status == ACTIVE,
            Cart.ordered_at.is_(None),
        )
        .order_by(ReminderRun.id)
        .with_for_update(of=ReminderRun)
    )
    return {send_id for (send_id,) in rows}


def _call_platforms(outbound: list[Outbound], concurrency: int) -> list[Outcome]:
    if concurrency <= 1 or len(outbound) <= 1:
        return [_send(item) for item in outbound]
    workers = min(concurrency, len(outbound))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="send") as pool:
        return list(pool.map(_send, outbound))


def _send(outbound: Outbound) -> Outcome:
    """Call the platform once; never raises, whatever happens."""
    attempt = outbound.attempts + 1
    try:
        result = outbound.channel.send(
            outbound.recipient_id, outbound.parts, retry_key=outbound.retry_key
        )
    except LocallyThrottledError as error:
        # Our budget, not the platform, held it back: not an attempt.
        kind, values = _retry_or_give_up(error, outbound.attempts)
    except RetryableChannelError as error:
        kind, values = _retry_or_give_up(error, attempt)
    except QuotaExceededError as error:
        kind, values = QUOTA, _deferred("line_quota_exhausted", error, attempt, None)
    except OutsideWindowError as error:
        kind = GAVE_UP
        values = _ended(SKIPPED, "outside_messenger_window", error, attempt)
    except RecipientUnreachableError as error:
        kind = UNREACHABLE
        values = _ended(FAILED, "recipient_unreachable", error, attempt)
    except InvalidMessageError as error:
        kind, values = GAVE_UP, _ended(FAILED, "invalid_message", error, attempt)
    except PermanentChannelError as error:
        kind, values = GAVE_UP, _ended(FAILED, "platform_refused", error, attempt)
    except ChannelError as error:
        kind, values = GAVE_UP, _ended(FAILED, "channel_error", error, attempt)
    except Exception as error:
        # A fault of ours or of Redis mid-send: whether the platform took the
        # message is unknown, so retry (LINE's retry key makes that safe).
        logger.exception(
            "reminders.send_crashed",
            extra={"shop_id": outbound.shop_id, "send_id": outbound.send_id},
        )
        unknown = RetryableChannelError(
            outbound.channel.name, type(error).__name__, "unexpected_error"
        )
        kind, values = _retry_or_give_up(unknown, attempt)
    else:
        kind, values = DELIVERED, _sent(result, attempt)
    return Outcome(outbound, kind, values)


def _sent(result: SendResult, attempt: int) -> dict:
    now = clock.now()
    return {
        "status": SENT,
        "sent_at": now,
        "ended_at": now,
        "attempts": attempt,
        "platform_message_ids": list(result.platform_message_ids),
        "duplicate": result.duplicate,
        "reason": None,
    }


def _retry_or_give_up(error: RetryableChannelError, attempt: int) -> tuple[str, dict]:
    if attempt >= MAX_ATTEMPTS:
        return GAVE_UP, _ended(FAILED, "retries_exhausted", error, attempt)
    if error.retry_after is not None:
        delay = max(1.0, error.retry_after)
    else:
        base = BACKOFF[min(max(attempt, 1) - 1, len(BACKOFF) - 1)]
        delay = random.uniform(base * 0.75, base * 1.25)
    retry_at = clock.now() + timedelta(seconds=delay)
    return RETRY, _deferred(f"retry_{error.code or 'error'}", error, attempt, retry_at)


def _deferred(
    reason: str, error: ChannelError, attempt: int, due: datetime | None
) -> dict:
    """Back to pending; due again at ``due`` (now when None: gates re-decide)."""
    return {
        "status": PENDING,
        "due_at": due or clock.now(),
        "deferred_reason": reason[:64],
        "attempts": attempt,
        "error_detail": error.reason,
        "error_code": error.code,
    }


def _ended(status: str, reason: str, error: ChannelError, attempt: int) -> dict:
    return {
        "status": status,
        "reason": reason,
        "ended_at": clock.now(),
        "attempts": attempt,
        "error_detail": error.reason,
        "error_code": error.code,
    }


def _stopped_values() -> dict:
    return {
        "status": CANCELLED,
        "reason": "stopped_before_send",
        "ended_at": clock.now(),
    }


def _record(outcomes: list[Outcome]) -> None:
    """Write every outcome; sends leave the claimed state."""
    if not outcomes:
        return
    # By primary key, as one executemany per shape of outcome: the batch's
    # runs are locked, so no one else changes these sends meanwhile.
    now = clock.now()
    db.session.execute(
        update(ReminderSend),
        [
            {
                "id": outcome.outbound.send_id,
                "claimed_at": None,
                "updated_at": now,
                **outcome.values,
            }
            for outcome in outcomes
        ],
    )
    for outcome in outcomes:
        if outcome.kind != DELIVERED:
            logger.info(
                "reminders.send_outcome",
                extra={
                    "shop_id": outcome.outbound.shop_id,
                    "send_id": outcome.outbound.send_id,
                    "outcome": outcome.kind,
                    "reason": outcome.values.get("reason")
                    or outcome.values.get("deferred_reason"),
                },
            )
