"""The demo storefront: pages with the app embed, the Ajax Cart API, cart webhooks."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from flask.testing import FlaskClient

from engine.shopify.rewards import CREATE_DISCOUNT_CODE
from plugin.sandbox.shopify_platform import FakeShopifyPlatform
from plugin.sandbox.storefront import (
    open_storefront,
    storefronts_of,
    wait_for_webhooks,
)

SHOP = "pet-store.myshopify.com"
ROOT = f"/store/{SHOP}/"
APP_URL = "https://revisit.example.com"
CONFIG = re.compile(
    r'<script type="application/json" id="revisit-config">(.*?)</script>', re.S
)


@pytest.fixture
def store(platform: FakeShopifyPlatform) -> FakeShopifyPlatform:
    platform.reset()
    platform.add_shop(SHOP, name="Revisit Demo Pet Supply")
    open_storefront(platform, SHOP, app_url=APP_URL, widget_key="wk_pets")
    return platform


@pytest.fixture
def shopper(store: FakeShopifyPlatform) -> FlaskClient:
    return store.wsgi_app.test_client()


@pytest.fixture
def webhooks(
    store: FakeShopifyPlatform, monkeypatch: pytest.MonkeyPatch
) -> Iterator[list[tuple[str, str, dict[str, Any]]]]:
    sent: list[tuple[str, str, dict[str, Any]]] = []

    def record(url: str, topic: str, shop: str, payload: dict, **headers: str) -> int:
        sent.append((url, topic, payload))
        return 200

    monkeypatch.setattr(store, "deliver_webhook", record)
    yield sent
    wait_for_webhooks(store)


def config_of(page: str) -> dict[str, Any]:
    return json.loads(CONFIG.search(page).group(1))


def test_product_page_renders_the_app_embed_config(shopper: FlaskClient) -> None:
    # when a shopper opens a product page
    response = shopper.get(ROOT + "products/rope-tug")

    # then it carries the embed's config for this page, then the deferred loader
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert config_of(page) == {
        "version": 1,
        "app_url": APP_URL,
        "widget_key": "wk_pets",
        "position": "bottom-right",
        "shop": SHOP,
        "locale": "en",
        "page_type": "product",
        "design_mode": False,
        "product_id": 8100000000003,
        "product_handle": "rope-tug",
        "customer_id_hint": None,
        "labels": {"open": "Open Revisit", "close": "Close"},
    }
    assert re.search(
        r'</script>\n<script src="/cdn/extensions/revisit-widget/assets/'
        r'revisit-loader\.js\?v=\w+" defer></script>\n</body>',
        page,
    )


def test_store_without_the_embed_switched_on_renders_no_config(
    store: FakeShopifyPlatform, shopper: FlaskClient
) -> None:
    # given a store whose merchant has not switched the app embed on
    open_storefront(store, SHOP, app_url=APP_URL)

    # when a shopper opens the home page
    page = shopper.get(ROOT).get_data(as_text=True)

    # then the page has no config and no loader
    assert "revisit-config" not in page
    assert "revisit-loader" not in page


def test_unknown_shop_has_no_storefront(shopper: FlaskClient) -> None:
    # when a shopper asks for a shop the platform does not have
    response = shopper.get("/store/nobody.myshopify.com/")

    # then there is nothing there
    assert response.status_code == 404


def test_add_js_answers_the_line_and_sets_the_cart_cookie(
    shopper: FlaskClient, webhooks: list
) -> None:
    # when the theme adds two of a variant
    response = shopper.post(
        ROOT + "cart/add.js", json={"items": [{"id": 45100000000031, "quantity": 2}]}
    )

    # then it answers the line, and the cart (from the cookie) holds it
    [line] = response.get_json()["items"]
    assert (line["variant_id"], line["product_id"], line["quantity"]) == (
        45100000000031,
        8100000000003,
        2,
    )
    assert line["key"].startswith("45100000000031:")
    cart = shopper.get(ROOT + "cart.js").get_json()
    assert (cart["item_count"], cart["total_price"], cart["currency"]) == (
        2,
        64000,
        "TWD",
    )
    assert re.fullmatch(r"[0-9a-f]{32}\?key=[0-9a-f]{32}", cart["token"])


def test_change_js_sets_a_quantity_and_zero_removes_the_line(
    shopper: FlaskClient, webhooks: list
) -> None:
    # given a cart with one rope toy and one leash
    shopper.post(ROOT + "cart/add.js", data={"id": "45100000000031"})
    line = shopper.post(ROOT + "cart/add.js", data={"id": "45100000000041"}).get_json()

    # when the theme raises the rope toy to 3 (by variant) and drops the leash (key)
    shopper.post(ROOT + "cart/change.js", json={"id": 45100000000031, "quantity": 3})
    cart = shopper.post(
        ROOT + "cart/change.js", data={"id": line["key"], "quantity": "0"}
    ).get_json()

    # then the cart answered is the new one
    assert [(item["variant_id"], item["quantity"]) for item in cart["items"]] == [
        (45100000000031, 3)
    ]
    assert cart["total_price"] == 96000


def test_update_js_and_clear_js_change_the_cart(
    shopper: FlaskClient, webhooks: list
) -> None:
    # when the theme sets quantities by variant, then clears the cart
    updated = shopper.post(
        ROOT + "cart/update.js",
        json={"updates": {"45100000000021": 2, "45100000000061": 1}},
    ).get_json()
    cleared = shopper.post(ROOT + "cart/clear.js").get_json()

    # then both answer the cart as it became
    assert updated["item_count"] == 3
    assert (cleared["item_count"], cleared["items"]) == (0, [])


def test_add_js_refuses_an_unknown_variant(
    store: FakeShopifyPlatform, shopper: FlaskClient, webhooks: list
) -> None:
    # when the theme adds a variant the shop does not sell
    response = shopper.post(ROOT + "cart/add.js", json={"id": 1, "quantity": 1})

    # then it gets Shopify's cart error, and no webhook goes out
    assert response.status_code == 404
    assert response.get_json() == {
        "status": 404,
        "message": "Cart Error",
        "description": "Cannot find variant",
    }
    wait_for_webhooks(store)
    assert webhooks == []


def test_form_post_to_cart_add_lands_on_the_cart(
    shopper: FlaskClient, webhooks: list
) -> None:
    # when a plain form posts to /cart/add
    response = shopper.post(ROOT + "cart/add", data={"id": "45100000000041"})

    # then the shopper is sent to the cart page, which lists the line
    assert response.status_code == 302
    assert response.headers["Location"] == ROOT + "cart"
    assert "Reflective Dog Leash" in shopper.get(ROOT + "cart").get_data(as_text=True)


def test_cart_changes_send_carts_create_then_carts_update(
    store: FakeShopifyPlatform, shopper: FlaskClient, webhooks: list
) -> None:
    # when a shopper adds a product, then a second one
    shopper.post(ROOT + "cart/add.js", data={"id": "45100000000011"})
    shopper.post(ROOT + "cart/add.js", data={"id": "45100000000051", "quantity": "2"})
    wait_for_webhooks(store)

    # then the platform sent carts/create, then carts/update, to the app
    assert [(url, topic) for url, topic, _ in webhooks] == [
        (f"{APP_URL}/webhooks/shopify", "carts/create"),
        (f"{APP_URL}/webhooks/shopify", "carts/update"),
    ]
    payload = webhooks[1][2]
    assert payload["id"] == payload["token"]
    assert [
        (item["variant_id"], item["quantity"], item["line_price"])
        for item in payload["line_items"]
    ] == [(45100000000011, 1, "180.00"), (45100000000051, 2, "2580.00")]


def test_a_refused_cart_webhook_is_sent_again_under_the_same_id(
    store: FakeShopifyPlatform,
    shopper: FlaskClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given an app that answers the first delivery 503
    attempts: list[tuple[str, str]] = []

    def flaky(url: str, topic: str, shop: str, payload: dict, **headers: str) -> int:
        attempts.append((topic, headers["webhook_id"]))
        return 503 if len(attempts) == 1 else 200

    monkeypatch.setattr(store, "deliver_webhook", flaky)
    monkeypatch.setattr(storefronts_of(store).webhooks, "RETRY_DELAYS", (0.01,))

    # when a shopper adds a product
    shopper.post(ROOT + "cart/add.js", data={"id": "45100000000011"})
    wait_for_webhooks(store)

    # then carts/create went twice, both times as the same webhook
    assert [topic for topic, _ in attempts] == ["carts/create", "carts/create"]
    assert attempts[0][1] == attempts[1][1]


def test_product_images_are_svg_drawings(shopper: FlaskClient) -> None:
    # when the page asks for a product's picture
    response = shopper.get(ROOT + "images/donut-bed.svg")

    # then it is a 600×600 SVG named after the product
    assert response.mimetype == "image/svg+xml"
    assert 'width="600" height="600"' in response.get_data(as_text=True)
    assert 'aria-label="Cozy Donut Pet Bed"' in response.get_data(as_text=True)


def _make_code(store: FakeShopifyPlatform, code: str, **changes: Any) -> None:
    basic = {
        "title": "Bonus",
        "code": code,
        "startsAt": "2026-01-01T00:00:00Z",
        "endsAt": "2030-01-01T00:00:00Z",
        "context": {"all": "ALL"},
        "customerGets": {
            "value": {"discountAmount": {"amount": "50.00"}},
            "items": {"all": True},
        },
        "usageLimit": 1,
        **changes,
    }
    answer = store.run_graphql(
        SHOP,
        frozenset({"write_discounts"}),
        {"query": CREATE_DISCOUNT_CODE, "variables": {"basicCodeDiscount": basic}},
    )
    assert answer["data"]["discountCodeBasicCreate"]["userErrors"] == []


def test_discount_link_applies_the_code_to_the_cart(
    store: FakeShopifyPlatform, shopper: FlaskClient, webhooks: list
) -> None:
    # given a code on the platform and a cart of TWD 320
    _make_code(store, "BONUS-ROPE")
    shopper.post(ROOT + "cart/add.js", json={"id": 45_100_000_000_031, "quantity": 1})

    # when the shopper follows the code's link
    response = shopper.get(
        ROOT + "discount/BONUS-ROPE", query_string={"redirect": ROOT + "cart"}
    )

    # then they land on the cart, which shows the code taken off the total
    assert response.status_code == 302
    assert response.headers["Location"] == ROOT + "cart"
    cart = shopper.get(ROOT + "cart.js").get_json()
    assert cart["discount_codes"] == [{"code": "BONUS-ROPE", "applicable": True}]
    assert (cart["total_discount"], cart["total_price"]) == (5000, 27000)
    assert cart["cart_level_discount_applications"][0]["title"] == "BONUS-ROPE"
    page = shopper.get(ROOT + "cart").get_data(as_text=True)
    assert "Discount BONUS-ROPE: <strong>−TWD 50</strong>" in page


def test_discount_link_never_leads_off_the_store(
    store: FakeShopifyPlatform, shopper: FlaskClient
) -> None:
    # when a link's redirect points elsewhere
    response = shopper.get(
        ROOT + "discount/ANY", query_string={"redirect": "https://evil.example/"}
    )

    # then it goes to the store's home instead
    assert response.headers["Location"] == ROOT


@pytest.mark.parametrize(
    ("code", "refusal"),
    [
        ("NO-SUCH-CODE", "This discount code doesn't exist."),
        ("BONUS-OLD", "This discount code isn't valid right now."),
    ],
)
def test_unusable_code_is_shown_as_not_applied(
    store: FakeShopifyPlatform,
    shopper: FlaskClient,
    webhooks: list,
    code: str,
    refusal: str,
) -> None:
    # given an expired code, and a cart
    _make_code(store, "BONUS-OLD", endsAt="2026-02-01T00:00:00Z")
    shopper.post(ROOT + "cart/add.js", json={"id": 45_100_000_000_031, "quantity": 1})

    # when the shopper follows a link with an unusable code
    shopper.get(ROOT + "discount/" + code)

    # then the cart keeps its total and says why
    cart = shopper.get(ROOT + "cart.js").get_json()
    assert cart["discount_codes"] == [{"code": code, "applicable": False}]
    assert cart["total_price"] == 32000
    assert cart["discount_refusal"] == refusal
