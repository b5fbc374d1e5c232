"""The Inbox's API bodies: conversations, their timeline, the team's set-up.

Shapes only, like ``plugin.admin.schemas`` (and texts without NUL, which
PostgreSQL refuses); ``engine.chat`` checks the meaning (an empty reply, a
follow-up date in the past, a tag of another shop, a closed channel) and
names the field itself. Times travel as ISO 8601
text in UTC ending in ``Z``, as the engine writes them. Everything a shopper
wrote (names, messages) is sent as JSON text: the page sets it as text.
"""

from __future__ import annotations

from marshmallow import fields
from marshmallow.validate import Length, OneOf, Range

from engine.chat.casework import NOTE_MAX
from engine.chat.conversations import TEXT_MAX
from engine.chat.inbox import PAGE_MAX, QUEUES, TEAM
from engine.chat.models import CHANNELS, STATUSES
from engine.team.models import ROLES
from plugin.admin.schemas import INT_MAX, WHOLE, Strict
from plugin.widget_api.schemas import Text

ID = Range(min=0, max=INT_MAX)
# Conversations in a page of the list, unless asked otherwise.
LIST_PAGE = 50
# Longer than any the engine keeps: the engine names the field at fault.
NAME = Length(max=1000)


class JsonBoolean(fields.Boolean):
    """true or false only: marshmallow's Boolean would also take 0, 1 or "yes"."""

    def _deserialize(
        self, value: object, attr: str | None, data: object, **kwargs: object
    ) -> bool:
        if not isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        return value


# --- conversations ------------------------------------------------------------


class ConversationQuerySchema(Strict):
    queue = Text(load_default=TEAM, validate=OneOf(QUEUES))
    status = Text(validate=OneOf(STATUSES))
    tag = fields.Integer(validate=ID)
    channel = Text(validate=OneOf(CHANNELS))
    assignee = fields.Integer(validate=ID)
    # A row's ``cursor``: only older conversations are listed.
    before = Text(validate=Length(max=200))
    limit = fields.Integer(load_default=LIST_PAGE, validate=Range(1, PAGE_MAX))


class MemberRefSchema(Strict):
    id = fields.Integer(required=True)
    name = fields.String(required=True)


class TagSchema(Strict):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    color = fields.String(required=True)


class ConversationRowSchema(Strict):
    """One conversation as the inbox lists it."""

    id = fields.String(required=True)
    status = fields.String(required=True, validate=OneOf(STATUSES))
    assignee = fields.Nested(MemberRefSchema, allow_none=True, required=True)
    # Where the team's answer goes: the channel the shopper last wrote on.
    channel = fields.String(required=True, validate=OneOf(CHANNELS))
    shopper_name = fields.String(required=True)
    tags = fields.List(fields.Nested(TagSchema), required=True)
    # The last message the shopper could see (notes and events left out).
    preview = fields.String(allow_none=True, required=True)
    last_message_at = fields.String(allow_none=True, required=True)
    waiting_since = fields.String(allow_none=True, required=True)
    follow_up_at = fields.String(allow_none=True, required=True)
    # Shopper messages the viewer has not read.
    unread = fields.Integer(required=True)
    cursor = fields.String(required=True)


class UnreadSchema(Strict):
    """Open or pending conversations with unread shopper messages, per queue."""

    mine = fields.Integer(required=True)
    team = fields.Integer(required=True)
    unassigned = fields.Integer(required=True)


class ConversationListSchema(Strict):
    conversations = fields.List(fields.Nested(ConversationRowSchema), required=True)
    unread = fields.Nested(UnreadSchema, required=True)
    # Pass as ``before`` for the next page; None on the last one.
    next_cursor = fields.String(allow_none=True, required=True)


class ReplyStateSchema(Strict):
    """Whether the conversation's channel takes a reply now, how, until when."""

    channel = fields.String(required=True, validate=OneOf(CHANNELS))
    open = fields.Boolean(required=True)
    # widget, reply_token, push, response or human_agent; None when closed.
    how = fields.String(allow_none=True, required=True)
    until = fields.String(allow_none=True, required=True)
    # Why a closed channel is closed, in words for the team.
    reason = fields.String(allow_none=True, required=True)


AssignmentLogEntrySchema = Strict.from_dict(
    {
        "from": fields.String(allow_none=True, required=True),
        "to": fields.String(allow_none=True, required=True),
        # None when the no-reply timer moved it.
        "by": fields.String(allow_none=True, required=True),
        "reason": fields.String(required=True),
        "at": fields.String(required=True),
    },
    name="AssignmentLogEntry",
)


class ConversationSchema(ConversationRowSchema):
    """One conversation with what the panel shows above its messages."""

    rating = fields.Integer(allow_none=True, required=True)
    rating_requested = fields.Boolean(required=True)
    last_seq = fields.Integer(required=True)
    reply_state = fields.Nested(ReplyStateSchema, required=True)
    assignment_log = fields.List(fields.Nested(AssignmentLogEntrySchema), required=True)


