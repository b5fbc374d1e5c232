"""The Messenger client against the fake Messenger platform."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta

import httpx
import pytest
from redis import Redis

from engine.channels.errors import (
    OutsideWindowError,
    PermanentChannelError,
    RecipientUnreachableError,
    RetryableChannelError,
)
from engine.channels.messages import Buttons, Option, Text
from engine.channels.messenger.client import MessengerChannel
from engine.channels.messenger.render import render
from plugin.sandbox import messenger_rules
from plugin.sandbox.messenger_platform import FakeMessengerPlatform
from tests.channels.conftest import PAGE_ID, PAGE_TOKEN, PSID
from tests.channels.parts import carousel

PARTS = (
    Text("Your cart misses you 🍵"),
    carousel(2),
    Buttons("Still thinking?", (Option("No thanks", postback="snooze=30d"),)),
)


@pytest.fixture
def sent_bodies() -> list[dict]:
    return []


@pytest.fixture
def recording_http(sent_bodies: list[dict]) -> Iterator[httpx.Client]:
    """An HTTP client that keeps every JSON body it sends."""

    def keep(request: httpx.Request) -> None:
        sent_bodies.append(json.loads(request.content))

    with httpx.Client(event_hooks={"request": [keep]}) as client:
        yield client


def channel_on(
    messenger: FakeMessengerPlatform, http: httpx.Client, redis: Redis | None, **options
) -> MessengerChannel:
    return MessengerChannel(
        page_id=PAGE_ID,
        page_access_token=str(options.pop("page_access_token", PAGE_TOKEN)),
        base_url=messenger.base_url,
        http=http,
        redis=redis,
        **options,
    )


def new_key() -> str:
    return str(uuid.uuid4())


def wait_for(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the fake never finished answering"
        time.sleep(0.02)


def test_send_posts_one_response_message_per_part_in_order(
    messenger: FakeMessengerPlatform,
    recording_http: httpx.Client,
    sent_bodies: list[dict],
    redis: Redis,
) -> None:
    # when
    result = channel_on(messenger, recording_http, redis).send(
        PSID, PARTS, retry_key=new_key()
    )

    # then three calls, in order, never tagged
    delivered = messenger.delivered_to(PSID)
    assert [entry.messages[0] for entry in delivered] == render(PARTS)
    assert result.platform_message_ids == tuple(e.message_ids[0] for e in delivered)
    assert result.duplicate is False
    assert [body["messaging_type"] for body in sent_bodies] == ["RESPONSE"] * 3
    assert all("tag" not in body for body in sent_bodies)
    assert all(body["recipient"] == {"id": PSID} for body in sent_bodies)


def test_send_again_with_same_key_sends_nothing(
    messenger: FakeMessengerPlatform, http: httpx.Client, redis: Redis
) -> None:
    # given
    key = new_key()
    first = channel_on(messenger, http, redis).send(PSID, PARTS, retry_key=key)

    # when
    again = channel_on(messenger, http, redis).send(PSID, PARTS, retry_key=key)

    # then
    assert again.duplicate is True
    assert again.platform_message_ids == first.platform_message_ids
    assert len(messenger.delivered_to(PSID)) == 3


def test_send_retry_after_failure_resumes_after_accepted_parts(
    messenger: FakeMessengerPlatform, http: httpx.Client, redis: Redis
) -> None:
    # given the Page may make one call a second: part 2 is throttled (613)
    messenger.set_rate_limit(1)
    key = new_key()
    with pytest.raises(RetryableChannelError) as failure:
        channel_on(messenger, http, redis).send(PSID, PARTS, retry_key=key)
    assert failure.value.code == "613"

    # when retried once the Page may send again
    messenger.set_rate_limit(300)
    result = channel_on(messenger, http, redis).send(PSID, PARTS, retry_key=key)

    # then part 1 went once, parts 2 and 3 once each
    delivered = messenger.delivered_to(PSID)
    assert [entry.messages[0] for entry in delivered] == render(PARTS)
    assert result.duplicate is False


def test_send_outside_24_hour_window_is_refused(
    messenger: FakeMessengerPlatform, http: httpx.Client, redis: Redis
) -> None:
    # given the shopper last wrote 24 hours and a minute ago
    messenger.receive_message(
        PAGE_ID, PSID, at=messenger.now() - timedelta(hours=24, minutes=1)
    )

    # when
    with pytest.raises(OutsideWindowError) as failure:
        channel_on(messenger, http, redis).send(PSID, PARTS, retry_key=new_key())

    # then
    assert failure.value.code == "10/2018278"
    assert (
        failure.value.reason == "(#10) This message is sent outside of allowed window."
    )
    assert messenger.delivered_to(PSID) == []


def test_send_to_shopper_who_blocked_the_page_is_unreachable(
    messenger: FakeMessengerPlatform, http: httpx.Client, redis: Redis
) -> None:
    # given
    messenger.block(PAGE_ID, PSID)

    # when / then
    with pytest.raises(RecipientUnreachableError) as failure:
        channel_on(messenger, http, redis).send(PSID, PARTS, retry_key=new_key())
    assert failure.value.code == "551/1545041"
    assert messenger.delivered_to(PSID) == []


def test_send_to_unknown_psid_is_unreachable(
    messenger: FakeMessengerPlatform, http: httpx.Client, redis: Redis
) -> None:
    with pytest.raises(RecipientUnreachableError) as failure:
        channel_on(messenger, http, redis).send("999", PARTS, retry_key=new_key())
    assert failure.value.code == "100/2018001"


def test_send_with_expired_token_is_permanent_with_reason(
    messenger: FakeMessengerPlatform, http: httpx.Client, redis: Redis
) -> None:
    # when
    with pytest.raises(PermanentChannelError) as failure:
        channel_on(messenger, http, redis, page_access_token="expired").send(
            PSID, PARTS, retry_key=new_key()
        )

    # then
    assert failure.value.code == "190"
    assert failure.value.reason == (
        "Invalid OAuth access token - Cannot parse access token"
    )


def test_send_400_is_permanent_with_platform_reason(
    messenger: FakeMessengerPlatform,
    http: httpx.Client,
    redis: Redis,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given Meta refuses text over 10 characters (as if it had tightened)
    monkeypatch.setattr(messenger_rules, "TEXT_MAX", 10)

    # when
    with pytest.raises(PermanentChannelError) as failure:
        channel_on(messenger, http, redis).send(
            PSID, (Text("Twelve chars"),), retry_key=new_key()
        )

    # then
    assert failure.value.code == "100"
    assert failure.value.reason == (
        "(#100) Length of param message[text] must be less than or equal to 10"
    )


def test_send_429_with_retry_after_is_retryable(
    messenger: FakeMessengerPlatform, http: httpx.Client, redis: Redis
) -> None:
    # given
    messenger.inject_faults([429], retry_after="12")

    # when
    with pytest.raises(RetryableChannelError) as failure:
        channel_on(messenger, http, redis).send(PSID, PARTS, retry_key=new_key())

    # then
    assert failure.value.retry_after == 12.0
    assert failure.value.code == "4"


@pytest.mark.parametrize("status", [500, 503])
def test_send_5xx_is_retryable(
    messenger: FakeMessengerPlatform, http: httpx.Client, redis: Redis, status: int
) -> None:
    messenger.inject_faults([status])
    with pytest.raises(RetryableChannelError):
        channel_on(messenger, http, redis).send(PSID, PARTS, retry_key=new_key())
    assert messenger.delivered_to(PSID) == []


def test_send_timeout_is_retryable(
    messenger: FakeMessengerPlatform, http: httpx.Client, redis: Redis
) -> None:
    # given
    messenger.inject_faults(["timeout"], timeout_seconds=0.5)

    # when / then
    with pytest.raises(RetryableChannelError) as failure:
        channel_on(messenger, http, redis, timeout=httpx.Timeout(0.1)).send(
            PSID, PARTS, retry_key=new_key()
        )
    assert failure.value.code == "network"
    wait_for(lambda: messenger.count_calls(504) == 1)


# --- human_agent ----------------------------------------------------------------------


def test_send_as_human_agent_inside_24_hours_is_tagged(
    messenger: FakeMessengerPlatform,
    recording_http: httpx.Client,
    sent_bodies: list[dict],
    redis: Redis,
) -> None:
    # given a Page with the Human Agent permission
    messenger.set_human_agent(PAGE_ID)

    # when
    result = channel_on(messenger, recording_http, redis).send(
        PSID, (Text("Hi, Mei here"),), retry_key=new_key(), human_agent=True
    )

    # then
    assert [(b["messaging_type"], b["tag"]) for b in sent_bodies] == [
        ("MESSAGE_TAG", "HUMAN_AGENT")
    ]
    assert result.platform_message_ids == messenger.delivered_to(PSID)[0].message_ids


def test_send_as_human_agent_at_three_days_with_permission(
    messenger: FakeMessengerPlatform, http: httpx.Client, redis: Redis
) -> None:
    # given
    messenger.set_human_agent(PAGE_ID)
    messenger.receive_message(PAGE_ID, PSID, at=messenger.now() - timedelta(days=3))

    # when
    channel_on(messenger, http, redis).send(
        PSID, PARTS, retry_key=new_key(), human_agent=True
    )

    # then
    assert [e.messages[0] for e in messenger.delivered_to(PSID)] == render(PARTS)


def test_send_as_human_agent_at_three_days_without_permission_is_permanent(
    messenger: FakeMessengerPlatform, http: httpx.Client, redis: Redis
) -> None:
    # given a Page Meta never granted the permission
    messenger.receive_message(PAGE_ID, PSID, at=messenger.now() - timedelta(days=3))

    # when
    with pytest.raises(PermanentChannelError) as failure:
        channel_on(messenger, http, redis).send(
            PSID, PARTS, retry_key=new_key(), human_agent=True
        )

    # then it is the Page's refusal, not the window's
    assert not isinstance(failure.value, OutsideWindowError)
    assert failure.value.code == "200"
    assert failure.value.reason == (
        "(#200) The Human Agent tag is not available for this page."
    )
    assert messenger.delivered_to(PSID) == []


def test_send_as_human_agent_at_eight_days_is_outside_window(
    messenger: FakeMessengerPlatform, http: httpx.Client, redis: Redis
) -> None:
    # given
    messenger.set_human_agent(PAGE_ID)
    messenger.receive_message(PAGE_ID, PSID, at=messenger.now() - timedelta(days=8))

    # when
    with pytest.raises(OutsideWindowError) as failure:
        channel_on(messenger, http, redis).send(
            PSID, PARTS, retry_key=new_key(), human_agent=True
        )

    # then
    assert failure.value.code == "10/2018278"
    assert messenger.delivered_to(PSID) == []


def test_send_without_human_agent_at_three_days_is_outside_window(
    messenger: FakeMessengerPlatform, http: httpx.Client, redis: Redis
) -> None:
    # given a Page with the permission: an untagged send still gets 24 hours
    messenger.set_human_agent(PAGE_ID)
    messenger.receive_message(PAGE_ID, PSID, at=messenger.now() - timedelta(days=3))

    # when / then
    with pytest.raises(OutsideWindowError):
        channel_on(messenger, http, redis).send(PSID, PARTS, retry_key=new_key())
    assert messenger.delivered_to(PSID) == []
