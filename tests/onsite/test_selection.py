"""Which message a page view gets: every condition, priority, cap, dismissal."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from flask.testing import FlaskClient

from engine.onsite.rules import update_message
from engine.onsite.selection import choose_message
from engine.shops.models import Shop
from plugin.sandbox.shopify_platform import FakeShopifyPlatform
from tests.conftest import OTHER_SHOP_DOMAIN, install_shop
from tests.onsite import HOME, NOW, PRODUCT, add_message, facts

STORE = "https://revisit-test.myshopify.com"


def chosen(shop: Shop, url: str = HOME, visitor=None, locale: str = "en"):  # noqa: ANN001, ANN201
    return choose_message(shop.id, visitor or facts(), url, locale, NOW)


def chosen_id(shop: Shop, url: str = HOME, visitor=None) -> int | None:  # noqa: ANN001
    message = chosen(shop, url, visitor)
    return None if message is None else message["id"]


@pytest.mark.parametrize(
    ("match", "value", "url", "shown"),
    [
        ("is", "/products/chew-toy", PRODUCT, True),
        ("is", "/products/chew-toy/", PRODUCT, True),
        ("is", f"{STORE}/products/chew-toy", PRODUCT + "?variant=1#reviews", True),
        ("is", "/products/chew-toy", STORE + "/products/chew-toy-xl", False),
        ("is", "/products/chew-toy?variant=2", PRODUCT + "?variant=1", False),
        ("is", "/", HOME, True),
        ("is", "/", PRODUCT, False),
        ("contains", "chew", PRODUCT, True),
        ("contains", "CHEW", PRODUCT, True),
        ("contains", "/collections/", PRODUCT, False),
        ("contains", "/products/茶", STORE + "/products/%E8%8C%B6-tea", True),
        ("not_contains", "/cart", PRODUCT, True),
        ("not_contains", "/products/", PRODUCT, False),
        ("wildcard", "/products/*", PRODUCT, True),
        ("wildcard", "/products/*", STORE + "/collections/toys", False),
        (
            "wildcard",
            "/collections/*/products/*",
            STORE + "/collections/a/products/b",
            True,
        ),
        ("wildcard", "*sale*", STORE + "/collections/winter-sale", True),
        ("wildcard", "*sale*", PRODUCT, False),
        ("wildcard", "/products/chew-?", PRODUCT, False),
    ],
)
def test_url_condition(
    shop: Shop, match: str, value: str, url: str, shown: bool
) -> None:
    # given
    message = add_message(shop, url_match=match, url_value=value)

    # when / then
    assert chosen_id(shop, url) == (message.id if shown else None)


@pytest.mark.parametrize(
    ("excluded", "url", "shown"),
    [
        (["/cart"], STORE + "/cart", False),
        (["/cart"], STORE + "/cart/", False),
        (["/cart"], PRODUCT, True),
        (["/products/*"], PRODUCT, False),
        (["/pages/*", "/products/chew-toy"], PRODUCT, False),
    ],
)
def test_excluded_pages(shop: Shop, excluded: list[str], url: str, shown: bool) -> None:
    # given
    message = add_message(shop, excluded_pages=excluded)

    # when / then
    assert chosen_id(shop, url) == (message.id if shown else None)


@pytest.mark.parametrize(
    ("number", "mode", "visit", "shown"),
    [
        (3, "exactly", 3, True),
        (3, "exactly", 2, False),
        (3, "exactly", 4, False),
        (3, "at_least", 3, True),
        (3, "at_least", 7, True),
        (3, "at_least", 2, False),
    ],
)
def test_visit_condition(
    shop: Shop, number: int, mode: str, visit: int, shown: bool
) -> None:
    # given
    message = add_message(shop, visit_number=number, visit_mode=mode)

    # when / then
    assert chosen_id(shop, visitor=facts(visit)) == (message.id if shown else None)


@pytest.mark.parametrize(
    ("total", "shown"), [("1000.01", True), ("1000.00", False), ("0", False)]
)
def test_cart_over_condition(shop: Shop, total: str, shown: bool) -> None:
    # given
    message = add_message(shop, cart_over="1000")

    # when / then
    visitor = facts(cart_total=total)
    assert chosen_id(shop, visitor=visitor) == (message.id if shown else None)


@pytest.mark.parametrize(
    ("audience", "visitor", "shown"),
    [
        ("new", facts(1), True),
        ("new", facts(2), False),
        ("returning", facts(2), True),
        ("returning", facts(1), False),
        ("first_time_buyer", facts(3, orders=1), True),
        ("first_time_buyer", facts(3, orders=0), False),
        ("first_time_buyer", facts(3, orders=2), False),
        ("all", facts(5, orders=4), True),
    ],
)
def test_audience_condition(shop: Shop, audience: str, visitor, shown: bool) -> None:  # noqa: ANN001
    # given
    message = add_message(shop, audience=audience)

    # when / then
    assert chosen_id(shop, visitor=visitor) == (message.id if shown else None)


@pytest.mark.parametrize(
    ("starts", "ends", "shown"),
    [
        (NOW - timedelta(days=1), NOW + timedelta(days=1), True),
        (NOW, None, True),
        (NOW + timedelta(seconds=1), None, False),
        (None, NOW, False),
        (None, NOW + timedelta(seconds=1), True),
    ],
)
def test_schedule(shop: Shop, starts, ends, shown: bool) -> None:  # noqa: ANN001
    # given
    message = add_message(shop, starts_at=starts, ends_at=ends)

    # when / then
    assert chosen_id(shop) == (message.id if shown else None)


def test_inactive_message_is_never_shown(shop: Shop) -> None:
    # given
    add_message(shop, active=False)

    # when / then
    assert chosen(shop) is None


def test_delay_and_exit_intent_are_the_widgets_triggers(shop: Shop) -> None:
    # given
    delayed = add_message(shop, delay_seconds=8)

    # when
    first = chosen(shop)
    update_message(shop, delayed.id, delay_seconds=0, exit_intent=True)
    second = chosen(shop)

    # then
    assert (first["trigger"], first["delay_seconds"]) == ("delay", 8)
    assert (second["trigger"], second["delay_seconds"]) == ("exit_intent", 0)


def test_a_specific_page_wins_over_a_broad_one(shop: Shop) -> None:
    # given (created from most to least specific, so newest cannot explain it)
    exact = add_message(
        shop, name="Exact", url_match="is", url_value="/products/chew-toy"
    )
    pattern = add_message(
        shop, name="Pattern", url_match="wildcard", url_value="/products/*"
    )
    anywhere = add_message(shop, name="Anywhere")

    # when / then
    assert chosen_id(shop, PRODUCT) == exact.id
    assert chosen_id(shop, STORE + "/products/bowl") == pattern.id
    assert chosen_id(shop, HOME) == anywhere.id


def test_then_the_higher_visit_count_wins(shop: Shop) -> None:
    # given
    third = add_message(
        shop, name="Third visit on", visit_number=3, visit_mode="at_least"
    )
    add_message(shop, name="Second visit on", visit_number=2, visit_mode="at_least")
    add_message(shop, name="Any visit")

    # when / then
    assert chosen_id(shop, visitor=facts(4)) == third.id


def test_then_the_newest_wins(shop: Shop) -> None:
    # given
    add_message(shop, name="Older")
    newer = add_message(shop, name="Newer")

    # when / then
    assert chosen_id(shop) == newer.id


def test_link_gets_utm_tags(shop: Shop) -> None:
    # given
    tagged = add_message(
        shop,
        kind="button",
        texts={"en": {"title": "Sale", "button_label": "Shop now"}},
        link_url="https://revisit-test.myshopify.com/collections/sale?sort=price&utm_source=old",
        slug="winter-sale",
    )
    plain = add_message(
        shop,
        kind="image",
        image_url="https://cdn.example.com/a.png",
        link_url="/collections/sale",
        url_match="is",
        url_value="/products/chew-toy",
    )

    # when
    first = chosen(shop, HOME)
    second = chosen(shop, PRODUCT)

    # then
    link = urlsplit(first["link_url"])
    assert (first["id"], link.path) == (tagged.id, "/collections/sale")
    assert parse_qs(link.query) == {
        "sort": ["price"],
        "utm_source": ["revisit"],
        "utm_medium": ["onsite"],
        "utm_campaign": ["winter-sale"],
    }
    assert first["button_label"] == "Shop now"
    assert second["link_url"] == (
        f"/collections/sale?utm_source=revisit&utm_medium=onsite&utm_campaign={plain.id}"
    )
    assert second["image_url"] == "https://cdn.example.com/a.png"


@pytest.mark.parametrize(
    ("locale", "title"),
    [
        ("zh-TW", "歡迎光臨"),
        ("zh-tw", "歡迎光臨"),
        ("en", "Welcome"),
        ("en-US", "Welcome"),
        ("ja", "Welcome"),
        (None, "Welcome"),
    ],
)
def test_texts_follow_the_locale_then_the_default(
    shop: Shop, locale: str | None, title: str
) -> None:
    # given
    add_message(shop, default_locale="en")

    # when
    message = chosen(shop, locale=locale)

    # then
    assert message["title"] == title


def test_answer_has_the_contracts_fields(shop: Shop) -> None:
    # given
    message = add_message(shop, texts={"en": {"title": "Hi", "body": "Welcome back"}})

    # when / then
    assert chosen(shop) == {
        "id": message.id,
        "kind": "text",
        "title": "Hi",
        "body": "Welcome back",
        "image_url": None,
        "link_url": None,
        "button_label": None,
        "trigger": "delay",
        "delay_seconds": 0,
    }


def test_another_shops_messages_are_never_chosen(
    shop: Shop, client: FlaskClient, platform: FakeShopifyPlatform
) -> None:
    # given
    other = install_shop(client, platform, OTHER_SHOP_DOMAIN)
    add_message(other)

    # when / then
    assert chosen(shop) is None
