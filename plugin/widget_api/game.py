"""The bonus game's endpoints: ``game/seen``, ``game/collect``, ``game/wallet``,
``game/redeem``.

Unlike the page and events endpoints these write to the database, in one
short transaction each (the engine decides; see ``engine.game``). They are
checked like the others (body, widget key, origin, fields, then the visitor
token: 401), and answer refusals in the one error shape: a collect token
that does not verify is 403 ``invalid_collect_token``; a rule that says no
is 409 with the rule's code (``too_soon`` adds ``Retry-After``), an unknown
campaign 404.
"""

from __future__ import annotations

from typing import Any

from flask import Response, request
from marshmallow import fields
from marshmallow.validate import Length

from engine.db import db
from engine.game import clock
from engine.game.collecting import collect, note_seen
from engine.game.errors import CollectRefused, InvalidCollectToken, RedeemRefused
from engine.game.redeeming import request_redemption
from engine.game.shopper import describe_redemption, wallet_for_shopper
from engine.game.targets import live_campaigns
from engine.runtime import current
from engine.shops.models import Shop
from engine.tracking.errors import InvalidVisitorToken
from engine.tracking.storefronts import WidgetShop
from engine.tracking.tokens import read_token
from plugin.errors import ApiError, error_response
from plugin.widget_api import bp
from plugin.widget_api.cors import preflight
from plugin.widget_api.routes import _json, _read
from plugin.widget_api.schemas import _Lenient


class WalletRequestSchema(_Lenient):
    widget_key = fields.String(required=True, validate=Length(1, 64))
    visitor_token = fields.String(required=True, validate=Length(1, 200))


class CollectRequestSchema(WalletRequestSchema):
    collect_token = fields.String(required=True, validate=Length(1, 400))


WALLET_REQUEST = WalletRequestSchema()
COLLECT_REQUEST = CollectRequestSchema()
NOT_FOUND = {"campaign_not_found"}


@bp.route("/game/seen", methods=["POST", "OPTIONS"])
def game_seen() -> Response:
    if request.method == "OPTIONS":
        return preflight()
    shop, payload, public_id = _read_as_visitor(COLLECT_REQUEST)
    try:
        note_seen(
            _secret(), shop.shop_id, public_id, payload["collect_token"], clock.now()
        )
    except InvalidCollectToken as exc:
        raise ApiError(403, "invalid_collect_token", str(exc)) from None
    return _json({"seen": True}, 202)


@bp.route("/game/collect", methods=["POST", "OPTIONS"])
def game_collect() -> Response:
    if request.method == "OPTIONS":
        return preflight()
    shop, payload, public_id = _read_as_visitor(COLLECT_REQUEST)
    try:
        collected = collect(
            _secret(), shop.shop_id, public_id, payload["collect_token"], clock.now()
        )
    except InvalidCollectToken as exc:
        raise ApiError(403, "invalid_collect_token", str(exc)) from None
    except CollectRefused as refusal:
        return _refused(refusal)
    return _json(
        {
            "collected": {
                "amount": str(collected.amount),
                "currency": collected.currency,
                "expires_at": collected.expires_at.isoformat(timespec="seconds"),
            },
            "wallet": _wallet(shop, public_id),
        }
    )


@bp.route("/game/wallet", methods=["POST", "OPTIONS"])
def game_wallet() -> Response:
    if request.method == "OPTIONS":
        return preflight()
    shop, _payload, public_id = _read_as_visitor(WALLET_REQUEST)
    return _json({"wallet": _wallet(shop, public_id)})


@bp.route("/game/redeem", methods=["POST", "OPTIONS"])
def game_redeem() -> Response:
    if request.method == "OPTIONS":
        return preflight()
    shop, _payload, public_id = _read_as_visitor(WALLET_REQUEST)
    try:
        redemption = request_redemption(db.session.get(Shop, shop.shop_id), public_id)
    except RedeemRefused as refusal:
        raise ApiError(409, refusal.code, refusal.detail) from None
    answer = {"redemption": describe_redemption(redemption)}
    return _json({**answer, "wallet": _wallet(shop, public_id)}, 202)


def _read_as_visitor(schema: Any) -> tuple[WidgetShop, dict[str, Any], str]:
    shop, payload = _read(schema)
    try:
        public_id = read_token(_secret(), shop.shop_id, payload["visitor_token"])
    except InvalidVisitorToken as exc:
        raise ApiError(401, "invalid_visitor_token", str(exc)) from None
    return shop, payload, public_id


def _refused(refusal: CollectRefused) -> Response:
    status = 404 if refusal.code in NOT_FOUND else 409
    response = error_response(status, refusal.code, refusal.detail)
    if refusal.retry_after is not None:
        response.headers["Retry-After"] = str(refusal.retry_after)
    return response


def _wallet(shop: WidgetShop, public_id: str) -> dict[str, Any]:
    # An empty wallet is shown in the currency the shop's campaigns pay in.
    campaigns = live_campaigns(shop.shop_id, clock.now())
    currency = campaigns[0].currency if campaigns else None
    return wallet_for_shopper(shop.shop_id, public_id, currency)


def _secret() -> str:
    return current().settings.secret_key
