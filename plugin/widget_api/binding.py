"""The widget's binding calls: ``/api/widget/v1/binding/<action>``.

Same rules as the other widget calls (``routes``: size, JSON, widget key,
origin, fields), plus a visitor token that must verify (401). Unlike page
views these write a little (funnel counts, a binding undone): they follow
a shopper's press of a button, not every page view.

``offer``  may the pop-up show now? (counts it shown)   ``dismiss`` not today
``start``  a channel button was pressed: what to open   ``status``  bound where
``unbind`` the shopper unbinds this device              ``link``    LINE account link
"""

from __future__ import annotations

from typing import Any

from flask import Response, request
from marshmallow import fields
from marshmallow.validate import Length, OneOf

from engine.binding import line_chat, popup
from engine.binding.bindings import bound_channels, unbind
from engine.binding.errors import ChannelNotReady, InvalidBindingToken
from engine.binding.models import CHANNELS
from engine.binding.start import METHODS, start_binding
from engine.binding.tokens import Intent
from engine.db import db
from engine.runtime import current
from engine.shops.models import Shop
from engine.tracking.errors import InvalidVisitorToken
from engine.tracking.tokens import read_token
from plugin.errors import ApiError
from plugin.widget_api import bp
from plugin.widget_api.cors import preflight

# The widget API's own request checks (size, JSON, key, origin, schema).
from plugin.widget_api.routes import _json, _read
from plugin.widget_api.schemas import _Lenient

ALL_METHODS = sorted({method for methods in METHODS.values() for method in methods})


class VisitorSchema(_Lenient):
    widget_key = fields.String(required=True, validate=Length(1, 64))
    visitor_token = fields.String(required=True, validate=Length(1, 200))


class StartSchema(VisitorSchema):
    channel = fields.String(required=True, validate=OneOf(CHANNELS))
    method = fields.String(load_default=None, validate=OneOf(ALL_METHODS))
    marketing = fields.Boolean(required=True, truthy={True}, falsy={False})


class ChannelSchema(VisitorSchema):
    channel = fields.String(required=True, validate=OneOf(CHANNELS))


class LinkSchema(VisitorSchema):
    link_token = fields.String(required=True, validate=Length(1, 250))
    marketing = fields.Boolean(required=True, truthy={True}, falsy={False})


VISITOR = VisitorSchema()
START = StartSchema()
CHANNEL = ChannelSchema()
LINK = LinkSchema()


@bp.route("/binding/offer", methods=["POST", "OPTIONS"])
def binding_offer() -> Response:
    if request.method == "OPTIONS":
        return preflight()
    shop, public_id, _ = _visitor(VISITOR)
    answer = popup.offer(shop, public_id)
    return _json(
        {
            "show": answer.show,
            "channels": list(answer.channels),
            "reason": answer.reason,
        }
    )


@bp.route("/binding/dismiss", methods=["POST", "OPTIONS"])
def binding_dismiss() -> Response:
    if request.method == "OPTIONS":
        return preflight()
    shop, public_id, _ = _visitor(VISITOR)
    popup.dismiss(shop, public_id)
    return _json({"dismissed": True})


@bp.route("/binding/start", methods=["POST", "OPTIONS"])
def binding_start() -> Response:
    if request.method == "OPTIONS":
        return preflight()
    shop, public_id, payload = _visitor(START)
    channel = payload["channel"]
    method = payload["method"] or METHODS[channel][0]
    if method not in METHODS[channel]:
        raise ApiError(
            400, "invalid_field", f"method: {channel} takes one of {METHODS[channel]}."
        )
    try:
        start = start_binding(shop, public_id, channel, method, payload["marketing"])
    except ChannelNotReady as exc:
        raise ApiError(409, exc.code, str(exc)) from None
    return _json(start.as_dict())


@bp.route("/binding/status", methods=["POST", "OPTIONS"])
def binding_status() -> Response:
    if request.method == "OPTIONS":
        return preflight()
    shop, public_id, _ = _visitor(VISITOR)
    return _json({"bound": bound_channels(shop, public_id)})


@bp.route("/binding/unbind", methods=["POST", "OPTIONS"])
def binding_unbind() -> Response:
    if request.method == "OPTIONS":
        return preflight()
    shop, public_id, payload = _visitor(CHANNEL)
    unbound = unbind(shop, public_id, payload["channel"])
    db.session.commit()
    return _json({"unbound": unbound, "bound": bound_channels(shop, public_id)})


@bp.route("/binding/link", methods=["POST", "OPTIONS"])
def binding_link() -> Response:
    if request.method == "OPTIONS":
        return preflight()
    shop, public_id, payload = _visitor(LINK)
    intent = Intent.new(shop.id, public_id, payload["marketing"])
    try:
        url = line_chat.account_link_url(shop, intent, payload["link_token"])
    except InvalidBindingToken as exc:
        raise ApiError(400, exc.code, str(exc)) from None
    return _json({"url": url})


def _visitor(schema: VisitorSchema) -> tuple[Shop, str, dict[str, Any]]:
    """The shop, the verified visitor id and the validated body."""
    widget_shop, payload = _read(schema)
    secret_key = current().settings.secret_key
    try:
        public_id = read_token(
            secret_key, widget_shop.shop_id, payload["visitor_token"]
        )
    except InvalidVisitorToken as exc:
        raise ApiError(401, "invalid_visitor_token", str(exc)) from None
    return db.session.get(Shop, widget_shop.shop_id), public_id, payload
