"""The rules that hold a due step back: quiet hours, the cap, windows, the quota."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from engine.binding.models import LINE, MESSENGER, ChannelBinding
from engine.reminders import gates
from engine.reminders.models import ANY_CHANNEL, ReminderFlow, ReminderStep
from tests.reminders import taipei

HOUR = timedelta(hours=1)


def _flow(**settings: object) -> ReminderFlow:
    values = {
        "quiet_start_minute": 22 * 60,
        "quiet_end_minute": 9 * 60,
        "frequency_cap": 3,
        "frequency_window_hours": 24,
        "channel_order": [LINE, MESSENGER],
        **settings,
    }
    return ReminderFlow(**values)


def _binding(channel: str = LINE, **fields: object) -> ChannelBinding:
    return ChannelBinding(
        channel=channel, external_id=f"{channel}-1", reachable=True, **fields
    )


def _situation(
    now: datetime,
    *,
    flow: ReminderFlow | None = None,
    channel: str = ANY_CHANNEL,
    latest_minutes: int | None = None,
    bindings: list[ChannelBinding] | None = None,
    recent: list[datetime] | None = None,
    line_paused_until: datetime | None = None,
) -> gates.Situation:
    return gates.Situation(
        now=now,
        planned_at=now,
        step=ReminderStep(position=1, channel=channel, latest_minutes=latest_minutes),
        flow=flow or _flow(),
        timezone="Asia/Taipei",
        bindings=bindings if bindings is not None else [_binding()],
        recent_sends=recent or [],
        line_paused_until=line_paused_until,
    )


def test_decide_sends_now_outside_quiet_hours() -> None:
    # when
    decision = gates.decide(_situation(taipei(3, 14)))

    # then
    assert (decision.action, decision.binding.channel) == (gates.SEND, LINE)


@pytest.mark.parametrize(
    ("hour", "minute", "resume"),
    [(22, 0, taipei(4, 9)), (23, 59, taipei(4, 9)), (2, 0, taipei(3, 9))],
)
def test_decide_defers_quiet_hours_to_their_end_in_the_shops_zone(
    hour: int, minute: int, resume: datetime
) -> None:
    # when
    decision = gates.decide(_situation(taipei(3, hour, minute)))

    # then
    assert (decision.action, decision.at, decision.reason) == (
        gates.DEFER,
        resume,
        "quiet_hours",
    )


def test_decide_keeps_quiet_hours_that_do_not_cross_midnight() -> None:
    # given quiet hours from 12:00 to 14:00
    flow = _flow(quiet_start_minute=12 * 60, quiet_end_minute=14 * 60)

    # when
    during = gates.decide(_situation(taipei(3, 13), flow=flow))
    after = gates.decide(_situation(taipei(3, 14), flow=flow))

    # then
    assert (during.action, during.at) == (gates.DEFER, taipei(3, 14))
    assert after.action == gates.SEND


def test_decide_without_quiet_hours_sends_at_night() -> None:
    flow = _flow(quiet_start_minute=None, quiet_end_minute=None)

    decision = gates.decide(_situation(taipei(3, 23), flow=flow))

    assert decision.action == gates.SEND


def test_decide_defers_past_the_cap_until_the_oldest_send_leaves_the_window() -> None:
    # given a cap of 2 a day, reached at 10:00 and 12:00 today
    now = taipei(3, 14)
    recent = [taipei(3, 12), taipei(3, 10)]

    # when
    decision = gates.decide(_situation(now, flow=_flow(frequency_cap=2), recent=recent))

    # then one more may go once the 10:00 send is a day old
    assert (decision.action, decision.reason) == (gates.DEFER, "frequency_cap")
    assert decision.at == taipei(4, 10) + timedelta(seconds=1)


def test_decide_cap_then_quiet_hours_pushes_to_the_morning() -> None:
    # given the cap frees a slot at 23:00, inside quiet hours
    recent = [taipei(2, 23)]

    decision = gates.decide(
        _situation(taipei(3, 14), flow=_flow(frequency_cap=1), recent=recent)
    )

    assert decision.at == taipei(4, 9)


def test_decide_skips_when_deferral_passes_the_latest_time() -> None:
    # when a step due at 22:30 may be at most 2 hours late
    decision = gates.decide(_situation(taipei(3, 22, 30), latest_minutes=120))

    # then
    assert (decision.action, decision.reason) == (
        gates.SKIP,
        "quiet_hours_past_latest_time",
    )


def test_decide_skips_messenger_when_the_window_is_closed() -> None:
    # given the shopper last wrote 25 hours ago
    now = taipei(3, 14)
    binding = _binding(MESSENGER, last_inbound_at=now - 25 * HOUR)

    decision = gates.decide(_situation(now, channel=MESSENGER, bindings=[binding]))

    assert (decision.action, decision.reason) == (
        gates.SKIP,
        "outside_messenger_window",
    )


def test_decide_any_channel_falls_back_to_messenger_inside_its_window() -> None:
    # given LINE is unreachable and Messenger's window is open
    now = taipei(3, 14)
    line = _binding(
        LINE,
    )
    line.reachable = False
    messenger = _binding(MESSENGER, last_inbound_at=now - HOUR)

    decision = gates.decide(_situation(now, bindings=[line, messenger]))

    assert (decision.action, decision.binding.channel) == (gates.SEND, MESSENGER)


def test_decide_defers_line_while_its_quota_is_paused() -> None:
    # given LINE's quota is used up until 18:00, LINE only
    now = taipei(3, 14)

    decision = gates.decide(
        _situation(now, channel=LINE, line_paused_until=taipei(3, 18))
    )

    assert (decision.action, decision.at, decision.reason) == (
        gates.DEFER,
        taipei(3, 18),
        "line_quota_exhausted",
    )


def test_decide_any_channel_falls_back_to_messenger_while_lines_quota_is_paused() -> (
    None
):
    # given LINE first in the order but paused until 18:00, Messenger's window open
    now = taipei(3, 14)
    messenger = _binding(MESSENGER, last_inbound_at=now - HOUR)

    # when
    decision = gates.decide(
        _situation(
            now, bindings=[_binding(), messenger], line_paused_until=taipei(3, 18)
        )
    )

    # then Messenger takes it now rather than LINE at 18:00
    assert (decision.action, decision.binding.channel) == (gates.SEND, MESSENGER)


def test_decide_any_channel_keeps_the_order_when_both_wait_alike() -> None:
    # given quiet hours, which hold every channel back to 09:00
    now = taipei(3, 23)
    messenger = _binding(MESSENGER, last_inbound_at=now - HOUR)

    # when
    decision = gates.decide(_situation(now, bindings=[_binding(), messenger]))

    # then the flow's first channel waits for the morning
    assert (decision.action, decision.binding.channel, decision.at) == (
        gates.DEFER,
        LINE,
        taipei(4, 9),
    )


def test_decide_skips_without_a_bound_channel_that_can_receive() -> None:
    snoozed = _binding(snoozed_until=taipei(30, 0))

    decision = gates.decide(_situation(taipei(3, 14), bindings=[snoozed]))

    assert (decision.action, decision.reason) == (gates.SKIP, "no_bound_channel")
