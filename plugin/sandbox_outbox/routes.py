"""``GET /sandbox/outbox?shop=<domain>``: one shop's sandbox messages."""

from __future__ import annotations

from flask import Response, request

from engine.channels.sandbox import outbox
from engine.shops.install import shop_by_domain
from plugin.errors import ApiError
from plugin.sandbox.phone import PhoneItem, render_phone_page, threads_by_recipient
from plugin.sandbox_outbox import bp


@bp.get("/sandbox/outbox")
def sandbox_outbox() -> Response:
    shop_domain = request.args.get("shop", "").strip().lower()
    if not shop_domain:
        raise ApiError(400, "missing_shop", "Name the shop: ?shop=<domain>.")
    shop = shop_by_domain(shop_domain)
    if shop is None:
        raise ApiError(404, "unknown_shop", f"No shop {shop_domain!r} is installed.")

    items = [
        PhoneItem(
            platform=message.rendered_for,
            recipient=message.recipient_id,
            account=f"{shop.name or shop.shop_domain} (sandbox)",
            messages=message.payload,
            at=message.created_at,
        )
        for message in outbox(shop.id)
    ]
    page = render_phone_page(
        f"Sandbox outbox: {shop.name or shop.shop_domain}",
        "Messages the sandbox channel recorded instead of sending, as the"
        " shopper's phone would show them.",
        threads_by_recipient(items),
    )
    return Response(page, mimetype="text/html")
