"""``GET /binding/line/<shop key>/callback``: finish LINE Login and say so."""

from __future__ import annotations

import logging

from flask import Response, render_template, request

from engine.binding.errors import BindingError
from engine.binding.inbound import line_account_for_key
from engine.binding.line_chat import storefront_url
from engine.binding.line_login import complete_login
from engine.binding.popup import success_text
from engine.db import db
from engine.shops.models import Shop
from plugin.binding import bp
from plugin.errors import ApiError

logger = logging.getLogger(__name__)


@bp.get("/binding/line/<shop_key>/callback")
def line_login_callback(shop_key: str) -> Response:
    account = line_account_for_key(shop_key)
    if account is None:
        raise ApiError(404, "unknown_shop_key", "No LINE channel has this address.")
    shop = db.session.get(Shop, account.shop_id)
    try:
        complete_login(shop, account, request.args)
    except BindingError as refused:
        db.session.rollback()
        logger.info(
            "binding.login_refused", extra={"shop_id": shop.id, "code": refused.code}
        )
        return _page(shop, 400, None, str(refused))
    db.session.commit()
    return _page(shop, 200, success_text(shop, request.accept_languages.best), None)


def _page(
    shop: Shop, status: int, success: str | None, problem: str | None
) -> Response:
    html = render_template(
        "binding/result.html",
        shop_name=shop.name or shop.shop_domain,
        success=success,
        problem=problem,
        store_url=storefront_url(shop),
    )
    return Response(html, status=status, mimetype="text/html")
