"""After a batch is sent: move runs on, plan retries, and act on what platforms said.

A sent, failed or skipped step moves its run to the next step (under the
run's lock, so a run an order stopped meanwhile stays stopped). A retry is
woken at its time. LINE's monthly quota running out pauses the shop's LINE
sends (``ChannelAccount.quota_exhausted_until``) and leaves a notice for the
merchant; the paused sends wait, and the gates re-decide them. A recipient
who cannot be reached is marked so on every binding of that account, and
their pending reminders stop.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import defer

from engine.binding.models import LINE, ChannelBinding
from engine.channels.models import ChannelAccount
from engine.db import db
from engine.reminders.delivery import (
    DELIVERED,
    GAVE_UP,
    QUOTA,
    RETRY,
    UNREACHABLE,
    Outcome,
)
from engine.reminders.models import (
    ACTIVE,
    ReminderFlow,
    ReminderNotice,
    ReminderRun,
    ReminderSend,
)
from engine.reminders.scheduling import wake_when_due
from engine.reminders.sequences import advance, stop_runs_of_visitors
from engine.shops.models import Shop

logger = logging.getLogger(__name__)

QUOTA_NOTICE = "line_quota_exhausted"
# LINE does not say when a used-up quota comes back (a new month, or a plan
# upgrade at any time), so a paused shop is tried again this often.
QUOTA_RECHECK = timedelta(hours=6)


def settle(
    outcomes: Sequence[Outcome], flows: dict[int, ReminderFlow], now: datetime
) -> None:
    """Act on a batch's outcomes in the caller's transaction."""
    if not outcomes:
        return
    # What was sent is only written here, not read: decoding it took a
    # tenth of a 200-send batch's time (bench/reminders.py).
    sends = {
        send.id: send
        for send in db.session.scalars(
            select(ReminderSend)
            .where(ReminderSend.id.in_([o.outbound.send_id for o in outcomes]))
            .options(
                defer(ReminderSend.content), defer(ReminderSend.platform_message_ids)
            )
        )
    }
    runs = _locked_runs({send.run_id for send in sends.values()})

    for outcome in outcomes:
        send = sends[outcome.outbound.send_id]
        run = runs.get(send.run_id)
        if outcome.kind in (RETRY, QUOTA) and run is not None:
            wake_when_due(send, run)
        if outcome.kind == QUOTA:
            pause_line(send.shop_id, now)
        if outcome.kind == UNREACHABLE:
            mark_unreachable(send, now)
        elif outcome.kind in (DELIVERED, GAVE_UP) and run is not None:
            advance(run, flows.get(send.shop_id), send.position, send, now)

    _resume_line_if_delivered(outcomes, sends, now)


def pause_line(shop_id: int, now: datetime) -> None:
    """Hold the shop's LINE sends and tell the merchant, once per pause."""
    until = min(_next_month(now), now + QUOTA_RECHECK)
    db.session.execute(
        update(ChannelAccount)
        .where(ChannelAccount.shop_id == shop_id, ChannelAccount.channel == LINE)
        .values(quota_exhausted_until=until)
        .execution_options(synchronize_session=False)
    )
    notice = _open_notice(shop_id)
    if notice is not None:
        notice.until = until
        return
    db.session.add(
        ReminderNotice(
            shop_id=shop_id,
            kind=QUOTA_NOTICE,
            channel=LINE,
            detail=(
                "LINE's monthly message limit for your account is used up, so"
                " LINE reminders are paused. They go out again when LINE"
                " accepts messages (a new month or a larger plan); reminders"
                " that would be too late by then are skipped."
            ),
            until=until,
            created_at=now,
        )
    )
    logger.warning("reminders.line_quota_paused", extra={"shop_id": shop_id})


def mark_unreachable(send: ReminderSend, now: datetime) -> None:
    """The platform says the recipient cannot be reached: stop reminding them."""
    if send.channel is None or send.recipient_id is None:
        return
    bindings = list(
        db.session.scalars(
            select(ChannelBinding).where(
                ChannelBinding.shop_id == send.shop_id,
                ChannelBinding.channel == send.channel,
                ChannelBinding.external_id == send.recipient_id,
            )
        )
    )
    for binding in bindings:
        binding.reachable = False
    shop = db.session.get(Shop, send.shop_id)
    stop_runs_of_visitors(shop, {b.visitor_id for b in bindings}, "unreachable")


def _resume_line_if_delivered(
    outcomes: Sequence[Outcome], sends: dict[int, ReminderSend], now: datetime
) -> None:
    """A LINE send went through: any quota pause of that shop is over."""
    shop_ids = {
        sends[o.outbound.send_id].shop_id
        for o in outcomes
        if o.kind == DELIVERED and sends[o.outbound.send_id].channel == LINE
    }
    if not shop_ids:
        return
    db.session.execute(
        update(ChannelAccount)
        .where(
            ChannelAccount.shop_id.in_(shop_ids),
            ChannelAccount.channel == LINE,
            ChannelAccount.quota_exhausted_until.is_not(None),
        )
        .values(quota_exhausted_until=None)
        .execution_options(synchronize_session=False)
    )
    db.session.execute(
        update(ReminderNotice)
        .where(
            ReminderNotice.shop_id.in_(shop_ids),
            ReminderNotice.kind == QUOTA_NOTICE,
            ReminderNotice.resolved_at.is_(None),
        )
        .values(resolved_at=now)
        .execution_options(synchronize_session=False)
    )


def _locked_runs(run_ids: set[int]) -> dict[int, ReminderRun]:
    """The active ones among these runs, locked for this transaction."""
    rows = db.session.scalars(
        select(ReminderRun)
        .where(ReminderRun.id.in_(run_ids), ReminderRun.status == ACTIVE)
        .order_by(ReminderRun.id)
        .with_for_update()
    )
    return {run.id: run for run in rows}


def _open_notice(shop_id: int) -> ReminderNotice | None:
    return db.session.scalar(
        select(ReminderNotice).where(
            ReminderNotice.shop_id == shop_id,
            ReminderNotice.kind == QUOTA_NOTICE,
            ReminderNotice.resolved_at.is_(None),
        )
    )


def _next_month(now: datetime) -> datetime:
    moment = now.astimezone(UTC)
    year, month = (
        (moment.year + 1, 1)
        if moment.month == 12
        else (
            moment.year,
            moment.month + 1,
        )
    )
    return datetime(year, month, 1, tzinfo=UTC)
