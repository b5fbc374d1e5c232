"""Jobs about a shop itself."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from engine.db import db
from engine.shopify.admin_api import AdminApi
from engine.shopify.errors import AccessRevokedError
from engine.shopify.queries import SHOP_DETAILS
from engine.shops.models import Shop
from engine.tracking.storefronts import add_storefront_origin

logger = logging.getLogger(__name__)


def sync_shop_details(shop_id: int) -> None:
    """Copy the shop's name, e-mail, currency and time zone from the platform,
    and let its widget post from the online store's primary domain.

    ``shop.url`` is the primary domain, which needs no extra scope; a store's
    other domains redirect to it. Domains of markets' web presences (which
    need ``read_markets``) are not read.
    """
    shop = db.session.get(Shop, shop_id)
    if shop is None or not shop.is_installed:
        return

    try:
        data = AdminApi(shop).query(SHOP_DETAILS)
    except AccessRevokedError:
        logger.warning("shops.sync_skipped_revoked", extra={"shop_id": shop_id})
        return

    details = data["shop"]
    shop.name = details.get("name")
    shop.email = details.get("email")
    shop.currency = details.get("currencyCode")
    if shop.timezone_chosen_at is None:
        shop.timezone = details.get("ianaTimezone")
    # The myshopify.com origin is always allowed; only another domain is kept.
    if details.get("url") and urlsplit(details["url"]).hostname != shop.shop_domain:
        add_storefront_origin(shop, details["url"])
    db.session.commit()
    logger.info("shops.details_synced", extra={"shop_id": shop_id})
