"""A cart's run through the flow: starting, re-timing, moving on and stopping.

Only the next unsent step of a run has a send row; the step after it is
planned when that one ends, its delay counted from the send. So edits reach
every step not yet sent, and a stopped run has exactly one send to cancel.

Decisions the issue leaves open, held here:

- Cart activity is the platform's ``updated_at`` of the cart or checkout
  (our clock if it is missing or ahead of us). A cart last active more than
  ``MAX_CART_AGE`` ago does not start a sequence: news that late is stale.
- A run that starts late (the shopper bound, or the widget linked the cart,
  after the platform's news) keeps the flow's timeline counted from the
  cart's last activity: it begins with the first step whose time has not
  gone by (``LATE_STEP_GRACE`` allowed), so missed steps are left out rather
  than sent at once, and a cart past its last step's time starts nothing.
- New activity re-times the next unsent step: abandonment moves to the new
  activity plus the wait, and the step is due its delay after the later of
  that and the previous step's send.
- A cart whose run ended (finished, or stopped for any reason) gets a new
  run only when its contents change; an ordered cart never does.
- An order stops runs of the same person that started before it (with
  ``ORDER_CLOCK_SLACK`` for the platform's clock), so an old order applied
  late cannot stop a newer cart's reminders.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select, update

from engine.binding.models import ChannelBinding
from engine.commerce.models import Cart, Checkout, Order
from engine.db import db
from engine.reminders import clock
from engine.reminders.attribution import attribute_order
from engine.reminders.defaults import flow_for
from engine.reminders.identity import person_of_order
from engine.reminders.models import (
    ACTIVE,
    CANCELLED,
    ENDED_SEND_STATES,
    FINISHED,
    PENDING,
    STOPPED,
    ReminderFlow,
    ReminderRun,
    ReminderSend,
    ReminderStep,
)
from engine.reminders.scheduling import retry_key_for, wake_when_due
from engine.shops.models import Shop

logger = logging.getLogger(__name__)

MAX_CART_AGE = timedelta(days=3)
ORDER_CLOCK_SLACK = timedelta(minutes=5)
# A step whose time went by this little ago still starts a late run: the
# news or the re-check came a moment after it was due.
LATE_STEP_GRACE = timedelta(minutes=15)


def note_cart_activity(shop: Shop, cart: Cart, at: datetime | None = None) -> None:
    """Start, re-time or stop the cart's reminders after news of the cart.

    Cheap for carts no bound visitor owns: they return before any query.
    """
    if cart.visitor_id is None:
        return
    now = clock.now()
    activity_at = _activity_time(at or cart.platform_updated_at, now)
    db.session.flush()
    run = _latest_run(shop, cart)

    if cart.ordered_at is not None or not cart.line_items:
        if run is not None and run.status == ACTIVE:
            reason = "ordered" if cart.ordered_at is not None else "cart_emptied"
            stop_runs([run], reason, now)
        return

    fingerprint = cart_fingerprint(cart)
    if run is not None and run.status == ACTIVE:
        _restart_wait(shop, run, activity_at, fingerprint)
    elif run is None or run.cart_fingerprint != fingerprint:
        _start_run(shop, cart, run, activity_at, fingerprint, now)


def note_checkout_activity(shop: Shop, checkout: Checkout) -> None:
    """Checkout news is news of its cart; a completed checkout stops it."""
    if not checkout.cart_token:
        return
    cart = db.session.scalar(
        select(Cart).where(Cart.shop_id == shop.id, Cart.token == checkout.cart_token)
    )
    if cart is None or cart.visitor_id is None:
        return
    if checkout.completed_at is not None:
        stop_runs(
            _active_runs(shop, ReminderRun.cart_id == cart.id), "ordered", clock.now()
        )
        return
    note_cart_activity(shop, cart, checkout.platform_updated_at)


def start_late_run(shop: Shop, cart: Cart, activity_at: datetime) -> bool:
    """Start a run for a cart whose news came before it could be reminded.

    For re-checks (``engine.reminders.rechecks``) once the cart's visitor
    can be reached: the cart's own news started nothing then. Only a cart
    with no run for what it holds now gets one; ``activity_at`` is its last
    activity (the cart's or its checkout's), from which the flow's timeline
    counts. Returns whether a run started.
    """
    if cart.visitor_id is None or cart.ordered_at is not None or not cart.line_items:
        return False
    now = clock.now()
    run = _latest_run(shop, cart)
    fingerprint = cart_fingerprint(cart)
    if run is not None and (
        run.status == ACTIVE or run.cart_fingerprint == fingerprint
    ):
        return False
    activity_at = _activity_time(activity_at, now)
    return _start_run(shop, cart, run, activity_at, fingerprint, now) is not None


def stop_for_order(shop: Shop, order: Order) -> None:
    """Stop every pending reminder of the person who placed ``order``, and
    credit the order to a reminder if one earned it."""
    now = clock.now()
    person = person_of_order(shop, order)
    started_before = (order.placed_at or now) + ORDER_CLOCK_SLACK
    condition = ReminderRun.cart_id.in_(person.cart_ids)
    if person.visitor_ids:
        condition = or_(
            condition,
            ReminderRun.visitor_id.in_(person.visitor_ids)
            & (ReminderRun.created_at <= started_before),
        )
    stop_runs(_active_runs(shop, condition), "ordered", now)
    attribute_order(shop, order, person.visitor_ids)


def stop_runs_of_visitors(shop: Shop, visitor_ids: Iterable[int], reason: str) -> int:
    """Stop the active runs of these visitors; returns how many."""
    ids = set(visitor_ids)
    if not ids:
        return 0
    runs = _active_runs(shop, ReminderRun.visitor_id.in_(ids))
    return stop_runs(runs, reason, clock.now())


def stop_runs_of_shop(shop: Shop, reason: str) -> int:
    """Stop every active run of the shop (the merchant paused reminders)."""
    return stop_runs(
        _active_runs(shop, ReminderRun.id.is_not(None)), reason, clock.now()
    )


def stop_runs(runs: list[ReminderRun], reason: str, now: datetime) -> int:
    """Stop runs and cancel their pending steps, in this transaction.

    Runs are locked first. A send checks its run under that lock right
    before going, so one that checks after this commits is dropped; one
    already on its way still lands, but its run, locked again to move on,
    is found stopped and gets no later step.
    """
    if not runs:
        return 0
    ids = [run.id for run in runs]
    for run in runs:
        run.status, run.stop_reason, run.ended_at = STOPPED, reason, now
    db.session.flush()
    db.session.execute(
        update(ReminderSend)
        .where(ReminderSend.run_id.in_(ids), ReminderSend.status == PENDING)
        .values(status=CANCELLED, reason=reason, ended_at=now)
        .execution_options(synchronize_session="fetch")
    )
    logger.info(
        "reminders.runs_stopped",
        extra={"shop_id": runs[0].shop_id, "count": len(ids), "reason": reason},
    )
    return len(ids)


def continue_run(run: ReminderRun, now: datetime) -> ReminderSend | None:
    """Plan the run's next step after its last ended one, or finish it.

    For runs found between steps with nothing planned (a worker died after
    a send); the dispatcher calls ``advance`` directly.
    """
    flow = db.session.scalar(
        select(ReminderFlow).where(ReminderFlow.shop_id == run.shop_id)
    )
    last = last_ended_send(run)
    done_through = db.session.scalar(
        select(func.max(ReminderSend.position)).where(ReminderSend.run_id == run.id)
    )
    return advance(run, flow, done_through or 0, last, now)


def advance(
    run: ReminderRun,
    flow: ReminderFlow | None,
    done_through: int,
    last: ReminderSend | None,
    now: datetime,
) -> ReminderSend | None:
    """After step ``done_through`` ended (``last``), plan the next or finish.

    The next step is due its delay after ``last`` was sent (or gave up). The
    caller holds the run's lock and has checked it is still active.
    """
    if flow is None or not flow.enabled:
        stop_runs([run], "flow_paused", now)
        return None
    step = flow.next_enabled_step(done_through)
    if step is None:
        run.status, run.ended_at = FINISHED, now
        return None
    return _plan_step(run, step, _anchor(run, last) + _delay(step))


def replan_pending(shop: Shop, flow: ReminderFlow, now: datetime) -> int:
    """Re-time every pending step of the shop to an edited flow; returns how many."""
    wait = timedelta(minutes=flow.abandonment_minutes)
    rows = db.session.execute(
        select(ReminderSend, ReminderRun)
        .join(ReminderRun, ReminderRun.id == ReminderSend.run_id)
        .where(
            ReminderSend.shop_id == shop.id,
            ReminderSend.status == PENDING,
            ReminderRun.status == ACTIVE,
        )
    ).all()
    for send, run in rows:
        run.abandoned_at = run.last_activity_at + wait
        _replan_send(run, send, flow, now)
    return len(rows)


def cart_fingerprint(cart: Cart) -> str:
    """A digest of what the cart holds: variants and quantities, in any order."""
    lines = sorted(
        f"{line.variant_id or line.title}:{line.quantity}" for line in cart.line_items
    )
    return hashlib.sha256("|".join(lines).encode()).hexdigest()


def _start_run(
    shop: Shop,
    cart: Cart,
    previous: ReminderRun | None,
    activity_at: datetime,
    fingerprint: str,
    now: datetime,
) -> ReminderRun | None:
    flow = flow_for(shop)
    if not flow.enabled or activity_at < now - MAX_CART_AGE:
        return None
    abandoned_at = activity_at + timedelta(minutes=flow.abandonment_minutes)
    first = _first_step_ahead(flow, abandoned_at, now)
    if first is None or not _has_receiving_binding(shop, cart.visitor_id, now):
        return None

    step, due = first
    run = ReminderRun(
        shop_id=shop.id,
        cart_id=cart.id,
        visitor_id=cart.visitor_id,
        round=previous.round + 1 if previous else 1,
        status=ACTIVE,
        cart_fingerprint=fingerprint,
        last_activity_at=activity_at,
        abandoned_at=abandoned_at,
        created_at=now,
    )
    db.session.add(run)
    db.session.flush()
    _plan_step(run, step, due)
    logger.info(
        "reminders.run_started",
        extra={
            "shop_id": shop.id,
            "cart_id": cart.id,
            "round": run.round,
            "first_step": step.position,
        },
    )
    return run


def _first_step_ahead(
    flow: ReminderFlow, abandoned_at: datetime, now: datetime
) -> tuple[ReminderStep, datetime] | None:
    """The first enabled step whose time on the cart's timeline is still ahead.

    A step's time is abandonment plus the delays up to it. None when even
    the last step's time has gone by: the cart is past the flow's reach.
    """
    due = abandoned_at
    step = flow.next_enabled_step(0)
    while step is not None:
        due += _delay(step)
        if due >= now - LATE_STEP_GRACE:
            return step, due
        step = flow.next_enabled_step(step.position)
    return None


def _restart_wait(
    shop: Shop, run: ReminderRun, activity_at: datetime, fingerprint: str
) -> None:
    flow = flow_for(shop)
    run.last_activity_at = max(run.last_activity_at, activity_at)
    run.abandoned_at = run.last_activity_at + timedelta(
        minutes=flow.abandonment_minutes
    )
    run.cart_fingerprint = fingerprint
    pending = db.session.scalar(
        select(ReminderSend).where(
            ReminderSend.run_id == run.id, ReminderSend.status == PENDING
        )
    )
    if pending is not None:
        _replan_send(run, pending, flow, clock.now())


def _replan_send(
    run: ReminderRun, send: ReminderSend, flow: ReminderFlow, now: datetime
) -> None:
    step = flow.step_at(send.position)
    if step is None or not step.enabled:
        step = flow.next_enabled_step(send.position)
    if step is None:
        send.status, send.reason, send.ended_at = CANCELLED, "step_removed", now
        run.status, run.ended_at = FINISHED, now
        return

    last = last_ended_send(run)
    due = _anchor(run, last) + _delay(step)
    if last is None:
        # A run that started late, past its first steps, keeps this step's
        # place on the cart's timeline.
        due += _delays_before(flow, step.position)
    send.position = step.position
    send.retry_key = retry_key_for(run, step.position)
    send.planned_at = send.due_at = due
    send.deferred_reason = None
    wake_when_due(send, run)


def _plan_step(run: ReminderRun, step: ReminderStep, due: datetime) -> ReminderSend:
    send = ReminderSend(
        shop_id=run.shop_id,
        run_id=run.id,
        position=step.position,
        visitor_id=run.visitor_id,
        status=PENDING,
        planned_at=due,
        due_at=due,
        attempts=0,
        clicks=0,
        duplicate=False,
        retry_key=retry_key_for(run, step.position),
    )
    db.session.add(send)
    db.session.flush()
    wake_when_due(send, run)
    return send


def _anchor(run: ReminderRun, last: ReminderSend | None) -> datetime:
    """What the next step's delay counts from."""
    if last is None:
        return run.abandoned_at
    ended = last.sent_at or last.ended_at or run.abandoned_at
    return max(run.abandoned_at, ended)


