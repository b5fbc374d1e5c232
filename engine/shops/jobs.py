"""Jobs about a shop itself."""

from __future__ import annotations

import logging

from engine.db import db
from engine.shopify.admin_api import AdminApi
from engine.shopify.errors import AccessRevokedError
from engine.shopify.queries import SHOP_DETAILS
from engine.shops.models import Shop

logger = logging.getLogger(__name__)


def sync_shop_details(shop_id: int) -> None:
    """Copy the shop's name, e-mail, currency and time zone from the platform."""
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
    db.session.commit()
    logger.info("shops.details_synced", extra={"shop_id": shop_id})
