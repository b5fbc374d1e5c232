"""Sending to LINE through line-bot-sdk, reading LINE's answers and users' images.

Every push carries ``X-Line-Retry-Key``: LINE accepts a key once and answers
409 to any repeat, so a retry after a timeout or a crash can never deliver
twice, and 409 counts as sent
(https://developers.line.biz/en/docs/messaging-api/retrying-api-request/).
The SDK's own retries are off: a retry is the caller's decision.

A reply spends the reply token of a user's event instead: it is free (not
counted against the monthly quota), can be used once, only shortly after the
event, and takes no retry key (LINE answers 400 to one)
(https://developers.line.biz/en/reference/messaging-api/#send-reply-message).
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Sequence
from datetime import timedelta
from typing import Any
from urllib.parse import quote

import urllib3
from linebot.v3.messaging import (
    ApiClient,
    ApiException,
    Configuration,
    MessagingApi,
    PushMessageRequest,
    ReplyMessageRequest,
)
from pydantic.v1 import PrivateAttr

from engine.channels.base import SendResult
from engine.channels.errors import (
    ChannelError,
    PermanentChannelError,
    QuotaExceededError,
    RecipientUnreachableError,
    ReplyTokenRejectedError,
    RetryableChannelError,
    parse_retry_after,
)
from engine.channels.line.render import CHANNEL, render
from engine.channels.messages import Part
from engine.channels.rate_limit import LINE_PUSH_BUDGET, Budget, RateLimiter

logger = logging.getLogger(__name__)

# (connect, read) seconds. LINE answers a push in well under a second; a read
# that takes longer is retried with the same key, which is safe.
TIMEOUT = (3.05, 10.0)
# Connections kept per channel and process, for sends run side by side: one
# for each of a reminder batch's threads (engine.reminders.dispatch).
POOL_SIZE = 64
# SDK clients (one per channel) kept per process; the oldest goes first.
MAX_CLIENTS = 256
QUOTA_MESSAGE = "You have reached your monthly limit."
# LINE's answer to a reply token it will not take (expired, used or unknown).
INVALID_REPLY_TOKEN_MESSAGE = "Invalid reply token"
# How long after its event we still try a reply token (the caller's check).
# LINE only says a token must be used shortly after the event; past this the
# caller pushes at once rather than spend a round trip on a likely refusal.
REPLY_TOKEN_LIFETIME = timedelta(seconds=50)
# What a user sent (an image) is read in full into memory, so it is capped;
# the chat takes no image over 5 MB. The whole download must end within
# CONTENT_SECONDS however slowly LINE trickles it.
CONTENT_MAX_BYTES = 5 * 1024 * 1024
CONTENT_SECONDS = 30.0
DATA_BASE_URL = "https://api-data.line.me"
_CONTENT_CHUNK = 64 * 1024

_REQUEST_ID = "x-line-request-id"
_ACCEPTED_REQUEST_ID = "x-line-accepted-request-id"

_clients: dict[tuple[str, str], ApiClient] = {}
_clients_lock = threading.Lock()


class LineChannel:
    """One LINE Official Account's channel, pushing through the Messaging API.

    ``channel_key`` names its rate-limit bucket ("line:<channel id>"); with a
    ``limiter``, every push first takes a slot of ``budget`` from it, and
    every reply a slot of the same ``budget`` from ``reply_key``'s bucket:
    LINE limits each endpoint of a channel on its own, so reminders pushed
    in bulk never hold back an agent's reply. ``data_base_url`` is where
    LINE serves what users sent (``fetch_content``).
    """

    name = CHANNEL

    def __init__(
        self,
        *,
        access_token: str,
        base_url: str,
        channel_key: str,
        data_base_url: str = DATA_BASE_URL,
        limiter: RateLimiter | None = None,
        budget: Budget = LINE_PUSH_BUDGET,
        timeout: tuple[float, float] = TIMEOUT,
    ) -> None:
        self.channel_key = channel_key
        self.reply_key = f"{channel_key}:reply"
        self.budget = budget
        self._limiter = limiter
        self._timeout = timeout
        self._access_token = access_token
        self._api = MessagingApi(_api_client(base_url, access_token))
        self._data_base_url = data_base_url.rstrip("/")
        self._data = _api_client(self._data_base_url, access_token)

    def send(
        self, recipient_id: str, parts: Sequence[Part], *, retry_key: str
    ) -> SendResult:
        """Push ``parts`` to a LINE user, group or room id, once per ``retry_key``.

        A push to a user who blocked the account is answered 200 and silently
        not delivered (LINE's documented behaviour); only the ``unfollow``
        webhook tells us. Raises ``engine.channels.errors``.
        """
        key = str(uuid.UUID(retry_key))
        request = build_push_request(recipient_id, render(parts))

        if self._limiter is not None:
            self._limiter.acquire(self.channel_key, self.budget)
        try:
            response = self._api.push_message_with_http_info(
                request, x_line_retry_key=key, _request_timeout=self._timeout
            )
        except ApiException as refusal:
            return _answer_to_refusal(refusal, self.channel_key)
        except (urllib3.exceptions.HTTPError, OSError) as failure:
            raise self._unanswered(
                "channels.line.push_unanswered", "push", failure
            ) from failure

        message_ids = tuple(sent.id for sent in response.data.sent_messages or ())
        return SendResult(
            message_ids, request_id=_header(response.headers, _REQUEST_ID)
        )

    def reply(self, reply_token: str, parts: Sequence[Part]) -> SendResult:
        """Reply ``parts`` with the reply token of a user's event (1 to 5 messages).

        Whether the token is still young enough (``REPLY_TOKEN_LIFETIME``)
        is the caller's check. Raises ``ReplyTokenRejectedError`` when LINE
        refuses the token (nothing was sent: push instead), else
        ``engine.channels.errors`` as ``send`` does. A reply that went
        unanswered (``RetryableChannelError``) may still have been
        delivered; trying it again with the same token is safe, but a
        rejection of that second try cannot tell whether the first went out.
        """
        request = build_reply_request(reply_token, render(parts))

        if self._limiter is not None:
            self._limiter.acquire(self.reply_key, self.budget)
        try:
            # No retry key: LINE refuses one on this endpoint with a 400.
            response = self._api.reply_message_with_http_info(
                request, _request_timeout=self._timeout
            )
        except ApiException as refusal:
            raise _refused(
                refusal, self.channel_key, "channels.line.reply_refused"
            ) from None
        except (urllib3.exceptions.HTTPError, OSError) as failure:
            raise self._unanswered(
                "channels.line.reply_unanswered", "reply", failure
            ) from failure

        message_ids = tuple(sent.id for sent in response.data.sent_messages or ())
        return SendResult(
            message_ids, request_id=_header(response.headers, _REQUEST_ID)
        )

    def fetch_content(self, message_id: str) -> tuple[bytes, str]:
        """The bytes and media type ("image/jpeg") of what a user sent.

        Read from LINE's data host, which keeps a message's content only for
        a while. Raises ``PermanentChannelError`` for content over
        ``CONTENT_MAX_BYTES`` (code "content_too_large") or one LINE refuses
        (404: unknown or gone), ``RetryableChannelError`` when LINE does not
        answer in time.
        """
        url = (
            f"{self._data_base_url}/v2/bot/message/{quote(message_id, safe='')}/content"
        )
        # The SDK's own call reads the whole body before we could look at its
        # size, so the request goes through its client with the body unread.
        headers = {
            **self._data.default_headers,
            "Authorization": f"Bearer {self._access_token}",
        }
        try:
            response = self._data.request(
                "GET",
                url,
                headers=headers,
                _preload_content=False,
                _request_timeout=self._timeout,
            )
            return _read_content(response, message_id), _media_type(response)
        except ApiException as refusal:
            raise _refused(
                refusal, self.channel_key, "channels.line.content_refused"
            ) from None
        except (urllib3.exceptions.HTTPError, OSError) as failure:
            raise self._unanswered(
                "channels.line.content_unanswered", "content request", failure
            ) from failure

    def _unanswered(
        self, event: str, what: str, failure: Exception
    ) -> RetryableChannelError:
        logger.warning(
            event,
            extra={"channel_key": self.channel_key, "error": type(failure).__name__},
        )
        return RetryableChannelError(
            CHANNEL,
            f"LINE did not answer the {what} ({type(failure).__name__}).",
            "network",
        )


def _read_content(response: urllib3.BaseHTTPResponse, message_id: str) -> bytes:
    """The body, refused once it passes the cap; the connection always freed."""
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > CONTENT_MAX_BYTES:
        response.close()
        raise _too_large(message_id, int(declared))

    deadline = time.monotonic() + CONTENT_SECONDS
    body = bytearray()
    complete = False
    try:
        for chunk in response.stream(_CONTENT_CHUNK):
            body += chunk
            if len(body) > CONTENT_MAX_BYTES:
                raise _too_large(message_id, len(body))
            if time.monotonic() > deadline:
                raise urllib3.exceptions.TimeoutError("The content took too long.")
        complete = True
    finally:
        # A half-read connection cannot go back to the pool.
        if complete:
            response.release_conn()
        else:
            response.close()
    return bytes(body)


def _too_large(message_id: str, size: int) -> PermanentChannelError:
    logger.warning(
        "channels.line.content_too_large",
        extra={"message_id": message_id, "size": size},
    )
    return PermanentChannelError(
        CHANNEL,
        f"The content of LINE message {message_id!r} is over"
        f" {CONTENT_MAX_BYTES // (1024 * 1024)} MB ({size:,} bytes or more);"
        " it was not downloaded.",
        "content_too_large",
    )


def _media_type(response: urllib3.BaseHTTPResponse) -> str:
    """The Content-Type without its parameters, lower case."""
    value = response.headers.get("Content-Type") or "application/octet-stream"
    return value.split(";", 1)[0].strip().lower()


def _api_client(base_url: str, access_token: str) -> ApiClient:
    """One SDK client per base URL and token in this process, for its pool."""
    key = (base_url, access_token)
    with _clients_lock:
        client = _clients.get(key)
        if client is None:
            if len(_clients) >= MAX_CLIENTS:
                # Not closed: a send in another thread may still be using it.
                del _clients[next(iter(_clients))]
            configuration = Configuration(host=base_url, access_token=access_token)
            configuration.retries = False
            configuration.connection_pool_maxsize = POOL_SIZE
            client = _clients[key] = ApiClient(configuration)
        return client


class RenderedPushRequest(PushMessageRequest):
    """The SDK's push request, carrying our renderer's payload as it is.

    Building the SDK's pydantic models from a payload validates it, and
    ``to_dict`` walks them all again: together about 6 ms of CPU for a text
    and a two-card carousel, more than everything else a send costs. The
    renderer already enforces LINE's limits, which the models do not check,
    and the tests hold every shape it renders to the models
    (tests/channels/test_line_render.py), so a send skips both and hands the
    payload to the SDK's client as is. A shape LINE refuses would come back
    as a 400 with LINE's reason, stored on the send like any refusal.
    """

    _payload: dict[str, Any] = PrivateAttr(default_factory=dict)

    @classmethod
    def of(cls, payload: dict[str, Any]) -> RenderedPushRequest:
        request = cls.construct(to=payload["to"], messages=payload["messages"])
        request._payload = payload
        return request

    def to_dict(self) -> dict[str, Any]:
        return self._payload


class RenderedReplyRequest(ReplyMessageRequest):
    """The SDK's reply request, carrying our payload as it is (see the push's)."""

    _payload: dict[str, Any] = PrivateAttr(default_factory=dict)

    @classmethod
    def of(cls, payload: dict[str, Any]) -> RenderedReplyRequest:
        request = cls.construct(
            reply_token=payload["replyToken"], messages=payload["messages"]
        )
        request._payload = payload
        return request

    def to_dict(self) -> dict[str, Any]:
        return self._payload


def build_push_request(
    recipient_id: str, messages: list[dict[str, Any]]
) -> PushMessageRequest:
    """The SDK's request model for a push of rendered ``messages``."""
    payload = {"to": recipient_id, "messages": messages, "notificationDisabled": False}
    return RenderedPushRequest.of(payload)


