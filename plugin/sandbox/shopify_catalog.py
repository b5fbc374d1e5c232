"""The fake platform's products: variants with prices and stock, served by ``nodes``.

Register products with ``FakeShopifyPlatform.add_product``::

    platform.add_product(
        "revisit-test.myshopify.com",
        "Oolong Tea",
        product_id=632910392,
        description="Roasted high-mountain oolong.",
        image_url="https://cdn.example.com/oolong.jpg",
        variants=[
            {"id": 808950810, "title": "100 g", "price": "450.00", "inventory": 3},
            {"id": 808950811, "title": "250 g", "price": "990.00", "inventory": 0},
        ],
    )

A variant's ``inventory`` of None means stock is not tracked (always for
sale); 0 or less makes ``availableForSale`` false. Change stock with
``set_inventory`` and delete with ``remove_product``: a deleted product's
variants resolve to ``null`` in ``nodes``, as on the real platform.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

DEFAULT_VARIANT_TITLE = "Default Title"


@dataclass
class StoredVariant:
    variant_id: int
    title: str
    price: Decimal
    inventory: int | None
    image_url: str | None = None
    sku: str | None = None

    @property
    def available(self) -> bool:
        return self.inventory is None or self.inventory > 0


@dataclass
class StoredProduct:
    product_id: int
    title: str
    handle: str
    description: str
    image_url: str | None
    variants: dict[int, StoredVariant] = field(default_factory=dict)


@dataclass
class Catalog:
    """One shop's products, by id, with an index of their variants."""

    products: dict[int, StoredProduct] = field(default_factory=dict)
    _next_id: int = 7_000_000_000_001

    def add(
        self,
        title: str,
        *,
        product_id: int | None,
        description: str,
        image_url: str | None,
        handle: str | None,
        variants: list[dict[str, Any]] | None,
    ) -> StoredProduct:
        product = StoredProduct(
            product_id=product_id or self._take_id(),
            title=title,
            handle=handle or _handle(title),
            description=description,
            image_url=image_url,
        )
        for spec in variants or [{}]:
            variant = _variant(spec, self._take_id)
            product.variants[variant.variant_id] = variant
        self.products[product.product_id] = product
        return product

    def find_variant(
        self, variant_id: int
    ) -> tuple[StoredProduct, StoredVariant] | None:
        for product in self.products.values():
            variant = product.variants.get(variant_id)
            if variant is not None:
                return product, variant
        return None

    def _take_id(self) -> int:
        self._next_id += 1
        return self._next_id


def _variant(spec: dict[str, Any], new_id: Callable[[], int]) -> StoredVariant:
    unknown = set(spec) - {"id", "title", "price", "inventory", "image_url", "sku"}
    if unknown:
        raise ValueError(f"Unknown variant field(s) {sorted(unknown)!r}.")
    return StoredVariant(
        variant_id=int(spec.get("id") or new_id()),
        title=spec.get("title") or DEFAULT_VARIANT_TITLE,
        price=Decimal(str(spec.get("price", "0.00"))),
        inventory=spec.get("inventory"),
        image_url=spec.get("image_url"),
        sku=spec.get("sku"),
    )


def _handle(title: str) -> str:
    words = "".join(c if c.isalnum() else " " for c in title.lower()).split()
    return "-".join(words) or "product"


def catalog_node(shop_domain: str, catalog: Catalog, gid: str) -> dict | None:
    """What ``nodes(ids:)`` answers for one id: a variant, a product, or None."""
    kind, _, raw_id = gid.removeprefix("gid://shopify/").partition("/")
    if not raw_id.isdigit():
        return None
    if kind == "ProductVariant":
        found = catalog.find_variant(int(raw_id))
        if found is None:
            return None
        product, variant = found
        return variant_node(shop_domain, product, variant)
    if kind == "Product":
        product = catalog.products.get(int(raw_id))
        return product_node(shop_domain, product) if product else None
    return None


def variant_node(
    shop_domain: str, product: StoredProduct, variant: StoredVariant
) -> dict[str, Any]:
    return {
        "__typename": "ProductVariant",
        "id": f"gid://shopify/ProductVariant/{variant.variant_id}",
        "title": variant.title,
        "displayName": f"{product.title} - {variant.title}",
        "sku": variant.sku,
        "price": str(variant.price),
        "availableForSale": variant.available,
        "inventoryQuantity": variant.inventory,
        "image": {"url": variant.image_url} if variant.image_url else None,
        "product": product_node(shop_domain, product),
    }


def product_node(shop_domain: str, product: StoredProduct) -> dict[str, Any]:
    media = None
    if product.image_url:
        media = {
            "__typename": "MediaImage",
            "preview": {"image": {"url": product.image_url}},
        }
    return {
        "__typename": "Product",
        "id": f"gid://shopify/Product/{product.product_id}",
        "title": product.title,
        "handle": product.handle,
        "description": lambda _info, truncateAt=None: _truncate(  # noqa: N803
            product.description, truncateAt
        ),
        "onlineStoreUrl": f"https://{shop_domain}/products/{product.handle}",
        "featuredMedia": media,
    }


def _truncate(text: str, limit: int | None) -> str:
    if limit is None or len(text) <= limit:
        return text
    return text[: max(0, limit - 3)].rstrip() + "..."
