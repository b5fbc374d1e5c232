"""``GET /proxy/identify``: the logged-in customer behind a visitor token.

The widget calls it (through ``/apps/revisit/identify``) when the page says
a customer is logged in; the signed ``logged_in_customer_id`` then makes the
visitor that customer, so the shopper's visitors on every device become one
person and share their bindings (``engine.binding.person``).
"""

from __future__ import annotations

import logging

from flask import Response, jsonify, request

from engine.binding.person import link_customer, visitor_for
from engine.db import db
from engine.runtime import current
from engine.shopify.errors import InvalidShopDomainError
from engine.shopify.oauth import clean_shop_domain
from engine.shops.install import shop_by_domain
from engine.shops.models import Shop
from engine.tracking.errors import InvalidVisitorToken
from engine.tracking.tokens import read_token
from engine.visitors.models import Visitor
from plugin.app_proxy import bp
from plugin.errors import ApiError, error_response
from plugin.shopify_request import as_shopify_request

logger = logging.getLogger(__name__)

CUSTOMER_ID_LENGTH = Visitor.customer_id.type.length


@bp.get("/identify")
def identify() -> Response:
    runtime = current()
    # shopifyapp compares with hmac.compare_digest, which raises TypeError on
    # non-ASCII text: such a signature is no signature at all.
    if not request.args.get("signature", "").isascii():
        return _refused("invalid_signature")
    verified = runtime.shopify.verify_app_proxy_req(as_shopify_request())
    if not verified.ok:
        return _refused(verified.log.code)
    shop = _installed_shop(f"{verified.shop}.myshopify.com")
    if shop is None:
        raise ApiError(404, "unknown_shop", "This shop has not installed Revisit.")
    customer_id = verified.logged_in_customer_id
    if not customer_id:
        return jsonify(linked=False)
    if not _is_customer_id(customer_id):
        raise ApiError(
            400,
            "invalid_customer_id",
            "logged_in_customer_id is not the platform's numeric customer id.",
        )

    try:
        public_id = read_token(
            runtime.settings.secret_key, shop.id, request.args.get("visitor_token", "")
        )
    except InvalidVisitorToken as exc:
        raise ApiError(401, "invalid_visitor_token", str(exc)) from None
    link_customer(shop, visitor_for(shop, public_id), customer_id)
    db.session.commit()
    return jsonify(linked=True)


def _installed_shop(shop_domain: str) -> Shop | None:
    # The signed "shop" is still checked: a value no shop domain has (a NUL
    # among them, which the database cannot compare) names no shop.
    try:
        shop = shop_by_domain(clean_shop_domain(shop_domain))
    except InvalidShopDomainError:
        return None
    return shop if shop is not None and shop.is_installed else None


def _refused(code: str) -> Response:
    logger.warning("app_proxy.rejected", extra={"code": code})
    return error_response(401, code, "The app proxy request's signature is not valid.")


def _is_customer_id(value: str) -> bool:
    # The platform's customer ids are numbers; the column holds 64 characters.
    return value.isascii() and value.isdigit() and len(value) <= CUSTOMER_ID_LENGTH
