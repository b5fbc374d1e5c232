"""Sending to Messenger through the Graph API Send endpoint, and reading its errors.

Cart reminders are promotional, so they go only as ``messaging_type:
RESPONSE`` inside the 24 hours after the shopper's last message to the Page.
Reminders never use message tags: Meta's policy forbids promotional content
(deals, offers, coupons, discounts) in tagged messages, and an abandoned-cart
reminder is exactly that
(https://developers.facebook.com/docs/messenger-platform/send-messages/message-tags,
https://developers.facebook.com/docs/messenger-platform/policy/policy-overview).
The one tag sent is ``HUMAN_AGENT``, and only for what a person on the
store's team wrote in the chat (``send(..., human_agent=True)``): it lets a
human reply reach the shopper up to 7 days after their last message, where
the Page has Meta's Human Agent permission. Never pass it for anything
automated.

The Send API has no retry key. Each part is one call, so after each accepted
call we note its message id in Redis under the caller's retry key for a day;
a retry skips the parts already accepted. A crash between Meta's answer and
that note can still repeat one part: the gap LINE's retry key closes and
Messenger leaves open.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import httpx
from redis import Redis

from engine.channels.base import SendResult
from engine.channels.errors import (
    ChannelError,
    OutsideWindowError,
    PermanentChannelError,
    RecipientUnreachableError,
    RetryableChannelError,
    parse_retry_after,
)
from engine.channels.messages import Part
from engine.channels.messenger.render import CHANNEL, render
from engine.channels.rate_limit import MESSENGER_SEND_BUDGET, Budget, RateLimiter

logger = logging.getLogger(__name__)

TIMEOUT = httpx.Timeout(connect=3.0, read=10.0, write=10.0, pool=5.0)
SENT_MARKER_SECONDS = 24 * 60 * 60
SENT_MARKER_PREFIX = "revisit:channels:messenger:sent:"

# Graph error codes (https://developers.facebook.com/docs/messenger-platform/error-codes).
_OUTSIDE_WINDOW = (10, 2018278)
_NO_MATCHING_USER = (100, 2018001)
_UNAVAILABLE_SUBCODE = 1545041
_RATE_LIMIT_CODES = frozenset({4, 17, 32, 613})
# 1 and 2 are "unknown" / "unexpected, retry later"; 1200 is "temporary send
# message failure". Code 2 can also mean the shopper blocked the business;
# retries then run out and the failure is stored like any other.
_TEMPORARY_CODES = frozenset({1, 2, 1200})


class MessengerChannel:
    """One Facebook Page, sending with its Page access token.

    ``channel_key`` names its rate-limit bucket ("messenger:<page id>"); with
    a ``limiter`` every Send API call first takes a slot of ``budget``. With
    ``redis``, accepted parts are remembered per retry key (see the module).
    """

    name = CHANNEL

    def __init__(
        self,
        *,
        page_id: str,
        page_access_token: str,
        base_url: str,
        http: httpx.Client,
        redis: Redis | None = None,
        limiter: RateLimiter | None = None,
        budget: Budget = MESSENGER_SEND_BUDGET,
        timeout: httpx.Timeout = TIMEOUT,
    ) -> None:
        self.page_id = page_id
        self.channel_key = f"messenger:{page_id}"
        self.budget = budget
        self._token = page_access_token
        self._url = f"{base_url.rstrip('/')}/{page_id}/messages"
        self._http = http
        self._redis = redis
        self._limiter = limiter
        self._timeout = timeout

    def send(
        self,
        recipient_id: str,
        parts: Sequence[Part],
        *,
        retry_key: str,
        human_agent: bool = False,
    ) -> SendResult:
        """Send each part to a page-scoped id (PSID) in order, one call per part.

        ``duplicate`` is true when every part had already been accepted under
        this ``retry_key``. ``human_agent`` tags the parts ``HUMAN_AGENT``
        (a team member's own reply only, see the module). Raises
        ``engine.channels.errors``: ``OutsideWindowError`` past the 24 hours
        (7 days with ``human_agent``), ``PermanentChannelError`` when the
        Page may not use the tag; a failure part-way leaves the accepted
        parts noted, so a retry resumes after them.
        """
        messages = render(parts)

        message_ids: list[str] = []
        already_sent = 0
        for index, message in enumerate(messages):
            marker = f"{SENT_MARKER_PREFIX}{self.page_id}:{retry_key}:{index}"
            known = self._redis.get(marker) if self._redis is not None else None
            if known is not None:
                message_ids.append(
                    known.decode() if isinstance(known, bytes) else known
                )
                already_sent += 1
                continue

            message_id = self._post(recipient_id, message, human_agent)
            if self._redis is not None:
                self._redis.set(marker, message_id, ex=SENT_MARKER_SECONDS)
            message_ids.append(message_id)

        return SendResult(tuple(message_ids), duplicate=already_sent == len(messages))

    def _post(
        self, recipient_id: str, message: dict[str, Any], human_agent: bool
    ) -> str:
        if self._limiter is not None:
            self._limiter.acquire(self.channel_key, self.budget)

        body: dict[str, Any] = {"recipient": {"id": recipient_id}}
        if human_agent:
            body |= {"messaging_type": "MESSAGE_TAG", "tag": "HUMAN_AGENT"}
        else:
            body["messaging_type"] = "RESPONSE"
        body["message"] = message
        try:
            response = self._http.post(
                self._url,
                params={"access_token": self._token},
                json=body,
                timeout=self._timeout,
            )
        except httpx.TransportError as failure:
            logger.warning(
                "channels.messenger.send_unanswered",
                extra={"page_id": self.page_id, "error": type(failure).__name__},
            )
            raise RetryableChannelError(
                CHANNEL,
                f"Messenger did not answer the send ({type(failure).__name__}).",
                "network",
            ) from failure

        payload = _json_body(response)
        if response.status_code == 200 and payload.get("message_id"):
            return str(payload["message_id"])

        error = _error_for(response, payload)
        logger.warning(
            "channels.messenger.send_refused",
            extra={
                "page_id": self.page_id,
                "status": response.status_code,
                "code": error.code,
                "error": type(error).__name__,
            },
        )
        raise error


def _error_for(response: httpx.Response, payload: dict[str, Any]) -> ChannelError:
    error = payload.get("error") if isinstance(payload.get("error"), dict) else {}
    code = _int(error.get("code"))
    subcode = _int(error.get("error_subcode"))
    reason = str(error.get("message") or f"HTTP {response.status_code} with no error.")
    code_text = f"{code}/{subcode}" if subcode else (str(code) if code else None)
    code_text = code_text or str(response.status_code)

    if (code, subcode) == _OUTSIDE_WINDOW or (
        code == 10 and "outside of allowed window" in reason
    ):
        return OutsideWindowError(CHANNEL, reason, code_text)
    if (
        code == 551
        or subcode == _UNAVAILABLE_SUBCODE
        or (code, subcode) == _NO_MATCHING_USER
    ):
        return RecipientUnreachableError(CHANNEL, reason, code_text)
    if code in _RATE_LIMIT_CODES or response.status_code == 429:
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        return RetryableChannelError(
            CHANNEL, reason, code_text, retry_after=retry_after
        )
    if code in _TEMPORARY_CODES or response.status_code >= 500:
        return RetryableChannelError(CHANNEL, reason, code_text)
    # 190 (the Page token expired or was revoked) lands here too: the merchant
    # must reconnect the Page, and the reason says so in Meta's words.
    return PermanentChannelError(CHANNEL, reason, code_text)


def _json_body(response: httpx.Response) -> dict[str, Any]:
    try:
        payload = response.json()
    except ValueError:
        return {}
    return payload if isinstance(payload, dict) else {}


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def page_of_token(base_url: str, http: httpx.Client, page_access_token: str) -> str:
    """The id of the Facebook Page a Page access token belongs to (``GET /me``).

    Raises ``PermanentChannelError`` with the platform's words when it
    refuses the token, ``RetryableChannelError`` when it does not answer.
    """
    try:
        response = http.get(
            f"{base_url}/me",
            params={"fields": "id,name", "access_token": page_access_token},
            timeout=TIMEOUT,
        )
    except httpx.TransportError as failure:
        raise RetryableChannelError(
            CHANNEL,
            f"Messenger did not answer ({type(failure).__name__}).",
            "network",
        ) from failure
    payload = _json_body(response)
    if response.status_code != 200 or "id" not in payload:
        raise _error_for(response, payload)
    return str(payload["id"])


# What the app must hear about from a shop's Page: messages (chat, STOP, the
# one-time codes), button taps (postbacks, binding in a new thread) and m.me
# referrals into an existing thread.
PAGE_WEBHOOK_FIELDS = ("messages", "messaging_postbacks", "messaging_referrals")


def subscribe_page(
    base_url: str, http: httpx.Client, page_id: str, page_access_token: str
) -> None:
    """Subscribe our Meta app to the Page's webhooks (``POST subscribed_apps``).

    Meta delivers a Page's events to an app only once the Page subscribed it,
    for the fields both the app and the Page chose; the token must carry
    ``pages_manage_metadata``. Raises as ``page_of_token`` does.
    """
    try:
        response = http.post(
            f"{base_url}/{page_id}/subscribed_apps",
            params={
                "subscribed_fields": ",".join(PAGE_WEBHOOK_FIELDS),
                "access_token": page_access_token,
            },
            timeout=TIMEOUT,
        )
    except httpx.TransportError as failure:
        raise RetryableChannelError(
            CHANNEL,
            f"Messenger did not answer ({type(failure).__name__}).",
            "network",
        ) from failure
    payload = _json_body(response)
    if response.status_code != 200 or payload.get("success") is not True:
        raise _error_for(response, payload)
