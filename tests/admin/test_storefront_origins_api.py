"""Storefront addresses the owner adds for the widget: checked, owner-only, per shop."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from engine.db import db
from engine.shops.models import Shop
from engine.tracking.storefronts import (
    replace_platform_origins,
    set_owner_origins,
    storefront_origins,
)
from plugin.sandbox.shopify_platform import FakeShopifyPlatform
from tests.admin import AGENT_EMAIL, HTTPS, bearer, member, sign_in
from tests.conftest import OTHER_SHOP_DOMAIN, install_shop

PATH = "/api/admin/v1/storefront-origins"


def owner_origins(shop: Shop) -> tuple[str, ...]:
    db.session.expire_all()
    return storefront_origins(shop).owner


def test_owner_replaces_the_added_origins_and_sees_the_stores_own(
    client: FlaskClient, platform: FakeShopifyPlatform, shop: Shop
) -> None:
    # given the store's primary domain, read from the platform
    replace_platform_origins(shop, ["tea-house.example"])
    db.session.commit()

    # when the owner adds two addresses, one twice and in another case
    response = client.put(
        PATH,
        headers=bearer(platform, shop),
        json={
            "origins": [
                " https://TW.Tea-House.example/ ",
                "https://pop-up.example",
                "https://tw.tea-house.example",
            ]
        },
    )

    # then they are stored as browsers send them, apart from the store's own
    assert response.status_code == 200, response.json
    expected = {
        "shop_origin": "https://revisit-test.myshopify.com",
        "store_origins": ["https://tea-house.example"],
        "origins": ["https://pop-up.example", "https://tw.tea-house.example"],
        "max_origins": 20,
    }
    assert response.json == expected
    assert client.get(PATH, headers=bearer(platform, shop)).json == expected


@pytest.mark.parametrize(
    ("entry", "why"),
    [
        ("http://tw.tea-house.example", "must start with https://"),
        ("tw.tea-house.example", "must start with https://"),
        ("https://tw.tea-house.example/zh-tw", "no path, port"),
        ("https://tw.tea-house.example:8443", "no path, port"),
        ("https://tw.tea-house.example/?ref=1", "no path, port"),
        ("https://owner:secret@tw.tea-house.example", "no path, port"),
        ("https://203.0.113.7", "not an IP address"),
        ("https://*.tea-house.example", "not an IP address or a pattern"),
        ("https://localhost", "not an IP address"),
        ("https://other-test.myshopify.com", "myshopify.com address"),
        ("https://", "is not an address"),
    ],
)
def test_a_bad_origin_is_refused_at_its_entry_and_nothing_changes(
    client: FlaskClient, platform: FakeShopifyPlatform, shop: Shop, entry: str, why: str
) -> None:
    # given
    set_owner_origins(shop, ["https://pop-up.example"])
    db.session.commit()

    # when the second entry is bad
    response = client.put(
        PATH,
        headers=bearer(platform, shop),
        json={"origins": ["https://tw.tea-house.example", entry]},
    )

    # then
    assert response.status_code == 422
    assert response.json["code"] == "invalid_storefront_origin"
    assert response.json["field"] == "origins[1]"
    assert why in response.json["detail"]
    assert owner_origins(shop) == ("https://pop-up.example",)


def test_a_non_text_entry_is_refused_at_its_entry(
    client: FlaskClient, platform: FakeShopifyPlatform, shop: Shop
) -> None:
    response = client.put(PATH, headers=bearer(platform, shop), json={"origins": [7]})

    assert response.status_code == 422
    assert response.json["field"] == "origins[0]"
    assert owner_origins(shop) == ()


def test_more_than_twenty_origins_are_refused(
    client: FlaskClient, platform: FakeShopifyPlatform, shop: Shop
) -> None:
    # when
    response = client.put(
        PATH,
        headers=bearer(platform, shop),
        json={"origins": [f"https://shop-{n}.example" for n in range(21)]},
    )

    # then
    assert response.status_code == 422
    assert response.json["field"] == "origins"
    assert "at most 20" in response.json["detail"]
    assert owner_origins(shop) == ()


def test_an_agent_reads_the_origins_but_cannot_change_them(
    client: FlaskClient, shop: Shop
) -> None:
    # given
    set_owner_origins(shop, ["https://pop-up.example"])
    db.session.commit()
    member(shop, AGENT_EMAIL, role="agent")
    csrf = sign_in(client, shop, AGENT_EMAIL)

    # when
    read = client.get(PATH, base_url=HTTPS)
    changed = client.put(
        PATH,
        base_url=HTTPS,
        headers={"X-CSRF-Token": csrf},
        json={"origins": ["https://evil.example"]},
    )

    # then
    assert read.json["origins"] == ["https://pop-up.example"]
    assert changed.status_code == 403
    assert changed.json["code"] == "owner_only"
    assert owner_origins(shop) == ("https://pop-up.example",)


def test_a_signed_in_owner_changes_them_with_the_csrf_token(
    client: FlaskClient, shop: Shop
) -> None:
    # given
    member(shop)
    csrf = sign_in(client, shop)

    # when
    without = client.put(
        PATH, base_url=HTTPS, json={"origins": ["https://pop-up.example"]}
    )
    with_token = client.put(
        PATH,
        base_url=HTTPS,
        headers={"X-CSRF-Token": csrf},
        json={"origins": ["https://pop-up.example"]},
    )

    # then
    assert without.status_code == 403
    assert with_token.status_code == 200
    assert owner_origins(shop) == ("https://pop-up.example",)


def test_another_shops_origins_are_neither_shown_nor_changed(
    client: FlaskClient, platform: FakeShopifyPlatform, shop: Shop
) -> None:
    # given the other shop has its own addresses
    other = install_shop(client, platform, OTHER_SHOP_DOMAIN)
    replace_platform_origins(other, ["other.example"])
    set_owner_origins(other, ["https://other-pop-up.example"])
    db.session.commit()

    # when this shop's owner reads, then empties, its own list
    read = client.get(PATH, headers=bearer(platform, shop))
    emptied = client.put(PATH, headers=bearer(platform, shop), json={"origins": []})

    # then
    assert read.json["store_origins"] == read.json["origins"] == []
    assert emptied.status_code == 200
    db.session.expire_all()
    assert storefront_origins(other).platform == ("https://other.example",)
    assert storefront_origins(other).owner == ("https://other-pop-up.example",)


def test_the_channels_screen_has_the_storefront_section(
    client: FlaskClient, platform: FakeShopifyPlatform, shop: Shop
) -> None:
    token = platform.session_token(shop.shop_domain)

    page = client.get(f"/admin/channels?shop={shop.shop_domain}&id_token={token}")

    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'data-api="PUT /api/admin/v1/storefront-origins"' in html
    assert 'data-field="origins"' in html
