"""The one client for the Admin GraphQL API.

Every call sets timeouts, paces itself by the cost-based throttle the API
reports in ``extensions.cost.throttleStatus``, and retries throttling, 429s,
5xx answers and network errors with exponential backoff. GraphQL errors in a
200 answer are raised, not returned as data.

A mutation that is not idempotent (the platform offers no idempotency key
for it, e.g. ``storeCreditAccountCredit``) is sent with ``resend=False``:
then only failures that prove the platform did not run it are retried (a
throttled call, a connection never made); a timeout after sending or a 5xx
raises ``OutcomeUnknownError`` instead, for the caller to find out.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from engine.runtime import current
from engine.shopify.errors import (
    AccessRevokedError,
    AdminApiError,
    OutcomeUnknownError,
)
from engine.shops.models import Shop
from engine.shops.tokens import access_token_for, forget_access_token

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
BASE_BACKOFF = 0.5
MAX_BACKOFF = 20.0
# Assumed cost of a query we have not sent yet in this process.
DEFAULT_QUERY_COST = 50
# Transport errors raised before any byte of the request left.
NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


@dataclass
class Bucket:
    """What we last heard of a shop's throttle bucket."""

    available: float
    maximum: float
    restore_rate: float
    seen_at: float

    def available_now(self, now: float) -> float:
        restored = self.available + (now - self.seen_at) * self.restore_rate
        return min(self.maximum, restored)

    def wait_for(self, cost: float, now: float) -> float:
        """Seconds to wait until the bucket holds ``cost`` points."""
        missing = cost - self.available_now(now)
        if missing <= 0 or self.restore_rate <= 0:
            return 0.0
        return missing / self.restore_rate


class ThrottleBook:
    """Per-process record of each shop's bucket and each query's cost."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._buckets: dict[str, Bucket] = {}
        self._costs: dict[str, float] = {}

    def wait_before(self, shop_domain: str, query: str, now: float) -> float:
        with self._lock:
            bucket = self._buckets.get(shop_domain)
            cost = self._costs.get(query, DEFAULT_QUERY_COST)
            return bucket.wait_for(cost, now) if bucket else 0.0

    def record(self, shop_domain: str, query: str, cost: dict, now: float) -> None:
        status = cost.get("throttleStatus") or {}
        with self._lock:
            if "requestedQueryCost" in cost:
                self._costs[query] = float(cost["requestedQueryCost"])
            if status:
                self._buckets[shop_domain] = Bucket(
                    available=float(status["currentlyAvailable"]),
                    maximum=float(status["maximumAvailable"]),
                    restore_rate=float(status["restoreRate"]),
                    seen_at=now,
                )


throttle_book = ThrottleBook()


class AdminApi:
    """Runs GraphQL queries for one shop."""

    def __init__(
        self,
        shop: Shop,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.shop = shop
        self._sleep = sleep
        self._clock = clock
        runtime = current()
        self._http: httpx.Client = runtime.http
        version = runtime.settings.shopify_api_version
        self._url = f"https://{shop.shop_domain}/admin/api/{version}/graphql.json"

    def query(
        self, query: str, variables: dict | None = None, *, resend: bool = True
    ) -> dict[str, Any]:
        """Run a query or mutation and return its ``data``.

        ``resend=False`` for a mutation that must not run twice (see above).

        Raises:
            AccessRevokedError: the shop's token is no longer accepted.
            OutcomeUnknownError: with ``resend=False``, the call may have run.
            AdminApiError: the call failed after all retries, or returned errors.
        """
        for attempt in range(1, MAX_ATTEMPTS + 1):
            self._pace(query)
            outcome = self._attempt(query, variables, resend)
            if isinstance(outcome, dict):
                return outcome

            if attempt == MAX_ATTEMPTS:
                raise AdminApiError(
                    f"Admin API call failed after {MAX_ATTEMPTS} attempts:"
                    f" {outcome.reason}",
                    shop_domain=self.shop.shop_domain,
                    status=outcome.status,
                )
            self._sleep(outcome.delay or _backoff(attempt))

        raise AssertionError("unreachable")

    def _pace(self, query: str) -> None:
        wait = throttle_book.wait_before(self.shop.shop_domain, query, self._clock())
        if wait > 0:
            logger.info(
                "shopify.admin_api.paced",
                extra={"shop_id": self.shop.id, "wait_seconds": round(wait, 2)},
            )
            self._sleep(wait)

    def _attempt(
        self, query: str, variables: dict | None, resend: bool
    ) -> dict | _Retry:
        headers = {
            "X-Shopify-Access-Token": access_token_for(self.shop),
            "Content-Type": "application/json",
        }
        try:
            response = self._http.post(
                self._url,
                json={"query": query, "variables": variables or {}},
                headers=headers,
            )
        except httpx.TransportError as exc:
            if not resend and not isinstance(exc, NOT_SENT):
                raise self._unknown(f"network error {type(exc).__name__}") from exc
            return _Retry(reason=f"network error {type(exc).__name__}")

        if response.status_code == 401:
            forget_access_token(self.shop.id)
            raise AccessRevokedError(
                "The Admin API refused the shop's access token.",
                shop_domain=self.shop.shop_domain,
            )
        if response.status_code == 429:
            return _Retry("429 Too Many Requests", 429, _retry_after(response))
        if response.status_code >= 500:
            if not resend:
                raise self._unknown(f"HTTP {response.status_code}")
            return _Retry(f"HTTP {response.status_code}", response.status_code)
        if response.status_code != 200:
            raise AdminApiError(
                f"The Admin API answered HTTP {response.status_code}.",
                shop_domain=self.shop.shop_domain,
                status=response.status_code,
            )

        return self._read(query, response)

    def _unknown(self, reason: str) -> OutcomeUnknownError:
        return OutcomeUnknownError(
            f"The Admin API may or may not have run the mutation: {reason}.",
            shop_domain=self.shop.shop_domain,
        )

    def _read(self, query: str, response: httpx.Response) -> dict | _Retry:
        body = response.json()
        cost = (body.get("extensions") or {}).get("cost") or {}
        throttle_book.record(self.shop.shop_domain, query, cost, self._clock())

        errors = body.get("errors") or []
        if any(_is_throttled(error) for error in errors):
            wait = throttle_book.wait_before(
                self.shop.shop_domain, query, self._clock()
            )
            return _Retry("throttled", 200, max(wait, BASE_BACKOFF))
        if errors:
            raise AdminApiError(
                "The Admin API returned errors: "
                + "; ".join(str(error.get("message", error)) for error in errors),
                shop_domain=self.shop.shop_domain,
                status=200,
                errors=errors,
            )
        return body.get("data") or {}


@dataclass
class _Retry:
    reason: str
    status: int | None = None
    delay: float | None = None


def _is_throttled(error: dict) -> bool:
    code = (error.get("extensions") or {}).get("code")
    return code == "THROTTLED" or error.get("message") == "Throttled"


def _retry_after(response: httpx.Response) -> float | None:
    try:
        return float(response.headers.get("Retry-After", ""))
    except ValueError:
        return None


def _backoff(attempt: int) -> float:
    # Full jitter, so many workers retrying one shop do not stampede together.
    ceiling = min(MAX_BACKOFF, BASE_BACKOFF * 2 ** (attempt - 1))
    return random.uniform(ceiling / 2, ceiling)
