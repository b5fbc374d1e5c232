"""The admin API's bodies (marshmallow): what the OpenAPI document describes.

Requests are checked here for shape (types, known fields, sizes); the
engine then checks meaning (a delay of 400 days, a Messenger step past the
window) and names the field itself. Responses are dumped through these
schemas too, so an answer cannot stray from the document.
"""

from __future__ import annotations

from marshmallow import RAISE, Schema, fields
from marshmallow.validate import Length, OneOf, Range

from engine.binding.models import CHANNELS
from engine.onsite.models import AUDIENCES, KINDS, URL_MATCHES, VISIT_MODES
from engine.reminders.content import PART_TYPES
from engine.reminders.models import ANY_CHANNEL
from engine.team.models import ROLES

UNITS = ("minutes", "hours", "days")
STEP_CHANNELS = (*CHANNELS, ANY_CHANNEL)
TEXT = Length(max=10_000)
# The database's integer columns hold 32 bits; anything larger is refused
# here rather than failing in the database.
INT_MAX = 2**31 - 1
WHOLE = Range(min=-INT_MAX, max=INT_MAX)
SHORT = Length(max=2048)


class Strict(Schema):
    class Meta:
        unknown = RAISE


class ErrorSchema(Strict):
    detail = fields.String(required=True)
    code = fields.String(required=True)
    field = fields.String()


# --- reminder flow ------------------------------------------------------------


class OptionSchema(Strict):
    label = fields.String(required=True, validate=Length(max=200))
    url = fields.String(allow_none=True, validate=SHORT)
    postback = fields.String(allow_none=True, validate=Length(max=1000))


class PartSchema(Strict):
    type = fields.String(required=True, validate=OneOf(PART_TYPES))
    text = fields.String(validate=TEXT)
    url = fields.String(validate=SHORT)
    preview_url = fields.String(allow_none=True, validate=SHORT)
    button_label = fields.String(validate=Length(max=1000))
    alt_text = fields.String(validate=Length(max=2000))
    options = fields.List(fields.Nested(OptionSchema), validate=Length(max=50))


class StepSchema(Strict):
    enabled = fields.Boolean(load_default=True)
    delay = fields.Integer(required=True, strict=True, validate=WHOLE)
    unit = fields.String(required=True, validate=OneOf(UNITS))
    channel = fields.String(load_default=ANY_CHANNEL, validate=OneOf(STEP_CHANNELS))
    message = fields.List(
        fields.Nested(PartSchema), required=True, validate=Length(max=20)
    )
    latest_minutes = fields.Integer(
        allow_none=True, strict=True, load_default=None, validate=WHOLE
    )


class StepOutSchema(StepSchema):
    position = fields.Integer(required=True)
    delay_minutes = fields.Integer(required=True)


class QuietHoursSchema(Strict):
    start = fields.String(required=True, validate=Length(max=5))
    end = fields.String(required=True, validate=Length(max=5))


class FlowSettingsSchema(Strict):
    enabled = fields.Boolean()
    abandonment_minutes = fields.Integer(strict=True, validate=WHOLE)
    quiet_hours = fields.Nested(QuietHoursSchema, allow_none=True)
    frequency_cap = fields.Integer(strict=True, validate=WHOLE)
    frequency_window_hours = fields.Integer(strict=True, validate=WHOLE)
    attribution_days = fields.Integer(strict=True, validate=WHOLE)
    channel_order = fields.List(
        fields.String(validate=OneOf(CHANNELS)), validate=Length(max=5)
    )
    message_costs = fields.Dict(
        keys=fields.String(validate=OneOf(CHANNELS)),
        values=fields.String(validate=Length(max=32)),
    )


class FlowUpdateSchema(FlowSettingsSchema):
    steps = fields.List(fields.Nested(StepSchema), validate=Length(max=20))


class FlowSchema(FlowSettingsSchema):
    steps = fields.List(fields.Nested(StepOutSchema), required=True)
    max_steps = fields.Integer(required=True)


class PreviewRequestSchema(Strict):
    step = fields.Nested(StepSchema, required=True)
    cart_id = fields.Integer(
        allow_none=True, strict=True, load_default=None, validate=WHOLE
    )


