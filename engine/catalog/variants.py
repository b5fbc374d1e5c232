"""Product variants by id: name, price, stock, description and images.

Field names follow the GraphQL Admin reference (2026-10): ``ProductVariant``
has ``availableForSale``, ``price`` (``Money``, a decimal string in the
shop's currency), ``image``; ``Product`` has ``description(truncateAt:)``,
``onlineStoreUrl`` and ``featuredMedia`` (``featuredImage`` is deprecated in
its favour). ``nodes(ids:)`` answers ``null`` for an id that no longer
exists, which is how a deleted product shows.

Details are cached per shop and variant for ``CACHE_SECONDS``: stock can
change within that time, which is the price of one call per batch instead
of one per reminder.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from engine.runtime import current
from engine.shopify.admin_api import AdminApi
from engine.shops.models import Shop

logger = logging.getLogger(__name__)

CACHE_SECONDS = 120
CACHE_PREFIX = "revisit:catalog:variant:"
# Shopify takes up to 250 ids per nodes query; 100 keeps each query's cost low.
IDS_PER_QUERY = 100
DESCRIPTION_LENGTH = 120
# The platform names a variant this when the product has no options.
DEFAULT_VARIANT_TITLE = "Default Title"

VARIANT_DETAILS = """
query ReminderVariants($ids: [ID!]!, $descriptionLength: Int!) {
  nodes(ids: $ids) {
    ... on ProductVariant {
      id
      title
      price
      availableForSale
      image {
        url
      }
      product {
        title
        description(truncateAt: $descriptionLength)
        onlineStoreUrl
        featuredMedia {
          preview {
            image {
              url
            }
          }
        }
      }
    }
  }
}
"""


@dataclass(frozen=True)
class VariantDetails:
    """A variant as a reminder card shows it."""

    variant_id: str
    product_title: str
    # None for a product without options ("Default Title").
    variant_title: str | None
    price: Decimal | None
    available: bool
    description: str | None
    image_url: str | None
    product_url: str | None


def variant_details(
    shop: Shop, variant_ids: Iterable[str]
) -> dict[str, VariantDetails | None]:
    """Details of each variant id (numeric, as carts hold them); None if deleted.

    Raises the Admin API's errors (``engine.shopify.errors``) when the
    platform cannot be asked.
    """
    wanted = sorted(set(variant_ids))
    found = _cached(shop, wanted)
    missing = [variant_id for variant_id in wanted if variant_id not in found]
    for start in range(0, len(missing), IDS_PER_QUERY):
        fetched = _fetch(shop, missing[start : start + IDS_PER_QUERY])
        _remember(shop, fetched)
        found.update(fetched)
    return found


def _cached(shop: Shop, ids: list[str]) -> dict[str, VariantDetails | None]:
    if not ids:
        return {}
    values = current().redis.mget([_key(shop, variant_id) for variant_id in ids])
    found: dict[str, VariantDetails | None] = {}
    for variant_id, raw in zip(ids, values, strict=True):
        if raw is None:
            continue
        data = json.loads(raw)
        found[variant_id] = None if data is None else _from_json(data)
    return found


def _remember(shop: Shop, details: dict[str, VariantDetails | None]) -> None:
    with current().redis.pipeline(transaction=False) as pipe:
        for variant_id, detail in details.items():
            value = None if detail is None else _to_json(detail)
            pipe.set(_key(shop, variant_id), json.dumps(value), ex=CACHE_SECONDS)
        pipe.execute()


def _fetch(shop: Shop, ids: list[str]) -> dict[str, VariantDetails | None]:
    data = AdminApi(shop).query(
        VARIANT_DETAILS,
        {
            "ids": [f"gid://shopify/ProductVariant/{variant_id}" for variant_id in ids],
            "descriptionLength": DESCRIPTION_LENGTH,
        },
    )
    nodes = data.get("nodes") or []
    details = {variant_id: None for variant_id in ids}
    for node in nodes:
        if node and node.get("id"):
            detail = _from_node(node)
            details[detail.variant_id] = detail
    logger.debug(
        "catalog.variants_fetched", extra={"shop_id": shop.id, "count": len(ids)}
    )
    return details


def _from_node(node: dict[str, Any]) -> VariantDetails:
    product = node.get("product") or {}
    media = product.get("featuredMedia") or {}
    media_image = (media.get("preview") or {}).get("image") or {}
    variant_image = node.get("image") or {}
    title = node.get("title")
    return VariantDetails(
        variant_id=str(node["id"]).rsplit("/", 1)[-1],
        product_title=product.get("title") or "",
        variant_title=None if title in (None, "", DEFAULT_VARIANT_TITLE) else title,
        price=_decimal(node.get("price")),
        available=bool(node.get("availableForSale")),
        description=(product.get("description") or "").strip() or None,
        image_url=variant_image.get("url") or media_image.get("url"),
        product_url=product.get("onlineStoreUrl"),
    )


def _decimal(value: object) -> Decimal | None:
    try:
        return Decimal(str(value)) if value not in (None, "") else None
    except InvalidOperation:
        return None


def _to_json(detail: VariantDetails) -> dict[str, Any]:
    data = asdict(detail)
    data["price"] = None if detail.price is None else str(detail.price)
    return data


def _from_json(data: dict[str, Any]) -> VariantDetails:
    return VariantDetails(**{**data, "price": _decimal(data.get("price"))})


def _key(shop: Shop, variant_id: str) -> str:
    return f"{CACHE_PREFIX}{shop.id}:{variant_id}"
