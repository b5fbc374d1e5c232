"""The storefront addresses the widget may run on: ``GET/PUT /storefront-origins``.

The store's myshopify.com address and its own domains (refreshed from the
platform) are always allowed and read-only here; the owner adds or removes
the others (a domain the platform does not list, a storefront elsewhere).
``engine.tracking.storefronts`` checks each (https, a host name alone, at
most 20) and names the entry at fault; a refused list stores nothing. The
Channels screen edits the same list.
"""

from __future__ import annotations

import logging
from typing import Any

from marshmallow import fields
from marshmallow.validate import Length

from engine.db import db
from engine.shops.models import Shop
from engine.tracking.errors import InvalidStorefrontOrigins
from engine.tracking.storefronts import (
    MAX_OWNER_ORIGINS,
    set_owner_origins,
    storefront_origins,
)
from plugin.admin.access import Viewer
from plugin.admin.openapi import operation
from plugin.admin.schemas import SHORT, Strict
from plugin.errors import ApiError

logger = logging.getLogger(__name__)


class StorefrontOriginsInSchema(Strict):
    # Shape only: the engine refuses more than MAX_OWNER_ORIGINS distinct ones.
    origins = fields.List(
        fields.String(validate=SHORT), required=True, validate=Length(max=100)
    )


class StorefrontOriginsSchema(Strict):
    # https://<shop>.myshopify.com: always allowed.
    shop_origin = fields.String(required=True)
    # The store's own domains, as the platform last listed them.
    store_origins = fields.List(fields.String(), required=True)
    # The ones the owner added.
    origins = fields.List(fields.String(), required=True)
    max_origins = fields.Integer(required=True)


@operation(
    "GET",
    "/storefront-origins",
    summary="The storefront addresses the widget may run on.",
    response=StorefrontOriginsSchema,
)
def get_storefront_origins(viewer: Viewer) -> dict[str, Any]:
    return origins_data(viewer.shop)


@operation(
    "PUT",
    "/storefront-origins",
    summary="Replace the storefront addresses the owner added (https host names).",
    body=StorefrontOriginsInSchema,
    response=StorefrontOriginsSchema,
)
def put_storefront_origins(viewer: Viewer, body: dict[str, Any]) -> dict[str, Any]:
    try:
        set_owner_origins(viewer.shop, body["origins"])
    except InvalidStorefrontOrigins as refusal:
        db.session.rollback()
        logger.info(
            "admin.edit_refused",
            extra={"field": refusal.field, "code": "invalid_storefront_origin"},
        )
        raise ApiError(
            422,
            "invalid_storefront_origin",
            f"{refusal.field}: {refusal.reason}",
            field=refusal.field,
        ) from None
    db.session.commit()
    return origins_data(viewer.shop)


def origins_data(shop: Shop) -> dict[str, Any]:
    origins = storefront_origins(shop)
    return {
        "shop_origin": origins.shop_origin,
        "store_origins": list(origins.platform),
        "origins": list(origins.owner),
        "max_origins": MAX_OWNER_ORIGINS,
    }
