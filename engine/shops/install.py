"""Recording installs and uninstalls, and the tokens an install brings."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select

from engine.db import db, utcnow
from engine.jobs import enqueue_after_commit
from engine.shops.jobs import sync_shop_details
from engine.shops.models import Shop
from engine.shops.tokens import TokenGrant, store_grant

logger = logging.getLogger(__name__)


def shop_by_domain(shop_domain: str) -> Shop | None:
    return db.session.scalar(select(Shop).where(Shop.shop_domain == shop_domain))


def record_install(shop_domain: str, grant: TokenGrant) -> Shop:
    """Store a new grant for the shop, installing or reinstalling it.

    The caller commits; the shop's details are fetched by a job afterwards.
    """
    shop = shop_by_domain(shop_domain)
    reinstall = shop is not None and shop.uninstalled_at is not None
    if shop is None:
        shop = Shop(shop_domain=shop_domain)
        db.session.add(shop)

    now = utcnow()
    store_grant(shop, grant)
    shop.granted_at = now
    if shop.installed_at is None or reinstall:
        shop.installed_at = now
    shop.uninstalled_at = None
    db.session.flush()

    enqueue_after_commit(sync_shop_details, shop.id, job_id=f"shop-sync-{shop.id}")
    logger.info(
        "shops.installed",
        extra={"shop_id": shop.id, "shop_domain": shop_domain, "reinstall": reinstall},
    )
    return shop


def revoke_access(shop_domain: str, uninstalled_at: datetime | None) -> Shop | None:
    """Forget the shop's tokens at once, unless a later reinstall superseded this.

    Webhooks can arrive late: an uninstall triggered before the current
    tokens were granted (a reinstall that overtook the webhook) must not
    undo that grant.
    """
    shop = shop_by_domain(shop_domain)
    if shop is None:
        return None

    when = uninstalled_at or utcnow()
    if shop.granted_at is not None and when < shop.granted_at:
        logger.info(
            "shops.uninstall_superseded",
            extra={"shop_id": shop.id, "uninstalled_at": when.isoformat()},
        )
        return shop

    shop.access_token = None
    shop.refresh_token = None
    shop.access_token_expires_at = None
    shop.refresh_token_expires_at = None
    shop.uninstalled_at = when
    logger.info("shops.uninstalled", extra={"shop_id": shop.id})
    return shop