def build_reply_request(
    reply_token: str, messages: list[dict[str, Any]]
) -> ReplyMessageRequest:
    """The SDK's request model for a reply of rendered ``messages``."""
    payload = {
        "replyToken": reply_token,
        "messages": messages,
        "notificationDisabled": False,
    }
    return RenderedReplyRequest.of(payload)


def _answer_to_refusal(refusal: ApiException, channel_key: str) -> SendResult:
    """A 409 is a success seen twice; anything else raises the matching error."""
    body = _json_body(refusal.body)
    if refusal.status == 409:
        logger.info("channels.line.push_duplicate", extra={"channel_key": channel_key})
        return SendResult(
            tuple(sent["id"] for sent in body.get("sentMessages", ()) if "id" in sent),
            duplicate=True,
            request_id=_header(refusal.headers, _ACCEPTED_REQUEST_ID),
        )

    raise _refused(refusal, channel_key, "channels.line.push_refused")


def _refused(refusal: ApiException, channel_key: str, event: str) -> ChannelError:
    """The error for a refusal other than a push's 409, logged as ``event``."""
    error = _error_for(refusal.status or 0, _json_body(refusal.body), refusal)
    logger.warning(
        event,
        extra={
            "channel_key": channel_key,
            "status": refusal.status,
            "error": type(error).__name__,
        },
    )
    return error


