"""The Binding screen's API bodies: the pop-up's settings and the funnel.

Shapes only, like ``plugin.admin.schemas``; ``engine.binding.popup`` checks
the meaning (ranges per trigger, text lengths, a default locale among the
texts) and names the field itself.
"""

from __future__ import annotations

from marshmallow import fields
from marshmallow.validate import Length, OneOf

from engine.binding.models import CHANNELS
from engine.binding.popup import PAGE_TYPES, TRIGGERS
from plugin.admin.schemas import SHORT, WHOLE, Strict

LOCALE_KEY = Length(max=35)


class PopupTextsSchema(Strict):
    title = fields.String(validate=Length(max=1000))
    body = fields.String(validate=Length(max=1000))
    consent = fields.String(validate=Length(max=1000))
    success = fields.String(validate=Length(max=1000))


class PopupInSchema(Strict):
    enabled = fields.Boolean()
    page_types = fields.List(
        fields.String(validate=OneOf(PAGE_TYPES)), validate=Length(max=10)
    )
    excluded_pages = fields.List(
        fields.String(validate=SHORT), validate=Length(max=100)
    )
    trigger = fields.String(validate=OneOf(tuple(TRIGGERS)))
    trigger_count = fields.Integer(strict=True, validate=WHOLE)
    max_per_day = fields.Integer(strict=True, validate=WHOLE)
    channels = fields.List(
        fields.String(validate=OneOf(CHANNELS)), validate=Length(max=5)
    )
    texts = fields.Dict(
        keys=fields.String(validate=LOCALE_KEY),
        values=fields.Nested(PopupTextsSchema),
    )
    default_locale = fields.String(validate=LOCALE_KEY)
    tag = fields.String(allow_none=True, validate=Length(max=64))


class PopupSchema(Strict):
    enabled = fields.Boolean(required=True)
    page_types = fields.List(fields.String(), required=True)
    excluded_pages = fields.List(fields.String(), required=True)
    trigger = fields.String(required=True)
    trigger_count = fields.Integer(required=True)
    max_per_day = fields.Integer(required=True)
    channels = fields.List(fields.String(), required=True)
    texts = fields.Dict(
        keys=fields.String(),
        values=fields.Dict(keys=fields.String(), values=fields.String()),
        required=True,
    )
    default_locale = fields.String(required=True)
    tag = fields.String(allow_none=True, required=True)
    # False until the merchant first saves: until then no pop-up shows.
    saved = fields.Boolean(required=True)
    # The channels the shop can bind through now (connected and set up).
    ready_channels = fields.List(fields.String(), required=True)


class FunnelCountsSchema(Strict):
    channel = fields.String(required=True)
    shown = fields.Integer(required=True)
    clicked = fields.Integer(required=True)
    bound = fields.Integer(required=True)


class FunnelDaySchema(FunnelCountsSchema):
    day = fields.Date(required=True)


class FunnelSchema(Strict):
    since = fields.Date(required=True)
    until = fields.Date(required=True)
    channels = fields.List(fields.Nested(FunnelCountsSchema), required=True)
    days = fields.List(fields.Nested(FunnelDaySchema), required=True)
