"""The merchant's flow: defaults, refusals naming the field, edits and pausing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask

from engine.db import db
from engine.reminders import flow_for, pause_flow, resume_flow, update_flow
from engine.reminders.defaults import DEFAULT_STEPS
from engine.reminders.errors import FlowValidationError
from engine.reminders.sweep import enqueue_due_reminders
from tests.conftest import run_jobs
from tests.reminders import (
    HOUR,
    OOLONG_100G,
    WAIT,
    leave_cart,
    make_shopper,
    move_clock_to,
    runs_of,
    sends_of,
    taipei,
)


def _steps(**changes: dict) -> list[dict]:
    steps = [dict(step) for step in DEFAULT_STEPS]
    for index, change in changes.items():
        steps[int(index.removeprefix("s"))].update(change)
    return steps


def test_flow_for_a_new_shop_starts_with_the_default(reminder_shop) -> None:
    # when
    flow = flow_for(reminder_shop)

    # then three steps landing 1 h, 8 h and 23 h after abandonment
    assert flow.enabled is True
    assert flow.abandonment_minutes == 30
    assert [step.delay_minutes for step in flow.steps] == [60, 420, 900]
    assert [step.channel for step in flow.steps] == ["any", "any", "any"]
    assert (flow.quiet_start_minute, flow.quiet_end_minute) == (22 * 60, 9 * 60)
    assert (flow.frequency_cap, flow.attribution_days) == (3, 7)


def test_update_flow_refuses_a_messenger_step_outside_the_24_hour_window(
    reminder_shop,
) -> None:
    # given step 3 on Messenger would land 23.5 h after the cart's last
    # activity; a longer wait pushes it past 24 h
    steps = _steps(s2={"channel": "messenger"})
    update_flow(reminder_shop, {"steps": steps})

    # when
    with pytest.raises(FlowValidationError) as refused:
        update_flow(reminder_shop, {"abandonment_minutes": 60})

    # then the error names the step's delay
    assert refused.value.field == "steps[2].delay_minutes"
    assert "24-hour window" in refused.value.message
    assert flow_for(reminder_shop).abandonment_minutes == 30


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"steps": _steps(s0={"channel": "sms"})}, "steps[0].channel"),
        ({"steps": _steps(s1={"delay_minutes": 0})}, "steps[1].delay_minutes"),
        ({"steps": _steps(s1={"delay": 2, "unit": "weeks"})}, "steps[1].unit"),
        ({"steps": []}, "steps"),
        ({"steps": _steps() * 2}, "steps"),
        ({"quiet_hours": {"start": "25:00", "end": "09:00"}}, "quiet_hours.start"),
        ({"channel_order": ["line"]}, "channel_order"),
        ({"message_costs": {"line": "-1"}}, "message_costs.line"),
        ({"frequency_cap": 0}, "frequency_cap"),
    ],
)
def test_update_flow_refuses_bad_values_naming_the_field(
    reminder_shop, changes: dict, field: str
) -> None:
    with pytest.raises(FlowValidationError) as refused:
        update_flow(reminder_shop, changes)

    assert refused.value.field == field


def test_update_flow_takes_delays_in_hours_and_days(reminder_shop) -> None:
    steps = _steps(s1={"delay": 2, "unit": "hours"}, s2={"delay": 1, "unit": "days"})

    flow = update_flow(reminder_shop, {"steps": steps})

    assert [step.delay_minutes for step in flow.steps] == [60, 120, 1440]


def test_edits_apply_to_steps_not_yet_sent(app: Flask, reminder_shop, line) -> None:
    # given step 1 went out and step 2 waits
    shop = reminder_shop
    left_at = move_clock_to(taipei(3, 10))
    leave_cart(shop, make_shopper(shop), "cart-mei", [(OOLONG_100G, 1)], left_at)
    move_clock_to(left_at + WAIT + HOUR)
    enqueue_due_reminders(grace=timedelta())
    run_jobs(app)
    sent, waiting = sends_of(shop)

    # when the merchant moves step 2 to 2 hours after step 1
    update_flow(shop, {"steps": _steps(s1={"delay_minutes": 120})})
    db.session.commit()

    # then only the waiting step moved
    sent_now, waiting_now = sends_of(shop)
    assert (sent_now.status, sent_now.sent_at) == ("sent", sent.sent_at)
    assert waiting_now.planned_at == sent.sent_at + 2 * HOUR
    assert waiting_now.due_at == waiting_now.planned_at


def test_disabling_the_waiting_step_moves_the_run_to_the_next(reminder_shop) -> None:
    # given Mei's first step waits
    shop = reminder_shop
    left_at = move_clock_to(taipei(3, 10))
    leave_cart(shop, make_shopper(shop), "cart-mei", [(OOLONG_100G, 1)], left_at)

    # when step 1 is turned off
    update_flow(shop, {"steps": _steps(s0={"enabled": False})})
    db.session.commit()

    # then step 2 waits instead, counted from abandonment
    (send,) = sends_of(shop)
    assert (send.position, send.planned_at) == (2, left_at + WAIT + 7 * HOUR)


def test_pausing_cancels_every_pending_step_and_resuming_does_not_revive_them(
    reminder_shop,
) -> None:
    # given two shoppers with waiting reminders
    shop = reminder_shop
    left_at = move_clock_to(taipei(3, 10))
    for name in ("mei", "lin"):
        shopper = make_shopper(shop, name)
        leave_cart(shop, shopper, f"cart-{name}", [(OOLONG_100G, 1)], left_at)

    # when the merchant pauses, then resumes
    stopped = pause_flow(shop)
    db.session.commit()
    resume_flow(shop)
    db.session.commit()

    # then
    assert stopped == 2
    assert [(s.status, s.reason) for s in sends_of(shop)] == [
        ("cancelled", "flow_paused"),
        ("cancelled", "flow_paused"),
    ]
    assert {run.status for run in runs_of(shop)} == {"stopped"}
    assert flow_for(shop).enabled is True
