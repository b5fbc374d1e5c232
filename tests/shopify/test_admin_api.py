"""The Admin GraphQL client: throttle pacing, retries, timeouts, revoked access."""

from __future__ import annotations

import contextvars
import socket
import threading
import time
from collections.abc import Callable, Iterator

import httpx
import pytest

from engine.runtime import current
from engine.shopify import http
from engine.shopify.admin_api import MAX_ATTEMPTS, AdminApi, throttle_book
from engine.shopify.errors import (
    AccessRevokedError,
    AdminApiError,
    OutcomeUnknownError,
)
from engine.shopify.queries import SHOP_DETAILS
from engine.shops.models import Shop
from plugin.sandbox.shopify_platform import FakeShopifyPlatform
from tests.conftest import SHOP_DOMAIN


class Sleeps(list):
    """Records the pauses the client asks for instead of sleeping."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture(autouse=True)
def fresh_throttle_book() -> None:
    throttle_book.__init__()


def test_query_returns_data(shop: Shop) -> None:
    data = AdminApi(shop).query(SHOP_DETAILS)

    assert data["shop"]["myshopifyDomain"] == SHOP_DOMAIN


@pytest.mark.parametrize("fault", [429, 500, 502, 503])
def test_query_retries_transient_failures(
    shop: Shop, platform: FakeShopifyPlatform, fault: int
) -> None:
    # given two failures in a row
    platform.inject_faults("graphql", [fault, fault])
    sleeps = Sleeps()

    # when
    data = AdminApi(shop, sleep=sleeps).query(SHOP_DETAILS)

    # then it waited twice and got the answer on the third call
    assert data["shop"]["myshopifyDomain"] == SHOP_DOMAIN
    assert len(sleeps) == 2
    assert platform.graphql_calls == 3


def test_query_honours_retry_after_on_429(
    shop: Shop, platform: FakeShopifyPlatform
) -> None:
    platform.inject_faults("graphql", [429])
    sleeps = Sleeps()

    AdminApi(shop, sleep=sleeps).query(SHOP_DETAILS)

    assert sleeps == [1.0]


def test_query_gives_up_after_max_attempts(
    shop: Shop, platform: FakeShopifyPlatform
) -> None:
    platform.inject_faults("graphql", [500] * 5)

    with pytest.raises(AdminApiError) as error:
        AdminApi(shop, sleep=Sleeps()).query(SHOP_DETAILS)

    assert error.value.status == 500
    assert platform.graphql_calls == 5


def test_query_raises_revoked_after_uninstall(
    shop: Shop, platform: FakeShopifyPlatform
) -> None:
    platform.uninstall(SHOP_DOMAIN)

    with pytest.raises(AccessRevokedError):
        AdminApi(shop, sleep=Sleeps()).query(SHOP_DETAILS)

    assert platform.graphql_calls == 1


def test_query_raises_graphql_errors(shop: Shop) -> None:
    with pytest.raises(AdminApiError) as error:
        AdminApi(shop, sleep=Sleeps()).query("{ shop { noSuchField } }")

    assert "noSuchField" in str(error.value)


def test_query_waits_for_bucket_when_throttled(
    shop: Shop, platform: FakeShopifyPlatform
) -> None:
    # given a shop whose bucket the last answer reported as nearly empty
    api = AdminApi(shop, sleep=Sleeps(), clock=lambda: 100.0)
    api.query(SHOP_DETAILS)
    throttle_book.record(
        SHOP_DOMAIN,
        SHOP_DETAILS,
        {
            "requestedQueryCost": 40,
            "throttleStatus": {
                "maximumAvailable": 2000,
                "currentlyAvailable": 0,
                "restoreRate": 100,
            },
        },
        100.0,
    )
    sleeps = Sleeps()

    # when
    AdminApi(shop, sleep=sleeps, clock=lambda: 100.0).query(SHOP_DETAILS)

    # then it paused until 40 points were restored at 100 per second
    assert sleeps[0] == pytest.approx(0.4)


class PlatformSleeps(Sleeps):
    """Pauses that pass on the fake platform's clock, which stands still else."""

    def __init__(self, platform: FakeShopifyPlatform) -> None:
        super().__init__()
        self.platform = platform
        frozen = platform.current_time()
        platform.now = lambda: frozen

    def __call__(self, seconds: float) -> None:
        super().__call__(seconds)
        self.platform.advance_clock(seconds)


def test_query_retries_throttled_answer(
    shop: Shop, platform: FakeShopifyPlatform
) -> None:
    # given a bucket drained on the platform's side, whose clock moves only
    # when the client pauses (a slow machine must not refill it meanwhile)
    sleeps = PlatformSleeps(platform)
    platform.drain_bucket(SHOP_DOMAIN)

    # when
    data = AdminApi(shop, sleep=sleeps).query(SHOP_DETAILS)

    # then the throttled answer was retried after a pause, not raised
    assert data["shop"]["myshopifyDomain"] == SHOP_DOMAIN
    assert len(sleeps) >= 1


