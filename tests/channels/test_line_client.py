"""The LINE client against the fake LINE platform: every answer LINE can give."""

from __future__ import annotations

import io
import socket
import time
import uuid
from collections.abc import Callable
from datetime import timedelta

import pytest
import urllib3
from linebot.v3.messaging import (
    ApiClient,
    Configuration,
    PushMessageRequest,
    ReplyMessageRequest,
)

from engine.channels.errors import (
    InvalidMessageError,
    PermanentChannelError,
    QuotaExceededError,
    RecipientUnreachableError,
    ReplyTokenRejectedError,
    RetryableChannelError,
)
from engine.channels.line import client
from engine.channels.line.client import (
    CONTENT_MAX_BYTES,
    LineChannel,
    build_push_request,
    build_reply_request,
)
from engine.channels.line.render import render
from engine.channels.messages import Buttons, Option, Text
from engine.channels.rate_limit import Budget
from plugin.sandbox import line_rules
from plugin.sandbox.line_platform import FakeLinePlatform
from tests.channels.conftest import LINE_CHANNEL_ID, LINE_TOKEN, LINE_USER
from tests.channels.parts import carousel

PARTS = (Text("Your cart misses you 🍵"), carousel(2))


def channel_on(line: FakeLinePlatform, **options: object) -> LineChannel:
    return LineChannel(
        access_token=str(options.pop("access_token", LINE_TOKEN)),
        base_url=str(options.pop("base_url", line.base_url)),
        channel_key=f"line:{LINE_CHANNEL_ID}",
        **options,
    )


def new_key() -> str:
    return str(uuid.uuid4())


def unused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def reply_token_aged(line: FakeLinePlatform, seconds: float) -> str:
    """A reply token for LINE_USER, with the fake's clock ``seconds`` later."""
    issued_at = line.now()
    line.now = lambda: issued_at
    token = line.issue_reply_token(LINE_CHANNEL_ID, LINE_USER)
    line.now = lambda: issued_at + timedelta(seconds=seconds)
    return token


