"""The demo storefront's catalogue: a small pet-supply range, and its pictures.

Every demo store sells the same products; ids are fixed so tests and
payloads can name them. Prices are in the currency's hundredths, as the Ajax
Cart API counts them. Product pictures are drawn here as SVG (a paw on a
coloured card), so the demo needs no image files.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape


@dataclass(frozen=True)
class Variant:
    id: int
    title: str
    sku: str
    price: int
    grams: int


@dataclass(frozen=True)
class Product:
    id: int
    handle: str
    title: str
    product_type: str
    description: str
    colour: str
    variants: tuple[Variant, ...]

    @property
    def price(self) -> int:
        return min(variant.price for variant in self.variants)

    @property
    def has_only_default_variant(self) -> bool:
        return len(self.variants) == 1 and self.variants[0].title == "Default Title"


@dataclass(frozen=True)
class Collection:
    handle: str
    title: str
    description: str
    product_types: tuple[str, ...]


VENDOR = "Revisit Demo Pet Supply"

PRODUCTS = (
    Product(
        8_100_000_000_001,
        "salmon-bites",
        "Salmon Bites Cat Treats",
        "cat",
        "Crunchy on the outside, soft in the middle, made from Norwegian salmon.",
        "#f4a261",
        (
            Variant(45_100_000_000_011, "80 g", "CAT-SALMON-80", 18_000, 80),
            Variant(45_100_000_000_012, "200 g", "CAT-SALMON-200", 39_000, 200),
        ),
    ),
    Product(
        8_100_000_000_002,
        "catnip-mice",
        "Catnip Mouse Trio",
        "cat",
        "Three felt mice stuffed with organic catnip, for chasing under the sofa.",
        "#90be6d",
        (Variant(45_100_000_000_021, "Default Title", "CAT-MICE-3", 25_000, 60),),
    ),
    Product(
        8_100_000_000_003,
        "rope-tug",
        "Rope Tug Dog Toy",
        "dog",
        "Braided cotton rope with two knots: tug of war, fetch, and flossing.",
        "#577590",
        (
            Variant(45_100_000_000_031, "Medium", "DOG-ROPE-M", 32_000, 180),
            Variant(45_100_000_000_032, "Large", "DOG-ROPE-L", 42_000, 260),
        ),
    ),
    Product(
        8_100_000_000_004,
        "reflective-leash",
        "Reflective Dog Leash",
        "dog",
        "1.5 m padded leash with reflective stitching for evening walks.",
        "#43aa8b",
        (Variant(45_100_000_000_041, "Default Title", "DOG-LEASH", 59_000, 210),),
    ),
    Product(
        8_100_000_000_005,
        "donut-bed",
        "Cozy Donut Pet Bed",
        "bed",
        "A round, raised-rim bed in soft plush that cats and small dogs curl up in.",
        "#b5838d",
        (
            Variant(45_100_000_000_051, "Small", "BED-DONUT-S", 129_000, 1_400),
            Variant(45_100_000_000_052, "Large", "BED-DONUT-L", 179_000, 2_200),
        ),
    ),
    Product(
        8_100_000_000_006,
        "steel-bowl",
        "Non-slip Steel Bowl",
        "bowl",
        "Stainless steel bowl on a rubber ring that stays put at mealtime.",
        "#6d6875",
        (Variant(45_100_000_000_061, "Default Title", "BOWL-STEEL", 28_000, 320),),
    ),
)

COLLECTIONS = (
    Collection("all", "All products", "Everything in the shop.", ()),
    Collection("cats", "For cats", "Treats and toys for cats.", ("cat",)),
    Collection("dogs", "For dogs", "Toys and walking gear for dogs.", ("dog",)),
    Collection(
        "home", "Home comforts", "Beds and bowls for every pet.", ("bed", "bowl")
    ),
)

_PRODUCTS_BY_HANDLE = {product.handle: product for product in PRODUCTS}
_VARIANTS = {
    variant.id: (product, variant)
    for product in PRODUCTS
    for variant in product.variants
}


def product_by_handle(handle: str) -> Product | None:
    return _PRODUCTS_BY_HANDLE.get(handle)


def variant_by_id(variant_id: int) -> tuple[Product, Variant] | None:
    """The product and variant of a variant id, or None if the shop has none."""
    return _VARIANTS.get(variant_id)


def collection_by_handle(handle: str) -> Collection | None:
    return next((c for c in COLLECTIONS if c.handle == handle), None)


def collection_products(collection: Collection) -> list[Product]:
    if not collection.product_types:
        return list(PRODUCTS)
    return [p for p in PRODUCTS if p.product_type in collection.product_types]


def money(cents: int) -> str:
    """Cents as the decimal string webhooks use: ``39000`` → ``"390.00"``."""
    return f"{cents // 100}.{cents % 100:02d}"


def product_image_svg(product: Product) -> str:
    """A 600×600 picture of the product: a paw on its colour, and its name."""
    pad_centre = '<ellipse cx="300" cy="330" rx="92" ry="78"/>'
    toes = "".join(
        f'<ellipse cx="{x}" cy="{y}" rx="34" ry="44" transform="rotate({r} {x} {y})"/>'
        for x, y, r in ((196, 226, -20), (262, 182, -6), (338, 182, 6), (404, 226, 20))
    )
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" width="600" height="600" '
        f'viewBox="0 0 600 600" role="img" aria-label="{escape(product.title)}">'
        f'<rect width="600" height="600" fill="{product.colour}"/>'
        f'<g fill="#fff" fill-opacity=".9">{pad_centre}{toes}</g>'
        '<text x="300" y="510" text-anchor="middle" fill="#fff" '
        'font-family="Georgia, serif" font-size="34">'
        f"{escape(product.title)}</text></svg>"
    )