class TimelineQuerySchema(Strict):
    # Only messages numbered above it; without it, the latest page.
    after = fields.Integer(validate=ID)


class TimelineItemSchema(Strict):
    """A message (numbered by ``seq``), or a reminder sent meanwhile (no seq)."""

    seq = fields.Integer(allow_none=True, required=True)
    author = fields.String(required=True)
    # text, image, note, rating_request or event; reminder for a reminder.
    kind = fields.String(required=True)
    # The agent's name on the team's messages.
    name = fields.String(allow_none=True, required=True)
    text = fields.String(allow_none=True, required=True)
    image_url = fields.String(allow_none=True, required=True)
    channel = fields.String(required=True)
    sent_at = fields.String(required=True)
    # queued, delivered or failed, for the team's messages to LINE or Messenger.
    delivery = fields.String(allow_none=True, required=True)
    delivery_error = fields.String(allow_none=True, required=True)
    # Reminders only: which send, its first words (``text`` says it in English
    # around them), and whether the shopper clicked it.
    reminder_id = fields.Integer()
    reminder_text = fields.String(allow_none=True)
    clicked = fields.Boolean()


class ConversationPageSchema(Strict):
    conversation = fields.Nested(ConversationSchema, required=True)
    # Oldest first: at most one page of messages, with the reminders between.
    timeline = fields.List(fields.Nested(TimelineItemSchema), required=True)
    # More messages after this page: ask again with ``after`` its last seq.
    has_more = fields.Boolean(required=True)


# --- the team's work on a conversation ----------------------------------------


class ReplyInSchema(Strict):
    text = Text(required=True, validate=Length(max=TEXT_MAX))
    # Chosen by the page: sending again with it stores nothing twice.
    client_id = Text(load_default=None, validate=Length(1, 64))


class NoteInSchema(Strict):
    text = Text(required=True, validate=Length(max=TEXT_MAX))


class ReplySchema(Strict):
    message = fields.Nested(TimelineItemSchema, required=True)
    reply_state = fields.Nested(ReplyStateSchema, required=True)


class NoteSchema(Strict):
    message = fields.Nested(TimelineItemSchema, required=True)


class AssignInSchema(Strict):
    # A member's id; None gives it back to the unassigned queue.
    assignee = fields.Integer(required=True, allow_none=True, strict=True, validate=ID)
    # Left for the team as an internal note.
    note = Text(load_default=None, allow_none=True, validate=Length(max=NOTE_MAX))


class HandedOverSchema(Strict):
    handed_over = fields.Integer(required=True)


class StatusInSchema(Strict):
    status = Text(required=True, validate=OneOf(STATUSES))
    # Pending only: the case opens again then.
    follow_up_at = fields.AwareDateTime(load_default=None, allow_none=True)


class TagIdsInSchema(Strict):
    # The shop's tag ids: the conversation's tags become exactly these.
    tags = fields.List(
        fields.Integer(strict=True, validate=WHOLE),
        required=True,
        validate=Length(max=100),
    )


class TagListSchema(Strict):
    tags = fields.List(fields.Nested(TagSchema), required=True)


class ReadInSchema(Strict):
    # Read up to this message number.
    seq = fields.Integer(required=True, strict=True, validate=ID)


class FilledReplySchema(Strict):
    text = fields.String(required=True)


# --- the team -----------------------------------------------------------------


class TeamMemberSchema(Strict):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    role = fields.String(required=True, validate=OneOf(ROLES))
    on_shift = fields.Boolean(required=True)


class InboxTeamSchema(Strict):
    # Active members, to give a conversation to.
    members = fields.List(fields.Nested(TeamMemberSchema), required=True)
    me = fields.Nested(TeamMemberSchema, required=True)


class ShiftInSchema(Strict):
    on_shift = JsonBoolean(required=True)


# --- the sidebar --------------------------------------------------------------


class PageSeenSchema(Strict):
    url = fields.String(allow_none=True, required=True)
    type = fields.String(allow_none=True, required=True)
    at = fields.String(allow_none=True, required=True)


class ProductViewedSchema(Strict):
    product_id = fields.String(allow_none=True, required=True)
    handle = fields.String(allow_none=True, required=True)
    views = fields.Integer(required=True)
    last_viewed_at = fields.String(allow_none=True, required=True)


class FootprintSchema(Strict):
    last_page = fields.Nested(PageSeenSchema, allow_none=True, required=True)
    recent_pages = fields.List(fields.Nested(PageSeenSchema), required=True)
    products_viewed = fields.List(fields.Nested(ProductViewedSchema), required=True)
    visit_count = fields.Integer(required=True)
    page_views = fields.Integer(required=True)
    first_seen_at = fields.String(allow_none=True, required=True)
    last_seen_at = fields.String(allow_none=True, required=True)


class VisitorSchema(Strict):
    id = fields.String(required=True)
    first_name = fields.String(allow_none=True, required=True)
    email = fields.String(allow_none=True, required=True)
    phone = fields.String(allow_none=True, required=True)
    customer_id = fields.String(allow_none=True, required=True)


