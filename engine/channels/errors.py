"""Why a send through a channel failed, and whether trying again can help.

``ChannelError`` is the root. A caller retries ``RetryableChannelError`` with
backoff (honouring ``retry_after``), pauses the shop's channel on
``QuotaExceededError``, skips the step on ``OutsideWindowError`` and
``RecipientUnreachableError``, and stores ``PermanentChannelError`` (its
``reason`` and ``code`` are the platform's own) for the merchant to see.
``InvalidMessageError`` is a permanent error found before anything was sent;
``ReplyTokenRejectedError`` is LINE refusing a reply token, after which the
caller may push the same messages instead.
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime


class ChannelError(Exception):
    """A send through ``channel`` ("line", "messenger", "sandbox") failed.

    ``reason`` is a sentence for the merchant (the platform's message when the
    platform refused); ``code`` is the platform's code, or ours, when known.
    """

    def __init__(self, channel: str, reason: str, code: str | None = None) -> None:
        self.channel = channel
        self.reason = reason
        self.code = code
        suffix = f" (code {code})" if code else ""
        super().__init__(f"The {channel} send failed: {reason}{suffix}")


class RetryableChannelError(ChannelError):
    """A failure that may pass: 429, 5xx, a timeout or a network error.

    ``retry_after`` is how many seconds the platform asked us to wait, or
    ``None`` when it did not say (then the caller's own backoff applies).
    """

    def __init__(
        self,
        channel: str,
        reason: str,
        code: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(channel, reason, code)
        self.retry_after = retry_after


class LocallyThrottledError(RetryableChannelError):
    """Our own shared send budget is taken for longer than a send may wait.

    Nothing reached the platform, so it is not an attempt at it.
    """


class QuotaExceededError(ChannelError):
    """LINE's monthly message quota is used up; nothing more goes out this month."""


class OutsideWindowError(ChannelError):
    """Messenger refused: the shopper's 24-hour standard messaging window is closed."""


class RecipientUnreachableError(ChannelError):
    """The recipient cannot be messaged: blocked the business, or is unknown."""


class PermanentChannelError(ChannelError):
    """Any other refusal; sending the same thing again gets the same answer."""


class ReplyTokenRejectedError(PermanentChannelError):
    """LINE refused a reply token: expired, already used, or never issued.

    Nothing went out with it. A push can carry the same messages instead
    (counted against the monthly quota, where a reply is not).
    """


class ChannelNotConfiguredError(PermanentChannelError):
    """The shop has no enabled account for the channel."""

    def __init__(self, channel: str, shop_id: int) -> None:
        super().__init__(
            channel,
            f"Shop {shop_id} has no enabled {channel!r} account; connect one first.",
            "not_configured",
        )
        self.shop_id = shop_id


class InvalidMessageError(PermanentChannelError):
    """The message breaks one of the channel's rules; found before sending.

    ``part`` names the offending part ("part 2 (Carousel)") and ``limit`` the
    rule's number when there is one.
    """

    default_code = "invalid_message"

    def __init__(
        self, channel: str, reason: str, *, part: str, limit: int | None = None
    ) -> None:
        super().__init__(channel, reason, self.default_code)
        self.part = part
        self.limit = limit


class MessageTooLargeError(InvalidMessageError):
    """The message holds more than the channel takes (parts, bytes, characters)."""

    default_code = "message_too_large"


class InvalidChannelSettingError(ChannelError):
    """A channel setting refused before saving; ``field`` names it.

    Raised for a malformed id or secret, and for credentials the platform
    itself refused when asked (``code`` is then the platform's).
    """

    def __init__(
        self, channel: str, field: str, reason: str, code: str | None = None
    ) -> None:
        super().__init__(channel, reason, code or "invalid_channel_setting")
        self.field = field


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP-date).

    Returns ``None`` for a missing or unreadable value, and never a negative
    number (RFC 9110 section 10.2.3).
    """
    if not value:
        return None

    value = value.strip()
    if value.isdigit():
        return float(value)

    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - (now or datetime.now(UTC))).total_seconds())