def _delay(step: ReminderStep) -> timedelta:
    return timedelta(minutes=step.delay_minutes)


def _delays_before(flow: ReminderFlow, position: int) -> timedelta:
    """The delays of the flow's enabled steps before ``position``."""
    earlier = [_delay(s) for s in flow.steps if s.enabled and s.position < position]
    return sum(earlier, timedelta())


def last_ended_send(run: ReminderRun) -> ReminderSend | None:
    return db.session.scalar(
        select(ReminderSend)
        .where(
            ReminderSend.run_id == run.id,
            ReminderSend.status.in_(ENDED_SEND_STATES),
        )
        .order_by(ReminderSend.position.desc())
        .limit(1)
    )


def _latest_run(shop: Shop, cart: Cart) -> ReminderRun | None:
    return db.session.scalar(
        select(ReminderRun)
        .where(ReminderRun.shop_id == shop.id, ReminderRun.cart_id == cart.id)
        .order_by(ReminderRun.round.desc())
        .limit(1)
        .with_for_update()
    )


def _active_runs(shop: Shop, condition) -> list[ReminderRun]:  # noqa: ANN001
    return list(
        db.session.scalars(
            select(ReminderRun)
            .where(ReminderRun.shop_id == shop.id, ReminderRun.status == ACTIVE)
            .where(condition)
            .order_by(ReminderRun.id)
            .with_for_update()
        )
    )


def _has_receiving_binding(shop: Shop, visitor_id: int, now: datetime) -> bool:
    bindings = db.session.scalars(
        select(ChannelBinding).where(
            ChannelBinding.shop_id == shop.id, ChannelBinding.visitor_id == visitor_id
        )
    )
    return any(binding.can_receive(now) for binding in bindings)


def _activity_time(reported: datetime | None, now: datetime) -> datetime:
    if reported is None or reported > now:
        return now
    return reported