class RenderingSchema(Strict):
    channel = fields.String(required=True)
    payload = fields.List(fields.Dict(), allow_none=True, required=True)
    html = fields.String(allow_none=True, required=True)
    # The same page to frame for a few minutes (``srcdoc`` would inherit the
    # panel's policy, which refuses the page's inline styles).
    url = fields.String(allow_none=True, required=True)
    field = fields.String(allow_none=True, required=True)
    error = fields.String(allow_none=True, required=True)


class PreviewSchema(Strict):
    cart_id = fields.Integer(allow_none=True, required=True)
    cart_label = fields.String(required=True)
    renderings = fields.List(fields.Nested(RenderingSchema), required=True)


class TestSendSchema(Strict):
    channel = fields.String(required=True)
    delivered_to = fields.String(required=True)
    recipient_id = fields.String(required=True)
    message_ids = fields.List(fields.String(), required=True)


class CartSchema(Strict):
    id = fields.Integer(required=True)
    label = fields.String(required=True)
    item_count = fields.Integer(required=True)
    updated_at = fields.AwareDateTime(required=True)


class CartListSchema(Strict):
    carts = fields.List(fields.Nested(CartSchema), required=True)


# --- on-site messages ---------------------------------------------------------


class MessageTextsSchema(Strict):
    title = fields.String(validate=Length(max=1000))
    body = fields.String(validate=Length(max=5000))
    button_label = fields.String(validate=Length(max=1000))


class OnsiteMessageInSchema(Strict):
    name = fields.String(validate=Length(max=1000))
    kind = fields.String(validate=OneOf(KINDS))
    texts = fields.Dict(
        keys=fields.String(validate=Length(max=35)),
        values=fields.Nested(MessageTextsSchema),
    )
    default_locale = fields.String(allow_none=True, validate=Length(max=35))
    image_url = fields.String(allow_none=True, validate=SHORT)
    link_url = fields.String(allow_none=True, validate=SHORT)
    slug = fields.String(allow_none=True, validate=Length(max=100))
    url_match = fields.String(validate=OneOf(URL_MATCHES))
    url_value = fields.String(allow_none=True, validate=SHORT)
    excluded_pages = fields.List(
        fields.String(validate=SHORT), validate=Length(max=100)
    )
    delay_seconds = fields.Integer(strict=True, validate=WHOLE)
    exit_intent = fields.Boolean()
    visit_number = fields.Integer(allow_none=True, strict=True, validate=WHOLE)
    visit_mode = fields.String(validate=OneOf(VISIT_MODES))
    cart_over = fields.Decimal(allow_none=True, as_string=True, places=2)
    audience = fields.String(validate=OneOf(AUDIENCES))
    starts_at = fields.AwareDateTime(allow_none=True)
    ends_at = fields.AwareDateTime(allow_none=True)
    cap_per_visitor = fields.Integer(allow_none=True, strict=True, validate=WHOLE)
    active = fields.Boolean()


class OnsiteMessageSchema(OnsiteMessageInSchema):
    id = fields.Integer(required=True)
    views = fields.Integer(required=True)
    clicks = fields.Integer(required=True)
    dismissals = fields.Integer(required=True)


class OnsiteMessageListSchema(Strict):
    messages = fields.List(fields.Nested(OnsiteMessageSchema), required=True)


# --- channels -----------------------------------------------------------------


class LineSettingsInSchema(Strict):
    channel_id = fields.String(required=True, validate=Length(max=64))
    channel_secret = fields.String(allow_none=True, validate=Length(max=256))
    channel_access_token = fields.String(allow_none=True, validate=Length(max=2048))
    test_recipient_id = fields.String(allow_none=True, validate=Length(max=128))
    # Binding: left out keeps the stored Login channel and basic ID, empty
    # removes them; an empty Login secret keeps the one of the same channel.
    login_channel_id = fields.String(allow_none=True, validate=Length(max=64))
    login_channel_secret = fields.String(allow_none=True, validate=Length(max=256))
    basic_id = fields.String(allow_none=True, validate=Length(max=64))


class MessengerSettingsInSchema(Strict):
    page_id = fields.String(required=True, validate=Length(max=64))
    page_access_token = fields.String(allow_none=True, validate=Length(max=2048))
    test_recipient_id = fields.String(allow_none=True, validate=Length(max=128))


class ChannelSettingsSchema(Strict):
    channel = fields.String(required=True)
    connected = fields.Boolean(required=True)
    account_id = fields.String(allow_none=True, required=True)
    secret_set = fields.Boolean(required=True)
    token_set = fields.Boolean(required=True)
    test_recipient_id = fields.String(allow_none=True, required=True)
    quota_paused_until = fields.AwareDateTime(allow_none=True, required=True)
    login_channel_id = fields.String(allow_none=True, required=True)
    login_secret_set = fields.Boolean(required=True)
    basic_id = fields.String(allow_none=True, required=True)


