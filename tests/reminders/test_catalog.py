"""Product variants for reminder cards, through the Admin API ``nodes`` query."""

from __future__ import annotations

from decimal import Decimal

from engine.catalog.variants import VariantDetails, variant_details
from plugin.sandbox.shopify_platform import FakeShopifyPlatform
from tests.conftest import SHOP_DOMAIN
from tests.reminders import KETTLE, KETTLE_STEEL, MATCHA_TIN, OOLONG_100G


def test_variant_details_describe_each_variant_in_one_query(
    reminder_shop, platform: FakeShopifyPlatform
) -> None:
    # given the matcha sold out and the kettle was deleted
    platform.set_inventory(SHOP_DOMAIN, MATCHA_TIN, 0)
    platform.remove_product(SHOP_DOMAIN, KETTLE)
    calls = platform.graphql_calls
    ids = [str(OOLONG_100G), str(MATCHA_TIN), str(KETTLE_STEEL)]

    # when
    details = variant_details(reminder_shop, ids)

    # then
    assert platform.graphql_calls == calls + 1
    assert details[str(OOLONG_100G)] == VariantDetails(
        variant_id=str(OOLONG_100G),
        product_title="High Mountain Oolong",
        variant_title="100 g",
        price=Decimal("450.00"),
        available=True,
        description="Roasted oolong from Alishan, picked in spring.",
        image_url="https://cdn.example.com/oolong.jpg",
        product_url=f"https://{SHOP_DOMAIN}/products/high-mountain-oolong",
    )
    matcha = details[str(MATCHA_TIN)]
    assert (matcha.available, matcha.variant_title) == (False, None)
    assert details[str(KETTLE_STEEL)] is None


def test_variant_details_are_cached_briefly(
    reminder_shop, platform: FakeShopifyPlatform
) -> None:
    # given the details were read once
    variant_details(reminder_shop, [str(OOLONG_100G)])
    calls = platform.graphql_calls

    # when read again
    details = variant_details(reminder_shop, [str(OOLONG_100G)])

    # then from the cache, without asking the platform
    assert platform.graphql_calls == calls
    assert details[str(OOLONG_100G)].price == Decimal("450.00")


def test_variant_details_of_a_variant_never_sold_is_none(reminder_shop) -> None:
    assert variant_details(reminder_shop, ["999"]) == {"999": None}
