"""Jobs about a shop itself: its details and the domains its storefronts live on."""

from __future__ import annotations

import logging

from engine.db import db
from engine.shopify.admin_api import AdminApi
from engine.shopify.errors import AccessRevokedError, AdminApiError
from engine.shopify.queries import SHOP_DETAILS, STOREFRONT_DOMAINS
from engine.shops.models import Shop
from engine.tracking.storefronts import add_storefront_origin, replace_platform_origins

logger = logging.getLogger(__name__)


def sync_shop_details(shop_id: int) -> None:
    """Copy the shop's name, e-mail, currency and time zone from the platform,
    and let its widget post from the store's current domains.

    Should the platform not list the domains, the primary domain is still
    added (``Shop.primaryDomain`` needs no scope) and nothing is removed.
    """
    shop = db.session.get(Shop, shop_id)
    if shop is None or not shop.is_installed:
        return

    api = AdminApi(shop)
    try:
        details = api.query(SHOP_DETAILS)["shop"]
        refreshed = refresh_storefront_domains(shop, api)
    except AccessRevokedError:
        logger.warning("shops.sync_skipped_revoked", extra={"shop_id": shop_id})
        return

    shop.name = details.get("name")
    shop.email = details.get("email")
    shop.currency = details.get("currencyCode")
    if shop.timezone_chosen_at is None:
        shop.timezone = details.get("ianaTimezone")
    primary = (details.get("primaryDomain") or {}).get("host")
    if not refreshed and primary and primary != shop.shop_domain:
        add_storefront_origin(shop, f"https://{primary}")
    db.session.commit()
    logger.info("shops.details_synced", extra={"shop_id": shop_id})


def refresh_storefront_domains(shop: Shop, api: AdminApi | None = None) -> bool:
    """Allow the widget on the store's domains as the platform lists them now.

    Domains the store no longer has are dropped; origins the shop owner
    added stay. Returns False, changing nothing, when the platform would not
    say (an error after the client's retries). The caller commits.

    Raises:
        AccessRevokedError: the shop's access is gone.
    """
    try:
        data = (api or AdminApi(shop)).query(STOREFRONT_DOMAINS)["shop"]
    except AdminApiError as error:
        logger.warning(
            "shops.domains_not_read",
            extra={"shop_id": shop.id, "status": error.status, "error": str(error)},
        )
        return False

    hosts = {data["primaryDomain"]["host"]}
    hosts.update(
        domain["host"] for domain in data.get("domains") or [] if domain["sslEnabled"]
    )
    replace_platform_origins(shop, hosts)
    return True