class CartItemSchema(Strict):
    title = fields.String(allow_none=True, required=True)
    variant_title = fields.String(allow_none=True, required=True)
    quantity = fields.Integer(allow_none=True, required=True)
    price = fields.String(allow_none=True, required=True)


class LiveCartSchema(Strict):
    source = fields.String(required=True, validate=OneOf(("cart", "checkout")))
    items = fields.List(fields.Nested(CartItemSchema), required=True)
    total = fields.String(allow_none=True, required=True)
    currency = fields.String(allow_none=True, required=True)
    updated_at = fields.String(allow_none=True, required=True)
    checkout_url = fields.String(allow_none=True, required=True)


class OrderSchema(Strict):
    name = fields.String(allow_none=True, required=True)
    total = fields.String(allow_none=True, required=True)
    currency = fields.String(allow_none=True, required=True)
    created_at = fields.String(allow_none=True, required=True)
    financial_status = fields.String(allow_none=True, required=True)


class ExpiringSchema(Strict):
    amount = fields.String(required=True)
    expires_at = fields.String(allow_none=True, required=True)


class WalletSchema(Strict):
    balance = fields.String(required=True)
    currency = fields.String(allow_none=True, required=True)
    expiring = fields.List(fields.Nested(ExpiringSchema), required=True)


class BindingSchema(Strict):
    channel = fields.String(required=True)
    bound = fields.Boolean(required=True)
    reachable = fields.Boolean(allow_none=True, required=True)
    marketing_consent = fields.Boolean(allow_none=True, required=True)
    bound_at = fields.String(allow_none=True, required=True)


class ReminderSentSchema(Strict):
    sent_at = fields.String(allow_none=True, required=True)
    channel = fields.String(required=True)
    step = fields.Integer(required=True)
    clicked = fields.Boolean(required=True)


class SidebarSchema(Strict):
    """``engine.chat.sidebar.shopper_context``: who the shopper is to the shop."""

    visitor = fields.Nested(VisitorSchema, allow_none=True, required=True)
    footprint = fields.Nested(FootprintSchema, allow_none=True, required=True)
    cart = fields.Nested(LiveCartSchema, allow_none=True, required=True)
    orders = fields.List(fields.Nested(OrderSchema), required=True)
    wallet = fields.Nested(WalletSchema, allow_none=True, required=True)
    bindings = fields.List(fields.Nested(BindingSchema), required=True)
    reminders = fields.List(fields.Nested(ReminderSentSchema), required=True)


# --- set-up: tags, saved replies, settings ------------------------------------


class TagInSchema(Strict):
    name = Text(required=True, validate=NAME)
    # #rrggbb; a new tag without one gets the default colour.
    color = Text(load_default=None, allow_none=True, validate=Length(max=32))


class SavedReplyInSchema(Strict):
    title = Text(required=True, validate=NAME)
    # May hold {first_name}, {agent_name}, {shop_name}, {order_name}, with
    # a fallback: {first_name|there}.
    body = Text(required=True, validate=Length(max=10_000))


class SavedReplySchema(Strict):
    id = fields.Integer(required=True)
    title = fields.String(required=True)
    body = fields.String(required=True)


class SavedReplyListSchema(Strict):
    saved_replies = fields.List(fields.Nested(SavedReplySchema), required=True)


class ChatSettingsInSchema(Strict):
    enabled = JsonBoolean()
    no_reply_minutes = fields.Integer(strict=True, validate=WHOLE)
    no_reply_action = Text(validate=Length(max=32))
    closed_note_en = Text(allow_none=True, validate=NAME)
    closed_note_zh = Text(allow_none=True, validate=NAME)
    messenger_human_agent = JsonBoolean()
    ask_rating = JsonBoolean()


class ChatSettingsSchema(Strict):
    # Whether the widget offers the chat.
    enabled = fields.Boolean(required=True)
    # An open conversation unanswered this long leaves its assignee...
    no_reply_minutes = fields.Integer(required=True)
    # ...for the unassigned queue ("queue") or an on-shift colleague.
    no_reply_action = fields.String(
        required=True, validate=OneOf(("queue", "colleague"))
    )
    # Shown in the widget outside opening hours.
    closed_note_en = fields.String(allow_none=True, required=True)
    closed_note_zh = fields.String(allow_none=True, required=True)
    # Meta granted the Page the human-agent tag: replies up to 7 days.
    messenger_human_agent = fields.Boolean(required=True)
    # Resolving asks the shopper for a rating.
    ask_rating = fields.Boolean(required=True)


# --- the live stream ----------------------------------------------------------


class StreamTokenSchema(Strict):
    # GET it as an EventSource: the token in it is good for ``expires_in`` seconds.
    url = fields.String(required=True)
    expires_in = fields.Integer(required=True)


class StreamQuerySchema(Strict):
    token = Text(required=True, validate=Length(1, 500))
