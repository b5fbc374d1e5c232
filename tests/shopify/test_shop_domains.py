"""The store's domains, read from the platform, are where the widget may run."""

from __future__ import annotations

import pytest

from engine.db import db
from engine.shopify.reconcile import reconcile_shop
from engine.shops import jobs
from engine.shops.jobs import sync_shop_details
from engine.shops.models import Shop
from engine.tracking.storefronts import set_owner_origins, storefront_origins
from plugin.sandbox.shopify_platform import FakeShopifyPlatform


def origins(shop: Shop) -> tuple[tuple[str, ...], tuple[str, ...]]:
    db.session.expire_all()
    found = storefront_origins(shop)
    return found.platform, found.owner


def test_sync_allows_the_primary_domain_and_the_markets_domains(
    shop: Shop, platform: FakeShopifyPlatform
) -> None:
    # given a store on its own domain, with a market on another
    platform.set_domains(
        shop.shop_domain, "tea-house.example", ["tw.tea-house.example"]
    )

    # when
    sync_shop_details(shop.id)

    # then every domain but the always-allowed myshopify.com one is stored
    assert origins(shop) == (
        ("https://tea-house.example", "https://tw.tea-house.example"),
        (),
    )


def test_a_changed_primary_domain_replaces_the_old_and_the_owners_stay(
    shop: Shop, platform: FakeShopifyPlatform
) -> None:
    # given the store's domains were synced, and the owner added one
    platform.set_domains(shop.shop_domain, "tea-house.example", [])
    sync_shop_details(shop.id)
    set_owner_origins(shop, ["https://pop-up.example"])
    db.session.commit()

    # when the merchant moves the store to a new primary domain
    platform.set_domains(shop.shop_domain, "teahouse.example", [])
    sync_shop_details(shop.id)

    # then
    assert origins(shop) == (
        ("https://teahouse.example",),
        ("https://pop-up.example",),
    )


def test_reconciliation_picks_up_a_domain_added_later(
    shop: Shop, platform: FakeShopifyPlatform
) -> None:
    # given
    platform.set_domains(shop.shop_domain, "tea-house.example", [])
    sync_shop_details(shop.id)

    # when a market's domain is connected, and reconciliation runs
    platform.set_domains(
        shop.shop_domain, "tea-house.example", ["jp.tea-house.example"]
    )
    reconcile_shop(shop.id)

    # then
    assert origins(shop)[0] == (
        "https://jp.tea-house.example",
        "https://tea-house.example",
    )


def test_domains_the_platform_will_not_list_leave_the_stored_ones_alone(
    shop: Shop, platform: FakeShopifyPlatform, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a market's domain synced earlier
    platform.set_domains(
        shop.shop_domain, "tea-house.example", ["tw.tea-house.example"]
    )
    sync_shop_details(shop.id)

    # when an API version without the domain list answers with an error
    platform.set_domains(shop.shop_domain, "teahouse.example", [])
    monkeypatch.setattr(
        jobs, "STOREFRONT_DOMAINS", "{ shop { primaryDomain { host } hosts } }"
    )
    sync_shop_details(shop.id)

    # then the new primary domain is added and nothing is dropped
    db.session.expire_all()
    assert db.session.get(Shop, shop.id).name is not None
    assert origins(shop)[0] == (
        "https://tea-house.example",
        "https://teahouse.example",
        "https://tw.tea-house.example",
    )
