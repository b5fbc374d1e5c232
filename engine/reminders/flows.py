"""The merchant's reminder flow: its defaults, its checks, and edits to it.

Every shop has one flow, made on first use with the defaults below. Edits go
through ``update_flow``, which refuses what cannot work (naming the field)
and re-plans the steps not yet sent; steps already sent stay as they were.

Where the issue leaves it open, these hold:

- Delays add up: a step is due its delay after the previous step's send, the
  first one its delay after abandonment, which is the cart's last activity
  plus the abandonment wait. The default steps land at 1 h, 8 h and 23 h
  after abandonment.
- A Messenger step must be able to land inside Messenger's 24-hour window
  counted from the cart's last activity (the latest the shopper can be
  assumed to have written to the shop's page): the abandonment wait plus the
  delays up to that step must stay under 24 hours. Steps on "any" channel are
  not refused; past the window they go to LINE or are skipped.
- Every enabled step must render on each channel it may go to (both for
  "any"), checked with a sample cart: a text over Messenger's 2,000
  characters, say, is refused when saved rather than failing at send time.
- Pausing stops every pending step of the shop at once; resuming does not
  bring those back, new cart activity starts new sequences.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from engine.binding.models import CHANNELS, MESSENGER
from engine.db import db
from engine.reminders import clock
from engine.reminders.content import validate_message
from engine.reminders.defaults import flow_for, new_step
from engine.reminders.errors import FlowValidationError
from engine.reminders.models import ANY_CHANNEL, ReminderFlow, ReminderStep
from engine.reminders.preview import check_renders, sample_view
from engine.reminders.sequences import replan_pending, stop_runs_of_shop
from engine.shops.models import Shop

logger = logging.getLogger(__name__)

MAX_STEPS = 5
MAX_DELAY_MINUTES = 30 * 24 * 60
MESSENGER_WINDOW = timedelta(hours=24)
STEP_CHANNELS = (*CHANNELS, ANY_CHANNEL)

# Flow settings an edit may change, with their allowed ranges.
_INT_SETTINGS = {
    "abandonment_minutes": (5, 7 * 24 * 60),
    "frequency_cap": (1, 20),
    "frequency_window_hours": (1, 7 * 24),
    "attribution_days": (1, 90),
}


def update_flow(shop: Shop, changes: dict[str, Any]) -> ReminderFlow:
    """Apply a merchant's edit to the flow, or refuse it whole.

    ``changes`` may hold any of the flow settings and ``steps`` (the full
    list, in order). Pending steps are re-planned to the new settings.
    The caller commits.

    Raises:
        FlowValidationError: naming the first field at fault.
    """
    flow = flow_for(shop)
    settings = _validated_settings(changes)
    steps = (
        [_validated_step(spec, i) for i, spec in enumerate(changes["steps"])]
        if "steps" in changes
        else None
    )
    if steps is not None and not 1 <= len(steps) <= MAX_STEPS:
        raise FlowValidationError(
            "steps", f"A flow has 1 to {MAX_STEPS} steps; got {len(steps)}."
        )

    wait = settings.get("abandonment_minutes", flow.abandonment_minutes)
    _check_messenger_window(wait, steps or [_as_spec(step) for step in flow.steps])
    if steps is not None:
        check_renders([s for s in steps if s["enabled"]], sample_view(shop))

    for name, value in settings.items():
        setattr(flow, name, value)
    if steps is not None:
        _replace_steps(shop, flow, steps)
    db.session.flush()

    replan_pending(shop, flow, clock.now())
    logger.info("reminders.flow_updated", extra={"shop_id": shop.id})
    return flow


def pause_flow(shop: Shop) -> int:
    """Pause reminders: every pending step of the shop is cancelled at once.

    Returns how many sequences were stopped. The caller commits.
    """
    flow = flow_for(shop)
    flow.enabled = False
    return stop_runs_of_shop(shop, "flow_paused")


def resume_flow(shop: Shop) -> None:
    """Resume reminders for carts that become abandoned from now on."""
    flow_for(shop).enabled = True


def _replace_steps(shop: Shop, flow: ReminderFlow, steps: list[dict]) -> None:
    by_position = {step.position: step for step in flow.steps}
    for position, spec in enumerate(steps, 1):
        step = by_position.pop(position, None)
        if step is None:
            flow.steps.append(new_step(shop, position, spec))
            continue
        step.enabled = spec["enabled"]
        step.delay_minutes = spec["delay_minutes"]
        step.channel = spec["channel"]
        step.message = spec["message"]
        step.latest_minutes = spec["latest_minutes"]
    for step in by_position.values():
        flow.steps.remove(step)


def _as_spec(step: ReminderStep) -> dict[str, Any]:
    return {
        "enabled": step.enabled,
        "delay_minutes": step.delay_minutes,
        "channel": step.channel,
    }


def _validated_settings(changes: dict[str, Any]) -> dict[str, Any]:
    settings: dict[str, Any] = {}
    for name, (low, high) in _INT_SETTINGS.items():
        if name in changes:
            settings[name] = _int_in_range(changes[name], name, low, high)
    if "enabled" in changes:
        settings["enabled"] = bool(changes["enabled"])
    if "quiet_hours" in changes:
        start, end = _quiet_hours(changes["quiet_hours"])
        settings["quiet_start_minute"], settings["quiet_end_minute"] = start, end
    if "channel_order" in changes:
        settings["channel_order"] = _channel_order(changes["channel_order"])
    if "message_costs" in changes:
        settings["message_costs"] = _message_costs(changes["message_costs"])
    return settings


def _validated_step(spec: object, index: int) -> dict[str, Any]:
    field = f"steps[{index}]"
    if not isinstance(spec, dict):
        raise FlowValidationError(field, f"A step must be an object; got {spec!r}.")
    channel = spec.get("channel", ANY_CHANNEL)
    if channel not in STEP_CHANNELS:
        raise FlowValidationError(
            f"{field}.channel",
            f"Unknown channel {channel!r}; use one of {', '.join(STEP_CHANNELS)}.",
        )
    latest = spec.get("latest_minutes")
    return {
        "enabled": bool(spec.get("enabled", True)),
        "delay_minutes": _delay_minutes(spec, field),
        "channel": channel,
        "message": validate_message(
            spec.get("message"),
            f"{field}.message",
            None if channel == ANY_CHANNEL else channel,
        ),
        "latest_minutes": (
            None
            if latest is None
            else _int_in_range(latest, f"{field}.latest_minutes", 1, MAX_DELAY_MINUTES)
        ),
    }


def _delay_minutes(spec: dict[str, Any], field: str) -> int:
    """The step's delay; given as ``delay_minutes`` or ``delay`` + ``unit``."""
    if "delay" in spec:
        unit = spec.get("unit", "minutes")
        factors = {"minutes": 1, "hours": 60, "days": 24 * 60}
        if unit not in factors:
            raise FlowValidationError(
                f"{field}.unit",
                f"Unknown delay unit {unit!r}; use minutes, hours or days.",
            )
        amount = _int_in_range(spec["delay"], f"{field}.delay", 1, MAX_DELAY_MINUTES)
        if amount * factors[unit] > MAX_DELAY_MINUTES:
            raise FlowValidationError(
                f"{field}.delay",
                f"{amount} {unit} is longer than the longest delay,"
                f" {MAX_DELAY_MINUTES // (24 * 60)} days.",
            )
        spec = {"delay_minutes": amount * factors[unit]}
    return _int_in_range(
        spec.get("delay_minutes"), f"{field}.delay_minutes", 1, MAX_DELAY_MINUTES
    )