class SetupAddressesSchema(Strict):
    line_login_callback_url = fields.String(allow_none=True, required=True)
    line_webhook_url = fields.String(allow_none=True, required=True)
    messenger_webhook_url = fields.String(required=True)
    messenger_webhook_ready = fields.Boolean(required=True)


class ScheduleSchema(Strict):
    timezone = fields.String(allow_none=True, validate=Length(max=64))
    opening_hours = fields.List(
        fields.List(
            fields.List(fields.String(validate=Length(max=5)), validate=Length(max=2)),
            validate=Length(max=5),
        ),
        required=True,
        validate=Length(max=7),
    )


class ChannelsSchema(Strict):
    channels = fields.List(fields.Nested(ChannelSettingsSchema), required=True)
    schedule = fields.Nested(ScheduleSchema, required=True)
    addresses = fields.Nested(SetupAddressesSchema, required=True)


# --- results ------------------------------------------------------------------


class PeriodQuerySchema(Strict):
    since = fields.Date()
    until = fields.Date()


class FiguresSchema(Strict):
    sent = fields.Integer(required=True)
    failed = fields.Integer(required=True)
    clicked = fields.Integer(required=True)
    orders = fields.Integer(required=True)
    revenue = fields.String(required=True)
    cost = fields.String(required=True)
    conversion_rate = fields.Float(allow_none=True, required=True)
    roas = fields.Float(allow_none=True, required=True)


class ChannelFiguresSchema(FiguresSchema):
    channel = fields.String(required=True)


class StepFiguresSchema(ChannelFiguresSchema):
    position = fields.Integer(required=True)


class DaySchema(Strict):
    day = fields.Date(required=True)
    sent = fields.Integer(required=True)
    clicked = fields.Integer(required=True)
    orders = fields.Integer(required=True)
    revenue = fields.String(required=True)


class OnsiteFiguresSchema(Strict):
    message_id = fields.Integer(required=True)
    name = fields.String(required=True)
    views = fields.Integer(required=True)
    clicks = fields.Integer(required=True)
    dismissals = fields.Integer(required=True)


class FailureSchema(Strict):
    channel = fields.String(allow_none=True, required=True)
    reason = fields.String(allow_none=True, required=True)
    error_code = fields.String(allow_none=True, required=True)
    count = fields.Integer(required=True)
    latest_detail = fields.String(allow_none=True, required=True)
    latest_at = fields.AwareDateTime(allow_none=True, required=True)


class NoticeSchema(Strict):
    kind = fields.String(required=True)
    channel = fields.String(allow_none=True, required=True)
    detail = fields.String(required=True)
    until = fields.AwareDateTime(allow_none=True, required=True)
    created_at = fields.AwareDateTime(required=True)


class ResultsSchema(Strict):
    since = fields.Date(required=True)
    until = fields.Date(required=True)
    currency = fields.String(required=True)
    totals = fields.Nested(FiguresSchema, required=True)
    channels = fields.List(fields.Nested(ChannelFiguresSchema), required=True)
    steps = fields.List(fields.Nested(StepFiguresSchema), required=True)
    days = fields.List(fields.Nested(DaySchema), required=True)
    onsite = fields.List(fields.Nested(OnsiteFiguresSchema), required=True)
    failures = fields.List(fields.Nested(FailureSchema), required=True)
    notices = fields.List(fields.Nested(NoticeSchema), required=True)


# --- team ---------------------------------------------------------------------


class MemberInSchema(Strict):
    email = fields.String(required=True, validate=Length(max=320))
    display_name = fields.String(required=True, validate=Length(max=200))
    role = fields.String(required=True, validate=OneOf(ROLES))
    password = fields.String(required=True, validate=Length(max=500), load_only=True)


class MemberSchema(Strict):
    id = fields.Integer(required=True)
    email = fields.String(required=True)
    display_name = fields.String(required=True)
    role = fields.String(required=True)
    active = fields.Boolean(required=True)
    last_signed_in_at = fields.AwareDateTime(allow_none=True, required=True)


class MemberListSchema(Strict):
    members = fields.List(fields.Nested(MemberSchema), required=True)
