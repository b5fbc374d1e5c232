"""When a due step may go, and on which channel: the rules that hold a send back.

Quiet hours (in the shop's time zone), the per-shopper frequency cap and a
paused LINE quota *defer* a step to the first moment it may go; nothing is
dropped silently. A step is *skipped*, with the reason stored, only when
deferring would carry it past its use: Messenger's 24-hour window since the
shopper's last message, or the step's merchant-set latest time. A step on
"any" channel takes, among the shopper's bound channels that can deliver in
time, the one that may go soonest (a paused LINE quota falls back to
Messenger), the flow's order breaking ties.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from engine.binding.models import LINE, MESSENGER, ChannelBinding
from engine.reminders.models import ANY_CHANNEL, ReminderFlow, ReminderStep

MESSENGER_WINDOW = timedelta(hours=24)
# A Messenger send must reach Meta this long before the window closes.
WINDOW_MARGIN = timedelta(minutes=1)
# Deferring loops at most this often between quiet hours and the cap.
_MAX_ROUNDS = 8

SEND = "send"
DEFER = "defer"
SKIP = "skip"


@dataclass(frozen=True)
class Decision:
    """SEND now on ``binding``, DEFER until ``at``, or SKIP for ``reason``."""

    action: str
    binding: ChannelBinding | None = None
    at: datetime | None = None
    reason: str | None = None


@dataclass(frozen=True)
class Situation:
    """What the rules look at for one due send."""

    now: datetime
    planned_at: datetime
    step: ReminderStep
    flow: ReminderFlow
    timezone: str | None
    bindings: Sequence[ChannelBinding]
    # When reminders already went to this shopper, within the cap's window.
    recent_sends: Sequence[datetime]
    # Until when the shop's LINE quota is used up, if it is.
    line_paused_until: datetime | None


def decide(situation: Situation) -> Decision:
    """The decision for one due send; see the module for the rules."""
    candidates = _candidates(situation)
    if not candidates:
        return Decision(SKIP, reason="no_bound_channel")

    first_refusal = None
    soonest: tuple[datetime, ChannelBinding] | None = None
    for binding in candidates:
        deadline, refusal = _deadline(situation, binding)
        at = _first_allowed(situation, binding)
        if refusal is None and deadline is not None and at > deadline:
            refusal = _late_reason(situation, binding, deadline)
        if refusal is None:
            if soonest is None or at < soonest[0]:
                soonest = (at, binding)
        else:
            first_refusal = first_refusal or refusal
    if soonest is None:
        return Decision(SKIP, reason=first_refusal)

    at, binding = soonest
    if at <= situation.now:
        return Decision(SEND, binding=binding)
    return Decision(DEFER, binding=binding, at=at, reason=_why(situation, at))


def _candidates(situation: Situation) -> list[ChannelBinding]:
    step = situation.step
    order = (
        situation.flow.channel_order if step.channel == ANY_CHANNEL else [step.channel]
    )
    usable = [b for b in situation.bindings if b.can_receive(situation.now)]
    return [b for channel in order for b in usable if b.channel == channel]


def _deadline(
    situation: Situation, binding: ChannelBinding
) -> tuple[datetime | None, str | None]:
    """The latest moment the step is of use on this binding, or why it never is."""
    deadlines = []
    if situation.step.latest_minutes is not None:
        deadlines.append(
            situation.planned_at + timedelta(minutes=situation.step.latest_minutes)
        )
    if binding.channel == MESSENGER:
        if binding.last_inbound_at is None:
            return None, "outside_messenger_window"
        closes = binding.last_inbound_at + MESSENGER_WINDOW - WINDOW_MARGIN
        if closes <= situation.now:
            return None, "outside_messenger_window"
        deadlines.append(closes)
    return (min(deadlines) if deadlines else None), None


def _first_allowed(situation: Situation, binding: ChannelBinding) -> datetime:
    """The first moment from now that quiet hours, the cap and the quota allow."""
    at = situation.now
    if binding.channel == LINE and situation.line_paused_until is not None:
        at = max(at, situation.line_paused_until)
    for _ in range(_MAX_ROUNDS):
        moved = _after_cap(situation, _after_quiet_hours(situation, at))
        if moved == at:
            return at
        at = moved
    return at


def _after_quiet_hours(situation: Situation, at: datetime) -> datetime:
    flow = situation.flow
    start, end = flow.quiet_start_minute, flow.quiet_end_minute
    if start is None or end is None:
        return at

    zone = _zone(situation.timezone)
    local = at.astimezone(zone)
    minute = local.hour * 60 + local.minute
    quiet = start <= minute < end if start < end else minute >= start or minute < end
    if not quiet:
        return at

    day = local.date() if minute < end else local.date() + timedelta(days=1)
    ends = datetime.combine(day, time(end // 60, end % 60), tzinfo=zone)
    return ends.astimezone(at.tzinfo)


def _after_cap(situation: Situation, at: datetime) -> datetime:
    window = timedelta(hours=situation.flow.frequency_window_hours)
    inside = sorted(sent for sent in situation.recent_sends if sent > at - window)
    excess = len(inside) - situation.flow.frequency_cap + 1
    if excess <= 0:
        return at
    # Once the oldest ``excess`` of them leave the window, one more may go.
    return inside[excess - 1] + window + timedelta(seconds=1)


def _why(situation: Situation, at: datetime) -> str:
    """Which rule a deferral to ``at`` comes from, for the merchant."""
    paused = situation.line_paused_until
    if paused is not None and at == paused:
        return "line_quota_exhausted"
    if _after_quiet_hours(situation, situation.now) > situation.now:
        return "quiet_hours"
    return "frequency_cap"


def _late_reason(
    situation: Situation, binding: ChannelBinding, deadline: datetime
) -> str:
    cause = _why(situation, _first_allowed(situation, binding))
    latest = situation.step.latest_minutes
    step_deadline = (
        situation.planned_at + timedelta(minutes=latest) if latest is not None else None
    )
    past = "latest_time" if deadline == step_deadline else "messenger_window"
    return f"{cause}_past_{past}"


def _zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")
