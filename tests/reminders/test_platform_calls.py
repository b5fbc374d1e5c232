"""One batch's platform calls: each send's outcome is its own."""

from __future__ import annotations

from collections.abc import Sequence

from engine.channels.base import SendResult
from engine.channels.errors import LocallyThrottledError
from engine.reminders import delivery
from engine.reminders.delivery import DELIVERED, RETRY, Outbound


class ScriptedChannel:
    """Answers each recipient as scripted: an exception to raise, or sent."""

    name = "line"

    def __init__(self, failures: dict[str, Exception]) -> None:
        self.failures = failures

    def send(
        self, recipient_id: str, parts: Sequence[object], *, retry_key: str
    ) -> SendResult:
        failure = self.failures.get(recipient_id)
        if failure is not None:
            raise failure
        return SendResult(platform_message_ids=(f"m-{recipient_id}",))


def outbound(channel: ScriptedChannel, recipient: str, attempts: int = 0) -> Outbound:
    return Outbound(
        send_id=hash(recipient) % 10_000,
        run_id=1,
        shop_id=1,
        channel=channel,
        recipient_id=recipient,
        parts=(),
        retry_key="00000000-0000-0000-0000-000000000000",
        attempts=attempts,
    )


def test_one_sends_crash_is_its_outcome_and_the_others_go() -> None:
    # given three sends, the second of which crashes inside the client
    channel = ScriptedChannel({"u2": RuntimeError("redis went away")})
    batch = [outbound(channel, name) for name in ("u1", "u2", "u3")]

    # when they go side by side
    outcomes = delivery._call_platforms(batch, concurrency=3)

    # then the others are delivered and the crashed one is retried, counted
    assert [outcome.kind for outcome in outcomes] == [DELIVERED, RETRY, DELIVERED]
    crashed = outcomes[1].values
    assert (crashed["attempts"], crashed["error_code"]) == (1, "unexpected_error")
    assert crashed["deferred_reason"] == "retry_unexpected_error"


def test_our_own_throttle_is_no_attempt_at_the_platform() -> None:
    # given a send that already had two attempts, held back by our own budget
    throttled = LocallyThrottledError(
        "line", "budget taken", "rate_limited_locally", retry_after=40.0
    )
    channel = ScriptedChannel({"u1": throttled})

    # when
    [outcome] = delivery._call_platforms([outbound(channel, "u1", attempts=2)], 1)

    # then it waits as long as the budget says, with its attempts unchanged
    assert outcome.kind == RETRY
    assert outcome.values["attempts"] == 2
    assert outcome.values["deferred_reason"] == "retry_rate_limited_locally"
