"""Pushing messages to LINE through line-bot-sdk, and reading LINE's answers.

Every push carries ``X-Line-Retry-Key``: LINE accepts a key once and answers
409 to any repeat, so a retry after a timeout or a crash can never deliver
twice, and 409 counts as sent
(https://developers.line.biz/en/docs/messaging-api/retrying-api-request/).
The SDK's own retries are off: a retry is the caller's decision.
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from collections.abc import Sequence
from typing import Any

import urllib3
from linebot.v3.messaging import (
    ApiClient,
    ApiException,
    Configuration,
    MessagingApi,
    PushMessageRequest,
)
from pydantic.v1 import PrivateAttr

from engine.channels.base import SendResult
from engine.channels.errors import (
    ChannelError,
    PermanentChannelError,
    QuotaExceededError,
    RecipientUnreachableError,
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
# Connections kept per channel and process, for sends run side by side.
POOL_SIZE = 32
# SDK clients (one per channel) kept per process; the oldest goes first.
MAX_CLIENTS = 256
QUOTA_MESSAGE = "You have reached your monthly limit."

_REQUEST_ID = "x-line-request-id"
_ACCEPTED_REQUEST_ID = "x-line-accepted-request-id"

_clients: dict[tuple[str, str], ApiClient] = {}
_clients_lock = threading.Lock()


class LineChannel:
    """One LINE Official Account's channel, pushing through the Messaging API.

    ``channel_key`` names its rate-limit bucket ("line:<channel id>"); with a
    ``limiter``, every push first takes a slot of ``budget`` from it.
    """

    name = CHANNEL

    def __init__(
        self,
        *,
        access_token: str,
        base_url: str,
        channel_key: str,
        limiter: RateLimiter | None = None,
        budget: Budget = LINE_PUSH_BUDGET,
        timeout: tuple[float, float] = TIMEOUT,
    ) -> None:
        self.channel_key = channel_key
        self.budget = budget
        self._limiter = limiter
        self._timeout = timeout
        self._api = MessagingApi(_api_client(base_url, access_token))

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
            logger.warning(
                "channels.line.push_unanswered",
                extra={
                    "channel_key": self.channel_key,
                    "error": type(failure).__name__,
                },
            )
            raise RetryableChannelError(
                CHANNEL,
                f"LINE did not answer the push ({type(failure).__name__}).",
                "network",
            ) from failure

        message_ids = tuple(sent.id for sent in response.data.sent_messages or ())
        return SendResult(
            message_ids, request_id=_header(response.headers, _REQUEST_ID)
        )


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


def build_push_request(
    recipient_id: str, messages: list[dict[str, Any]]
) -> PushMessageRequest:
    """The SDK's request model for a push of rendered ``messages``."""
    payload = {"to": recipient_id, "messages": messages, "notificationDisabled": False}
    return RenderedPushRequest.of(payload)


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

    error = _error_for(refusal.status or 0, body, refusal)
    logger.warning(
        "channels.line.push_refused",
        extra={
            "channel_key": channel_key,
            "status": refusal.status,
            "error": type(error).__name__,
        },
    )
    raise error


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