def _error_for(
    status: int, body: dict[str, Any], refusal: ApiException
) -> ChannelError:
    reason = _reason(body, refusal)
    code = str(status)
    if status == 429 and body.get("message") == QUOTA_MESSAGE:
        return QuotaExceededError(CHANNEL, reason, code)
    if status == 429:
        retry_after = parse_retry_after(_header(refusal.headers, "Retry-After"))
        return RetryableChannelError(CHANNEL, reason, code, retry_after=retry_after)
    if status >= 500 or status == 0:
        return RetryableChannelError(CHANNEL, reason, code)
    if status == 400 and body.get("message") == INVALID_REPLY_TOKEN_MESSAGE:
        return ReplyTokenRejectedError(CHANNEL, reason, code)
    if status == 400 and _names_recipient(body):
        return RecipientUnreachableError(CHANNEL, reason, code)
    return PermanentChannelError(CHANNEL, reason, code)


def _reason(body: dict[str, Any], refusal: ApiException) -> str:
    """LINE's message, followed by its per-property details when it gives them."""
    message = body.get("message") or refusal.reason or "No reason given."
    details = [
        f"{detail.get('property', '?')}: {detail.get('message', '')}"
        for detail in body.get("details", ())
        if isinstance(detail, dict)
    ]
    return f"{message} ({'; '.join(details)})" if details else message