def wait_for(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the fake never finished answering"
        time.sleep(0.02)


def test_send_pushes_rendered_messages_with_retry_key(line: FakeLinePlatform) -> None:
    # given
    key = new_key()

    # when
    result = channel_on(line).send(LINE_USER, PARTS, retry_key=key)

    # then
    (entry,) = line.delivered_to(LINE_USER)
    assert entry.messages == render(PARTS)
    assert result.platform_message_ids == entry.message_ids
    assert len(result.platform_message_ids) == 2
    assert result.duplicate is False
    assert result.request_id is not None
    assert [(c.status, c.retry_key) for c in line.calls] == [(200, key)]


def test_send_again_with_same_key_is_duplicate_not_redelivered(
    line: FakeLinePlatform,
) -> None:
    # given a push accepted once
    key = new_key()
    first = channel_on(line).send(LINE_USER, PARTS, retry_key=key)

    # when it is retried after, say, a timeout
    again = channel_on(line).send(LINE_USER, PARTS, retry_key=key)

    # then
    assert again.duplicate is True
    assert again.request_id == first.request_id
    assert again.platform_message_ids == first.platform_message_ids
    assert len(line.delivered_to(LINE_USER)) == 1
    assert [c.status for c in line.calls] == [200, 409]


def test_send_refuses_a_retry_key_that_is_not_a_uuid(line: FakeLinePlatform) -> None:
    with pytest.raises(ValueError):
        channel_on(line).send(LINE_USER, PARTS, retry_key="cart-1-step-1")
    assert line.calls == []


def test_send_429_with_retry_after_is_retryable_after_that_delay(
    line: FakeLinePlatform,
) -> None:
    # given
    line.inject_faults([429], retry_after="7")

    # when
    with pytest.raises(RetryableChannelError) as failure:
        channel_on(line).send(LINE_USER, PARTS, retry_key=new_key())

    # then
    assert failure.value.retry_after == 7.0
    assert failure.value.code == "429"
    assert line.delivered_to(LINE_USER) == []


def test_send_over_platform_rate_limit_is_retryable(line: FakeLinePlatform) -> None:
    # given a channel limited to 2 pushes a second, both used
    line.set_rate_limit(2)
    for _ in range(2):
        channel_on(line).send(LINE_USER, PARTS, retry_key=new_key())

    # when
    with pytest.raises(RetryableChannelError) as failure:
        channel_on(line).send(LINE_USER, PARTS, retry_key=new_key())

    # then
    assert (
        failure.value.reason == "The API rate limit has been exceeded. Try again later."
    )
    assert failure.value.retry_after is None
    assert line.throttled_count == 1
    assert line.accepted_count == 2


@pytest.mark.parametrize("status", [500, 502, 503])
def test_send_5xx_is_retryable(line: FakeLinePlatform, status: int) -> None:
    # given
    line.inject_faults([status])

    # when / then
    with pytest.raises(RetryableChannelError) as failure:
        channel_on(line).send(LINE_USER, PARTS, retry_key=new_key())
    assert failure.value.code == str(status)
    assert line.delivered_to(LINE_USER) == []


def test_send_timeout_is_retryable(line: FakeLinePlatform) -> None:
    # given LINE holds the answer longer than our read timeout
    line.inject_faults(["timeout"], timeout_seconds=0.5)

    # when / then
    with pytest.raises(RetryableChannelError) as failure:
        channel_on(line, timeout=(1.0, 0.1)).send(LINE_USER, PARTS, retry_key=new_key())
    assert failure.value.code == "network"
    # (let the fake finish its late 504, so it lands in this test's log)
    wait_for(lambda: line.count_calls(504) == 1)


def test_send_to_unreachable_server_is_retryable() -> None:
    # given a port nobody listens on
    channel = LineChannel(
        access_token=LINE_TOKEN,
        base_url=f"http://127.0.0.1:{unused_port()}",
        channel_key="line:x",
    )

    # when / then
    with pytest.raises(RetryableChannelError):
        channel.send(LINE_USER, PARTS, retry_key=new_key())


def test_send_400_is_permanent_with_platform_reason(
    line: FakeLinePlatform, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given LINE refuses text longer than 10 characters (as if it had tightened)
    monkeypatch.setattr(line_rules, "TEXT_MAX", 10)

    # when
    with pytest.raises(PermanentChannelError) as failure:
        channel_on(line).send(LINE_USER, (Text("Twelve chars"),), retry_key=new_key())

    # then LINE's own words are kept for the merchant
    assert failure.value.code == "400"
    assert failure.value.reason == (
        "The request body has 1 error(s)"
        " (messages[0].text: Length must be between 0 and 10)"
    )
    assert not isinstance(failure.value, InvalidMessageError)


def test_send_with_revoked_token_is_permanent(line: FakeLinePlatform) -> None:
    # when
    with pytest.raises(PermanentChannelError) as failure:
        channel_on(line, access_token="revoked").send(
            LINE_USER, PARTS, retry_key=new_key()
        )

    # then
    assert failure.value.code == "401"
    assert failure.value.reason.startswith("Authentication failed.")


def test_send_to_malformed_user_id_is_unreachable(line: FakeLinePlatform) -> None:
    with pytest.raises(RecipientUnreachableError) as failure:
        channel_on(line).send("not-a-line-user", PARTS, retry_key=new_key())
    assert failure.value.code == "400"


def test_send_over_monthly_quota_is_quota_exceeded(line: FakeLinePlatform) -> None:
    # given a quota of one message, used
    line.set_monthly_quota(LINE_CHANNEL_ID, 1)
    channel_on(line).send(LINE_USER, PARTS, retry_key=new_key())

    # when
    with pytest.raises(QuotaExceededError) as failure:
        channel_on(line).send(LINE_USER, PARTS, retry_key=new_key())

    # then
    assert failure.value.reason == "You have reached your monthly limit."
    assert len(line.delivered_to(LINE_USER)) == 1


def test_send_to_blocked_user_succeeds_silently(line: FakeLinePlatform) -> None:
    # given
    line.block(LINE_CHANNEL_ID, LINE_USER)

    # when
    result = channel_on(line).send(LINE_USER, PARTS, retry_key=new_key())

    # then LINE answers 200, delivers nothing and counts nothing
    assert result.duplicate is False
    assert len(result.platform_message_ids) == 2
    assert line.delivered_to(LINE_USER) == []
    assert line.usage(LINE_CHANNEL_ID) == 0


def test_send_invalid_message_is_refused_before_any_request(
    line: FakeLinePlatform,
) -> None:
    with pytest.raises(InvalidMessageError):
        channel_on(line).send(LINE_USER, (Text(""),), retry_key=new_key())
    assert line.calls == []


class RecordingLimiter:
    def __init__(self) -> None:
        self.acquired: list[tuple[str, Budget]] = []

    def acquire(self, channel_key: str, budget: Budget, timeout: float = 30.0) -> float:
        self.acquired.append((channel_key, budget))
        return 0.0


def test_send_takes_a_rate_limit_slot_per_push(line: FakeLinePlatform) -> None:
    # given
    limiter = RecordingLimiter()
    budget = Budget(rate=10, burst=1)
    channel = channel_on(line, limiter=limiter, budget=budget)

    # when
    channel.send(LINE_USER, PARTS, retry_key=new_key())

    # then one push, one slot
    assert limiter.acquired == [(f"line:{LINE_CHANNEL_ID}", budget)]


def test_request_sends_what_sdk_models_would_serialize() -> None:
    # given every kind of part, as LineChannel builds its request
    parts = (
        Text("哈囉 👋"),
        carousel(12),
        Buttons("Still thinking?", (Option("No thanks", postback="snooze"),)),
    )
    messages = render(parts)
    serializer = ApiClient(Configuration(access_token="unused"))

    # when
    ours = serializer.sanitize_for_serialization(
        build_push_request(LINE_USER, messages)
    )
    sdks = serializer.sanitize_for_serialization(
        PushMessageRequest.from_dict({"to": LINE_USER, "messages": messages})
    )

    # then the shortcut past the SDK's own serializer changes nothing
    assert ours == sdks


# --- reply ---------------------------------------------------------------------------


def test_reply_within_validity_delivers_without_retry_key_or_quota(
    line: FakeLinePlatform,
) -> None:
    # given a token 10 seconds old, and a monthly quota already used up
    token = reply_token_aged(line, 10)
    line.set_monthly_quota(LINE_CHANNEL_ID, 0)

    # when
    result = channel_on(line).reply(token, PARTS)

    # then it went out as a reply, free
    (entry,) = line.delivered_to(LINE_USER)
    assert entry.reply is True
    assert entry.messages == render(PARTS)
    assert result.platform_message_ids == entry.message_ids
    assert result.duplicate is False
    assert result.request_id is not None
    assert [(c.path, c.status, c.retry_key) for c in line.calls] == [
        ("/v2/bot/message/reply", 200, None)
    ]
    assert line.usage(LINE_CHANNEL_ID) == 0


def test_reply_after_sixty_seconds_is_rejected(line: FakeLinePlatform) -> None:
    # given a token past the fake's minute
    token = reply_token_aged(line, 61)

    # when
    with pytest.raises(ReplyTokenRejectedError) as failure:
        channel_on(line).reply(token, PARTS)

    # then the caller can tell it apart, and push instead
    assert isinstance(failure.value, PermanentChannelError)
    assert failure.value.reason == "Invalid reply token"
    assert failure.value.code == "400"
    assert line.delivered_to(LINE_USER) == []


def test_reply_token_used_twice_is_rejected(line: FakeLinePlatform) -> None:
    # given a token already spent
    token = reply_token_aged(line, 1)
    channel_on(line).reply(token, PARTS)

    # when
    with pytest.raises(ReplyTokenRejectedError):
        channel_on(line).reply(token, PARTS)

    # then only the first reply went out
    assert len(line.delivered_to(LINE_USER)) == 1
    assert [c.status for c in line.calls] == [200, 400]


def test_reply_with_unknown_token_is_rejected(line: FakeLinePlatform) -> None:
    with pytest.raises(ReplyTokenRejectedError):
        channel_on(line).reply("0" * 32, PARTS)
    assert line.outbox == []


def test_reply_other_refusals_map_like_push(line: FakeLinePlatform) -> None:
    # given
    token = reply_token_aged(line, 1)
    line.inject_faults([503])

    # when / then a 5xx is retryable, and the token was not spent by it
    with pytest.raises(RetryableChannelError) as failure:
        channel_on(line).reply(token, PARTS)
    assert failure.value.code == "503"
    with pytest.raises(PermanentChannelError) as refused:
        channel_on(line, access_token="revoked").reply(token, PARTS)
    assert refused.value.code == "401"
    assert not isinstance(refused.value, ReplyTokenRejectedError)
    assert len(channel_on(line).reply(token, PARTS).platform_message_ids) == 2


def test_reply_invalid_message_is_refused_before_any_request(
    line: FakeLinePlatform,
) -> None:
    with pytest.raises(InvalidMessageError):
        channel_on(line).reply(reply_token_aged(line, 1), (Text(""),))
    assert line.calls == []


def test_reply_takes_a_slot_of_the_reply_bucket(line: FakeLinePlatform) -> None:
    # given
    limiter = RecordingLimiter()
    budget = Budget(rate=10, burst=1)
    channel = channel_on(line, limiter=limiter, budget=budget)

    # when
    channel.reply(reply_token_aged(line, 1), PARTS)

    # then LINE limits replies apart from pushes, and so do we
    assert limiter.acquired == [(f"line:{LINE_CHANNEL_ID}:reply", budget)]


def test_reply_request_sends_what_sdk_models_would_serialize() -> None:
    # given
    messages = render(PARTS)
    serializer = ApiClient(Configuration(access_token="unused"))

    # when
    ours = serializer.sanitize_for_serialization(
        build_reply_request("t" * 32, messages)
    )
    sdks = serializer.sanitize_for_serialization(
        ReplyMessageRequest.from_dict({"replyToken": "t" * 32, "messages": messages})
    )

    # then
    assert ours == sdks


# --- fetch_content -------------------------------------------------------------------


def content_channel(line: FakeLinePlatform) -> LineChannel:
    """A channel whose API host is unreachable: content must come from the data host."""
    return channel_on(
        line,
        base_url=f"http://127.0.0.1:{unused_port()}",
        data_base_url=line.base_url,
    )


def test_fetch_content_returns_bytes_and_media_type(line: FakeLinePlatform) -> None:
    # given a photo the user sent
    photo = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40
    message_id = line.store_content(LINE_CHANNEL_ID, photo, "image/png")

    # when
    data, media_type = content_channel(line).fetch_content(message_id)

    # then
    assert (data, media_type) == (photo, "image/png")


def test_fetch_content_of_exactly_five_megabytes_is_accepted(
    line: FakeLinePlatform,
) -> None:
    message_id = line.store_content(
        LINE_CHANNEL_ID, b"\xff" * CONTENT_MAX_BYTES, "image/jpeg"
    )
    data, _ = content_channel(line).fetch_content(message_id)
    assert len(data) == CONTENT_MAX_BYTES


def test_fetch_content_over_five_megabytes_is_refused(line: FakeLinePlatform) -> None:
    # given
    message_id = line.store_content(
        LINE_CHANNEL_ID, b"\xff" * (CONTENT_MAX_BYTES + 1), "image/jpeg"
    )

    # when
    with pytest.raises(PermanentChannelError) as failure:
        content_channel(line).fetch_content(message_id)

    # then
    assert failure.value.code == "content_too_large"
    assert failure.value.reason == (
        f"The content of LINE message {message_id!r} is over 5 MB"
        " (5,242,881 bytes or more); it was not downloaded."
    )


class CountedBody(io.BytesIO):
    """A response body that counts the bytes read from it."""

    taken = 0

    def read(self, size: int | None = -1) -> bytes:
        chunk = super().read(size)
        self.taken += len(chunk)
        return chunk


def test_fetch_content_without_length_stops_reading_past_the_cap() -> None:
    # given a body sent without Content-Length, twice the cap
    body = CountedBody(b"\xff" * (2 * CONTENT_MAX_BYTES))
    response = urllib3.HTTPResponse(body=body, preload_content=False, status=200)

    # when
    with pytest.raises(PermanentChannelError) as failure:
        client._read_content(response, "42")

    # then it stopped one chunk past the cap, and dropped the connection
    assert failure.value.code == "content_too_large"
    assert body.taken == CONTENT_MAX_BYTES + client._CONTENT_CHUNK
    assert response.closed


def test_fetch_content_of_unknown_message_is_permanent(line: FakeLinePlatform) -> None:
    with pytest.raises(PermanentChannelError) as failure:
        content_channel(line).fetch_content("123456789")
    assert failure.value.code == "404"
    assert failure.value.reason == "Not found"


def test_fetch_content_from_unreachable_host_is_retryable(
    line: FakeLinePlatform,
) -> None:
    channel = channel_on(line, data_base_url=f"http://127.0.0.1:{unused_port()}")
    with pytest.raises(RetryableChannelError) as failure:
        channel.fetch_content("123456789")
    assert failure.value.code == "network"
