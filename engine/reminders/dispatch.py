"""The RQ job that sends due reminders: claim a batch, decide, send side by side.

A woken job (``deliver_reminders``) claims its own send and up to
``BATCH_SIZE`` other due sends with ``FOR UPDATE SKIP LOCKED``, so two
workers never take the same one, and drops the now pointless wake-up jobs of
the others. For each claimed send it reads the cart again, applies the rules
of ``gates`` (send, defer or skip), holds back a moment the sends of a shop
with an order delivery not applied yet (``orders_waiting``), builds the
message from what is still for sale, and then sends all of them on a pool
of ``CONCURRENCY`` threads behind the channels' shared rate limiter: while
one waits on the platform, the others go (see ``delivery`` for what makes
each send happen once).
Afterwards each run moves on to its next step.

Deciding happens under the runs' row locks (an order stopping a run waits a
moment, never the other way round) and under a per-shop advisory lock on
PostgreSQL, so two workers deciding for the same shop take turns: each sees
the other's sends when it counts a shopper's frequency cap. The cap counts
the person, every device bound to the same LINE or Messenger account. The
product details come from the platform before any lock is taken.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, func, select, update
from sqlalchemy.orm import selectinload

from engine.binding.models import LINE, ChannelBinding
from engine.catalog.variants import VariantDetails
from engine.channels.base import Channel
from engine.channels.errors import ChannelNotConfiguredError
from engine.channels.models import ChannelAccount
from engine.channels.registry import channel_for
from engine.commerce.models import Cart, Checkout
from engine.db import db
from engine.reminders import batch_reads as reads
from engine.reminders import clock, gates
from engine.reminders.cart_view import cart_target, open_checkouts, view_cart
from engine.reminders.content import build_parts, describe_parts
from engine.reminders.delivery import Outbound, send_batch
from engine.reminders.links import tracked_link
from engine.reminders.models import (
    ACTIVE,
    CANCELLED,
    PENDING,
    SENDING,
    SKIPPED,
    ReminderFlow,
    ReminderRun,
    ReminderSend,
)
from engine.reminders.orders_waiting import ORDER_WAIT, shops_with_orders_waiting
from engine.reminders.outcomes import settle
from engine.reminders.scheduling import (
    forget_jobs,
    job_id,
    wake_when_due,
    webhooks_waiting,
)
from engine.reminders.sequences import advance, last_ended_send, stop_runs
from engine.shops.models import Shop
from engine.visitors.models import Visitor

logger = logging.getLogger(__name__)

BATCH_SIZE = 200
# Sends in flight at once per job. The threads touch no database, only the
# platform's HTTP pool (engine.channels.line.client.POOL_SIZE, as large). At
# 24, a 200-send batch spent most of its time waiting on LINE's answers, 9
# rounds of 50 ms, and one process fell short of 300 sends a second.
CONCURRENCY = 64
# A catalog the platform could not describe delays a send this long.
CATALOG_RETRY = timedelta(minutes=2)
# When a paused LINE quota's recheck time comes, one send per shop and batch
# tries it; the others wait this long for its answer.
QUOTA_PROBE_WAIT = timedelta(minutes=1)
# The class half of the per-shop advisory lock's key (the shop id is the
# other half), so it cannot collide with another feature's advisory locks.
ADVISORY_LOCK_CLASS = 7301
# How long a woken job goes on delivering sends that fall due after it
# started, and how far ahead it looks for them. Bounded, so the worker soon
# gets back to its other queues, and cut short when a webhook job waits:
# workers take reminders first (engine.runtime), so a job lingering through
# a stream of due sends would otherwise hold back the orders that stop them.
LINGER_SECONDS = 10.0
LOOKAHEAD = timedelta(seconds=1)
# While it lingers, the job lets due sends gather this long before claiming
# them. A batch has a fixed cost (a dozen queries, one wait for the
# platform): claimed as they fell due, 30 to 40 at a time, sends cost twice
# what they cost 200 at a time (bench/reminders.py). Steps are planned to
# the minute; a second changes nothing for the shopper.
GATHER = timedelta(seconds=1)


def deliver_reminders(
    send_id: int,
    batch_size: int = BATCH_SIZE,
    concurrency: int = CONCURRENCY,
    linger: float = LINGER_SECONDS,
) -> dict[str, int]:
    """RQ job: deliver the due reminders, ``send_id``'s first. Idempotent.

    While more sends fall due within ``LOOKAHEAD``, the job waits for them
    (``GATHER`` past the first one's due time) and delivers them too, for at
    most ``linger`` seconds and only while no webhook job waits: at busy
    times one job keeps up with a stream of due sends instead of each
    second's wake-ups starting over. ``batch_size`` 1, ``concurrency`` 1 and
    ``linger`` 0 give one message per job (the benchmark's baseline).
    Returns counts.
    """
    started = time.monotonic()
    totals: Counter[str] = Counter()
    first: int | None = send_id
    while True:
        totals.update(_deliver_batch(first, batch_size, concurrency))
        first = None
        wait = _next_batch_in()
        if wait is None or time.monotonic() - started + wait > linger:
            return dict(totals)
        # The sends left have wake-up jobs of their own.
        if webhooks_waiting():
            return dict(totals)
        time.sleep(wait)


def _deliver_batch(
    send_id: int | None, batch_size: int, concurrency: int
) -> Counter[str]:
    """Claim, decide, send and settle one batch; returns what happened."""
    began = time.monotonic()
    now = clock.now()
    claimed, others = _claim(send_id, now, batch_size)
    if not claimed:
        return Counter()
    forget_jobs(others)

    try:
        batch = _Batch.load(claimed, now)
        outbound = batch.prepare()
        db.session.commit()
        outcomes = send_batch(outbound, concurrency)
        settle(outcomes, batch.flows, now)
        db.session.commit()
        # Again: RQ's scheduler moves a due job by reading it, then writing
        # it back to the queue, so a job dropped in between came back (a few
        # dozen a minute in bench/reminders.py, each a work-horse for nothing).
        forget_jobs(others)
    except Exception:
        db.session.rollback()
        _release(claimed)
        db.session.commit()
        raise

    counts = Counter(outcome.kind for outcome in outcomes)
    counts["claimed"] = len(claimed)
    # busy_seconds is the batch's own time, waits for later sends excluded:
    # what a worker process spends per reminder.
    logger.info(
        "reminders.batch_done",
        extra={"busy_seconds": round(time.monotonic() - began, 4), **counts},
    )
    return counts


def _next_batch_in() -> float | None:
    """Seconds until the next batch, if a pending send falls due within
    LOOKAHEAD: when the first due has waited GATHER (at once if it has)."""
    now = clock.now()
    due = db.session.scalar(
        select(func.min(ReminderSend.due_at)).where(
            ReminderSend.status == PENDING, ReminderSend.due_at <= now + LOOKAHEAD
        )
    )
    db.session.commit()
    if due is None:
        return None
    return max(0.0, (due + GATHER - now).total_seconds())


def _claim(
    send_id: int | None, now: datetime, limit: int
) -> tuple[list[int], list[str]]:
    """Take due pending sends, ``send_id`` first; commits the claim.

    Returns the sends' ids and the ids of the wake-up jobs now pointless
    (the claimed sends' own, but for the job running).
    """
    rows = db.session.execute(
        select(ReminderSend.id, ReminderRun.cart_id, ReminderRun.round)
        .add_columns(ReminderSend.position, ReminderSend.due_at)
        .join(ReminderRun, ReminderRun.id == ReminderSend.run_id)
        .where(ReminderSend.status == PENDING, ReminderSend.due_at <= now)
        .order_by(case((ReminderSend.id == send_id, 0), else_=1), ReminderSend.due_at)
        .limit(limit)
        .with_for_update(skip_locked=True, of=ReminderSend)
    ).all()
    ids = [row.id for row in rows]
    if ids:
        db.session.execute(
            update(ReminderSend)
            .where(ReminderSend.id.in_(ids))
            .values(status=SENDING, claimed_at=now)
            .execution_options(synchronize_session=False)
        )
    db.session.commit()

    others = [
        job_id(row.cart_id, row.round, row.position, row.due_at)
        for row in rows
        if row.id != send_id
    ]
    return ids, others


def _release(send_ids: list[int]) -> None:
    """Hand claims back after an unexpected error, for the next job to retry."""
    db.session.execute(
        update(ReminderSend)
        .where(ReminderSend.id.in_(send_ids), ReminderSend.status == SENDING)
        .values(status=PENDING, claimed_at=None, deferred_reason="batch_failed")
        .execution_options(synchronize_session=False)
    )


@dataclass
class _Batch:
    """Everything the claimed sends need, loaded in a handful of queries."""

    now: datetime
    sends: list[ReminderSend]
    runs: dict[int, ReminderRun]
    carts: dict[int, Cart]
    shops: dict[int, Shop]
    flows: dict[int, ReminderFlow]
    visitors: dict[int, Visitor]
    bindings: dict[int, list[ChannelBinding]]
    accounts: dict[tuple[int, str], ChannelAccount]
    # The person each visitor is (the smallest visitor id sharing a bound
    # account with it), and when reminders last went to each person.
    person: dict[int, int]
    recent: dict[int, list[datetime]]
    checkouts: dict[tuple[int, str], Checkout]
    details: dict[int, dict[str, VariantDetails | None] | None]
    # Shops with an order delivery recorded but not applied yet.
    orders_waiting: set[int]

    @classmethod
    def load(cls, send_ids: list[int], now: datetime) -> _Batch:
        """Load the batch; leaves its runs and shops locked until the commit."""
        sends = list(
            db.session.scalars(
                select(ReminderSend)
                .where(ReminderSend.id.in_(send_ids))
                .order_by(ReminderSend.due_at)
            )
        )
        runs = reads.by_id(ReminderRun, {send.run_id for send in sends})
        carts = reads.by_id(
            Cart,
            {run.cart_id for run in runs.values()},
            selectinload(Cart.line_items),
        )
        shop_ids = {send.shop_id for send in sends}
        shops = reads.by_id(Shop, shop_ids)
        # The platform call comes first, so no lock waits on it.
        details = reads.catalog(shops, carts.values())

        _lock_shops(shop_ids)
        runs = _lock_runs(set(runs))
        visitor_ids = {run.visitor_id for run in runs.values()} - {None}
        bindings = reads.bindings(visitor_ids)
        person = reads.people(visitor_ids, bindings)
        return cls(
            now=now,
            sends=sends,
            runs=runs,
            carts=carts,
            shops=shops,
            flows=reads.flows(shop_ids),
            visitors=reads.by_id(Visitor, visitor_ids),
            bindings=bindings,
            accounts=reads.channel_accounts(shop_ids),
            person=person,
            recent=reads.recent_sends(person, set(send_ids), now),
            checkouts=open_checkouts(list(carts.values())),
            details=details,
            orders_waiting=shops_with_orders_waiting(shops.values()),
        )

    def prepare(self) -> list[Outbound]:
        """Decide each send; returns those to send now, ready for the threads."""
        ready = []
        channels: dict[tuple[int, str], Channel | None] = {}
        probing: set[int] = set()
        for send in self.sends:
            decision = self._decide(send)
            if decision is None or decision.action != gates.SEND:
                continue
            if send.shop_id in self.orders_waiting:
                self._hold(send, self.now + ORDER_WAIT, "order_waiting")
                continue
            if self._waits_for_quota_probe(send, decision, probing):
                continue
            # Later sends of this batch to the same person count this one.
            self.recent[self._person_of(send)].append(self.now)
            outbound = self._build(send, decision, channels)
            if outbound is not None:
                ready.append(outbound)
        return ready

    def _person_of(self, send: ReminderSend) -> int | None:
        visitor_id = self.runs[send.run_id].visitor_id
        return self.person.get(visitor_id, visitor_id)

    def _waits_for_quota_probe(
        self, send: ReminderSend, decision: gates.Decision, probing: set[int]
    ) -> bool:
        """After a LINE quota pause, let one send per shop find out if it is over.

        The gates let LINE sends go once the pause's recheck time passed;
        sending them all would earn one refusal each.
        """
        line = self.accounts.get((send.shop_id, LINE))
        paused = line is not None and line.quota_exhausted_until is not None
        if decision.binding.channel != LINE or not paused:
            return False
        if send.shop_id not in probing:
            probing.add(send.shop_id)
            return False
        self._hold(send, self.now + QUOTA_PROBE_WAIT, "line_quota_recheck")
        return True

    def _hold(self, send: ReminderSend, until: datetime, reason: str) -> None:
        """Back to pending, due again ``until``, with a wake-up for then."""
        send.status, send.claimed_at = PENDING, None
        send.due_at, send.deferred_reason = until, reason
        wake_when_due(send, self.runs[send.run_id])

    def _decide(self, send: ReminderSend) -> gates.Decision | None:
        run, now = self.runs[send.run_id], self.now
        cart = self.carts.get(run.cart_id)
        flow = self.flows.get(send.shop_id)
        if run.status != ACTIVE:
            _end(send, CANCELLED, run.stop_reason or "run_stopped", now)
            return None
        if cart is None or cart.ordered_at is not None or not cart.line_items:
            reason = "cart_emptied" if cart and not cart.ordered_at else "ordered"
            stop_runs([run], reason, now)
            _end(send, CANCELLED, reason, now)
            return None
        step = flow.step_at(send.position) if flow else None
        if flow is None or not flow.enabled or step is None or not step.enabled:
            _end(send, CANCELLED, "step_removed", now)
            advance(run, flow, send.position, last_ended_send(run), now)
            return None

        decision = gates.decide(self._situation(send, run, flow, step))
        if decision.action == gates.DEFER:
            self._hold(send, decision.at, decision.reason)
        elif decision.action == gates.SKIP:
            _end(send, SKIPPED, decision.reason, now)
            advance(run, flow, send.position, send, now)
        return decision

    def _situation(self, send, run, flow, step) -> gates.Situation:  # noqa: ANN001
        shop = self.shops[send.shop_id]
        configured = {
            channel
            for (shop_id, channel), account in self.accounts.items()
            if shop_id == shop.id and account.enabled
        }
        line = self.accounts.get((shop.id, "line"))
        return gates.Situation(
            now=self.now,
            planned_at=send.planned_at,
            step=step,
            flow=flow,
            timezone=shop.timezone,
            bindings=[
                binding
                for binding in self.bindings.get(run.visitor_id, [])
                if binding.channel in configured
            ],
            recent_sends=self.recent.get(self._person_of(send), []),
            line_paused_until=(
                line.quota_exhausted_until
                if line is not None and line.quota_paused(self.now)
                else None
            ),
        )

    def _build(
        self,
        send: ReminderSend,
        decision: gates.Decision,
        channels: dict[tuple[int, str], Channel | None],
    ) -> Outbound | None:
        run, shop = self.runs[send.run_id], self.shops[send.shop_id]
        cart, binding = self.carts[run.cart_id], decision.binding
        details = self.details
        if details.get(shop.id) is None:
            self._hold(send, self.now + CATALOG_RETRY, "catalog")
            return None

        checkout = self.checkouts.get((shop.id, cart.token))
        target = cart_target(
            shop, cart, checkout, self.visitors.get(run.visitor_id), details[shop.id]
        )
        send.channel, send.binding_id = binding.channel, binding.id
        send.recipient_id, send.target_url = binding.external_id, target.url
        view = view_cart(shop, cart, details[shop.id], target, tracked_link(send))
        if view is None:
            _end(send, SKIPPED, "nothing_available", self.now)
            advance(run, self.flows[shop.id], send.position, send, self.now)
            return None

        channel = self._channel(shop, binding.channel, channels)
        if channel is None:
            _end(send, SKIPPED, "channel_not_configured", self.now)
            advance(run, self.flows[shop.id], send.position, send, self.now)
            return None
        parts = build_parts(self.flows[shop.id].step_at(send.position).message, view)
        send.content = describe_parts(parts)
        return Outbound(
            send_id=send.id,
            run_id=run.id,
            shop_id=shop.id,
            channel=channel,
            recipient_id=binding.external_id,
            parts=parts,
            retry_key=send.retry_key,
            attempts=send.attempts,
        )

    def _channel(
        self, shop: Shop, name: str, channels: dict[tuple[int, str], Channel | None]
    ) -> Channel | None:
        key = (shop.id, name)
        if key not in channels:
            try:
                channels[key] = channel_for(shop, name)
            except ChannelNotConfiguredError:
                channels[key] = None
        return channels[key]


def _lock_shops(shop_ids: set[int]) -> None:
    """Take turns per shop while deciding (PostgreSQL; SQLite has one writer)."""
    if db.engine.dialect.name != "postgresql":
        return
    for shop_id in sorted(shop_ids):
        db.session.execute(
            select(func.pg_advisory_xact_lock(ADVISORY_LOCK_CLASS, shop_id))
        )


def _lock_runs(run_ids: set[int]) -> dict[int, ReminderRun]:
    """The runs, locked and read afresh: an order may have stopped one."""
    rows = db.session.scalars(
        select(ReminderRun)
        .where(ReminderRun.id.in_(run_ids))
        .order_by(ReminderRun.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return {run.id: run for run in rows}


def _end(send: ReminderSend, status: str, reason: str | None, now: datetime) -> None:
    send.status, send.reason = status, reason
    send.ended_at, send.claimed_at = now, None