def _check_messenger_window(wait_minutes: int, steps: list[dict[str, Any]]) -> None:
    elapsed = timedelta(minutes=wait_minutes)
    for index, step in enumerate(steps):
        if not step["enabled"]:
            continue
        elapsed += timedelta(minutes=step["delay_minutes"])
        if step["channel"] == MESSENGER and elapsed >= MESSENGER_WINDOW:
            hours = elapsed.total_seconds() / 3600
            raise FlowValidationError(
                f"steps[{index}].delay_minutes",
                f"Step {index + 1} goes to Messenger {hours:g} hours after the"
                " cart's last activity, past Messenger's 24-hour window for"
                " promotional messages; shorten the delays or send it on LINE.",
            )


def _int_in_range(value: object, field: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise FlowValidationError(field, f"A whole number is needed; got {value!r}.")
    if not low <= value <= high:
        raise FlowValidationError(
            field, f"{value!r} is outside the allowed {low} to {high}."
        )
    return value


def _quiet_hours(value: object) -> tuple[int | None, int | None]:
    """``None`` for none, or ``{"start": "22:00", "end": "09:00"}``."""
    if value is None:
        return None, None
    if not isinstance(value, dict):
        raise FlowValidationError(
            "quiet_hours", f"Quiet hours need a start and an end; got {value!r}."
        )
    start = _clock_minute(value.get("start"), "quiet_hours.start")
    end = _clock_minute(value.get("end"), "quiet_hours.end")
    if start == end:
        raise FlowValidationError(
            "quiet_hours.end", "Quiet hours must end at another time than they start."
        )
    return start, end


def _clock_minute(value: object, field: str) -> int:
    try:
        hours, minutes = str(value).split(":")
        minute = int(hours) * 60 + int(minutes)
    except ValueError:
        minute = -1
    if not 0 <= minute < 24 * 60:
        raise FlowValidationError(field, f"Use a time like 22:00; got {value!r}.")
    return minute


def _channel_order(value: object) -> list[str]:
    if (
        not isinstance(value, list)
        or sorted(value) != sorted(CHANNELS)
        or len(set(value)) != len(value)
    ):
        raise FlowValidationError(
            "channel_order",
            f"List each of {', '.join(CHANNELS)} once, in the order to try them;"
            f" got {value!r}.",
        )
    return list(value)


def _message_costs(value: object) -> dict[str, str]:
    if not isinstance(value, dict):
        raise FlowValidationError(
            "message_costs", f"Costs per channel are needed; got {value!r}."
        )
    costs = {}
    for channel in CHANNELS:
        raw = value.get(channel, "0")
        try:
            amount = Decimal(str(raw))
        except InvalidOperation:
            amount = Decimal(-1)
        if amount < 0 or not amount.is_finite():
            raise FlowValidationError(
                f"message_costs.{channel}",
                f"A cost per message must be an amount of 0 or more; got {raw!r}.",
            )
        costs[channel] = str(amount)
    return costs
