"""The Admin GraphQL client: throttle pacing, retries, timeouts, revoked access."""

from __future__ import annotations

import pytest

from engine.shopify.admin_api import AdminApi, throttle_book
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