def _names_recipient(body: dict[str, Any]) -> bool:
    """Whether a 400 is about the ``to`` property: an id LINE does not know."""
    properties = [
        detail.get("property")
        for detail in body.get("details", ())
        if isinstance(detail, dict)
    ]
    return "to" in properties or "'to'" in (body.get("message") or "")


def _json_body(raw: Any) -> dict[str, Any]:
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", "replace")
    try:
        body = json.loads(raw) if raw else {}
    except ValueError:
        return {"message": str(raw)[:200]}
    return body if isinstance(body, dict) else {}


def _header(headers: Any, name: str) -> str | None:
    # urllib3's HTTPHeaderDict, which matches names case-insensitively.
    return headers.get(name) if headers else None


def verify_access_token(base_url: str, access_token: str) -> None:
    """Ask LINE whether ``access_token`` works, reading the month's quota.

    Raises ``PermanentChannelError`` with LINE's words when it refuses the
    token, ``RetryableChannelError`` when LINE does not answer or fails.
    """
    try:
        MessagingApi(_api_client(base_url, access_token)).get_message_quota(
            _request_timeout=TIMEOUT
        )
    except ApiException as refusal:
        raise _error_for(
            refusal.status or 0, _json_body(refusal.body), refusal
        ) from None
    except (urllib3.exceptions.HTTPError, OSError) as failure:
        raise RetryableChannelError(
            CHANNEL,
            f"LINE did not answer ({type(failure).__name__}).",
            "network",
        ) from failure
