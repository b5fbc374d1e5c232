"""The Bonus game screen's API bodies: campaigns, their figures, their results.

Shapes only, like ``plugin.admin.schemas``; ``engine.game.campaigns`` checks
the meaning (amounts, ranges, a reward above the cap, an end before the
start) and names the field itself (``targets[1].reward``). Amounts travel
as text with at most two decimals (``"12.50"``), both ways, so no float
ever rounds money.
"""

from __future__ import annotations

from datetime import UTC, datetime

from marshmallow import ValidationError, fields
from marshmallow.validate import Length, OneOf

from engine.game.campaigns import ICONS
from engine.game.models import TARGET_KINDS
from plugin.admin.schemas import SHORT, WHOLE, Strict

AMOUNT = Length(max=32)
STATES = ("scheduled", "live", "paused", "ended")
# Dates outside these cannot be meant, and far ones could not be converted
# to UTC for storing (year 1 at +01:00 is before datetime's first moment).
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)


def _plausible(moment: datetime) -> None:
    if not EARLIEST <= moment < LATEST:
        raise ValidationError("must be a date from 2000 to 2099.")


class LookSchema(Strict):
    icon = fields.String(validate=OneOf(ICONS))
    color = fields.String(validate=Length(max=16))
    # The collectible's label per locale ("en", "zh-TW").
    texts = fields.Dict(
        keys=fields.String(validate=Length(max=35)),
        values=fields.String(validate=Length(max=1000)),
    )


class TargetInSchema(Strict):
    # An existing target, named on update: only its reward may change.
    id = fields.Integer(strict=True, validate=WHOLE)
    kind = fields.String(validate=OneOf(TARGET_KINDS))
    value = fields.String(validate=SHORT)
    reward = fields.String(validate=AMOUNT)


class CampaignUpdateSchema(Strict):
    name = fields.String(validate=Length(max=1000))
    starts_at = fields.AwareDateTime(validate=_plausible)
    ends_at = fields.AwareDateTime(allow_none=True, validate=_plausible)
    # The full list: a target left out is removed (its collects stay).
    targets = fields.List(fields.Nested(TargetInSchema), validate=Length(max=100))
    min_seconds = fields.Integer(strict=True, validate=WHOLE)
    cap_per_visitor = fields.String(validate=AMOUNT)
    budget = fields.String(validate=AMOUNT)
    credit_expiry_days = fields.Integer(strict=True, validate=WHOLE)
    look = fields.Nested(LookSchema)
    paused = fields.Boolean()


class CampaignCreateSchema(CampaignUpdateSchema):
    name = fields.String(required=True, validate=Length(max=1000))
    starts_at = fields.AwareDateTime(required=True, validate=_plausible)
    targets = fields.List(
        fields.Nested(TargetInSchema), required=True, validate=Length(max=100)
    )
    cap_per_visitor = fields.String(required=True, validate=AMOUNT)
    budget = fields.String(required=True, validate=AMOUNT)
    # Only while the shop's own currency is not known yet; fixed once created.
    currency = fields.String(validate=Length(max=3))


class TargetSchema(Strict):
    id = fields.Integer(required=True)
    kind = fields.String(required=True)
    value = fields.String(required=True)
    reward = fields.String(required=True)


class LookOutSchema(Strict):
    icon = fields.String(required=True)
    color = fields.String(required=True)
    texts = fields.Dict(keys=fields.String(), values=fields.String(), required=True)


class HeadlineSchema(Strict):
    """What the list shows of each campaign's results."""

    shown_to = fields.Integer(required=True)
    collectors = fields.Integer(required=True)
    collected = fields.String(required=True)
    orders = fields.Integer(required=True)
    revenue = fields.String(required=True)


class CampaignSchema(Strict):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    # scheduled, live, paused or ended (its end passed), by the game's clock.
    state = fields.String(required=True, validate=OneOf(STATES))
    paused = fields.Boolean(required=True)
    starts_at = fields.AwareDateTime(required=True)
    ends_at = fields.AwareDateTime(allow_none=True, required=True)
    targets = fields.List(fields.Nested(TargetSchema), required=True)
    min_seconds = fields.Integer(required=True)
    cap_per_visitor = fields.String(required=True)
    budget = fields.String(required=True)
    # What visitors collected so far, and what they still may.
    spent = fields.String(required=True)
    budget_left = fields.String(required=True)
    credit_expiry_days = fields.Integer(required=True)
    currency = fields.String(required=True)
    look = fields.Nested(LookOutSchema, required=True)
    figures = fields.Nested(HeadlineSchema, required=True)
    created_at = fields.AwareDateTime(required=True)
    updated_at = fields.AwareDateTime(required=True)


class CampaignListSchema(Strict):
    campaigns = fields.List(fields.Nested(CampaignSchema), required=True)
    # The shop's currency, for a new campaign; None until the platform said.
    currency = fields.String(allow_none=True, required=True)


class CampaignResultsSchema(Strict):
    """``engine.game.CampaignResults``: the campaign's whole life so far."""

    campaign_id = fields.Integer(required=True)
    name = fields.String(required=True)
    currency = fields.String(required=True)
    shown_to = fields.Integer(required=True)
    collectors = fields.Integer(required=True)
    collects = fields.Integer(required=True)
    collected = fields.String(required=True)
    expired = fields.String(required=True)
    codes_issued = fields.Integer(required=True)
    credits_issued = fields.Integer(required=True)
    issued_amount = fields.String(required=True)
    codes_used = fields.Integer(required=True)
    credits_used = fields.Integer(required=True)
    used_amount = fields.String(required=True)
    orders = fields.Integer(required=True)
    revenue = fields.String(required=True)
    # Collectors who bought with a bonus, over collectors.
    conversion_rate = fields.Float(allow_none=True, required=True)
    # Codes used plus store credit issued: what the shop gave away.
    cost = fields.String(required=True)
    cost_to_revenue = fields.Float(allow_none=True, required=True)