def test_mutation_sent_once_raises_when_its_outcome_is_unknown(
    shop: Shop, platform: FakeShopifyPlatform
) -> None:
    # given a 502 after the request went out (it may have run)
    platform.inject_faults("graphql", [502])
    calls = platform.graphql_calls

    # when a mutation that must not run twice is sent
    with pytest.raises(OutcomeUnknownError) as unknown:
        AdminApi(shop, sleep=Sleeps()).query(SHOP_DETAILS, resend=False)

    # then it was not sent again
    assert platform.graphql_calls == calls + 1
    assert "may or may not have run" in str(unknown.value)


def test_mutation_sent_once_still_retries_what_never_ran(
    shop: Shop, platform: FakeShopifyPlatform
) -> None:
    # given a 429 (the platform refused to run it)
    platform.inject_faults("graphql", [429])
    sleeps = Sleeps()

    # when
    data = AdminApi(shop, sleep=sleeps).query(SHOP_DETAILS, resend=False)

    # then it was retried and answered
    assert data["shop"]["myshopifyDomain"] == SHOP_DOMAIN
    assert sleeps == [1.0]


# --- timeouts -----------------------------------------------------------------

# Short enough for a test; every other limit stays the client's own.
READ_TIMEOUT = 0.3
# What a loaded machine may add to each attempt's wait, at most.
SLACK_SECONDS = 2.0


class SilentPlatform:
    """A platform that takes every connection and request and never answers."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        # accept() wakes up to see whether the platform was closed.
        self._listener.settimeout(0.05)
        self._closed = threading.Event()
        self._connections: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._listener.getsockname()[1]}"

    @property
    def connections(self) -> int:
        return len(self._connections)

    def close(self) -> None:
        self._closed.set()
        self._thread.join(5)
        self._listener.close()
        for connection in self._connections:
            connection.close()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                connection, _ = self._listener.accept()
            except TimeoutError:
                continue
            self._connections.append(connection)


@pytest.fixture
def silent_platform(
    shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> Iterator[SilentPlatform]:
    """The shop's Admin API calls go to a platform that never answers, through
    the client the app builds, with a short read timeout."""
    silent = SilentPlatform()
    runtime = current()
    monkeypatch.setattr(
        http,
        "TIMEOUT",
        httpx.Timeout(
            connect=http.TIMEOUT.connect,
            read=READ_TIMEOUT,
            write=http.TIMEOUT.write,
            pool=http.TIMEOUT.pool,
        ),
    )
    client = http.make_http_client(
        runtime.settings.with_overrides(shopify_base_url=silent.url)
    )
    monkeypatch.setattr(runtime, "http", client)
    yield silent
    client.close()
    silent.close()


def test_http_client_sets_every_timeout(shop: Shop) -> None:
    timeout = current().http.timeout

    assert timeout == http.TIMEOUT
    assert None not in (timeout.connect, timeout.read, timeout.write, timeout.pool)


def test_query_to_a_platform_that_never_answers_times_out_and_retries(
    shop: Shop, silent_platform: SilentPlatform
) -> None:
    # given
    sleeps = Sleeps()
    started = time.monotonic()

    # when
    error = _raised_within(
        MAX_ATTEMPTS * (READ_TIMEOUT + SLACK_SECONDS),
        lambda: AdminApi(shop, sleep=sleeps).query(SHOP_DETAILS),
    )

    # then each attempt ended at the read timeout, and it gave up after them all
    elapsed = time.monotonic() - started
    assert isinstance(error, AdminApiError)
    assert str(error) == (
        f"Admin API call failed after {MAX_ATTEMPTS} attempts:"
        " network error ReadTimeout"
    )
    assert silent_platform.connections == MAX_ATTEMPTS
    assert len(sleeps) == MAX_ATTEMPTS - 1
    assert MAX_ATTEMPTS * READ_TIMEOUT <= elapsed
    assert elapsed < MAX_ATTEMPTS * READ_TIMEOUT + SLACK_SECONDS


def test_mutation_sent_once_to_a_platform_that_never_answers_is_not_resent(
    shop: Shop, silent_platform: SilentPlatform
) -> None:
    # given
    sleeps = Sleeps()
    started = time.monotonic()

    # when a mutation that must not run twice times out after it was sent
    unknown = _raised_within(
        READ_TIMEOUT + SLACK_SECONDS,
        lambda: AdminApi(shop, sleep=sleeps).query(SHOP_DETAILS, resend=False),
    )

    # then it ended at the read timeout, once, for the caller to find out
    elapsed = time.monotonic() - started
    assert isinstance(unknown, OutcomeUnknownError)
    assert "network error ReadTimeout" in str(unknown)
    assert silent_platform.connections == 1
    assert sleeps == []
    assert READ_TIMEOUT <= elapsed < READ_TIMEOUT + SLACK_SECONDS


def _raised_within(limit: float, call: Callable[[], object]) -> BaseException | None:
    """What ``call`` raised, run in a thread that may take ``limit`` seconds.

    A call without a timeout would wait for the silent platform for ever;
    this fails the test instead of hanging the run.
    """
    raised: list[BaseException] = []

    def run() -> None:
        try:
            call()
        except BaseException as exc:  # noqa: BLE001  (handed to the test)
            raised.append(exc)

    # The copied context carries the test's app context into the thread.
    thread = threading.Thread(
        target=contextvars.copy_context().run, args=(run,), daemon=True
    )
    thread.start()
    thread.join(limit)
    assert not thread.is_alive(), f"the call still waits after {limit} s"
    return raised[0] if raised else None
