"""Imports every model, so the metadata Alembic and tests see is complete."""

from engine.binding.models import (
    BindingFunnelDay,
    BindingPopup,
    ChannelBinding,
    ChannelDelivery,
    ConsentRecord,
)
from engine.channels.models import ChannelAccount, OpeningHours, SandboxMessage
from engine.chat.models import (
    ChatAssignment,
    ChatImage,
    ChatMessage,
    ChatRead,
    ChatSettings,
    ChatTag,
    Conversation,
    ConversationTag,
    SavedReply,
)
from engine.commerce.models import Cart, Checkout, LineItem, Order
from engine.game.models import (
    GameAttribution,
    GameCampaign,
    GameCollect,
    GameLedgerEntry,
    GameParticipant,
    GameRedemption,
    GameTarget,
    GameWallet,
)
from engine.onsite.models import OnsiteImpression, OnsiteMessage
from engine.privacy.models import DataExport
from engine.reminders.models import (
    ReminderAttribution,
    ReminderFlow,
    ReminderNotice,
    ReminderRun,
    ReminderSend,
    ReminderStep,
)
from engine.shops.models import Shop
from engine.team.models import TeamMember, TeamSession
from engine.tracking.models import StorefrontOrigin, VisitorEvent
from engine.visitors.models import Visitor
from engine.webhooks.models import WebhookDelivery

__all__ = [
    "BindingFunnelDay",
    "BindingPopup",
    "Cart",
    "ChannelAccount",
    "ChannelBinding",
    "ChannelDelivery",
    "ChatAssignment",
    "ChatImage",
    "ChatMessage",
    "ChatRead",
    "ChatSettings",
    "ChatTag",
    "Checkout",
    "ConsentRecord",
    "Conversation",
    "ConversationTag",
    "DataExport",
    "GameAttribution",
    "GameCampaign",
    "GameCollect",
    "GameLedgerEntry",
    "GameParticipant",
    "GameRedemption",
    "GameTarget",
    "GameWallet",
    "LineItem",
    "OnsiteImpression",
    "OnsiteMessage",
    "OpeningHours",
    "Order",
    "ReminderAttribution",
    "ReminderFlow",
    "ReminderNotice",
    "ReminderRun",
    "ReminderSend",
    "ReminderStep",
    "SavedReply",
    "SandboxMessage",
    "Shop",
    "StorefrontOrigin",
    "TeamMember",
    "TeamSession",
    "Visitor",
    "VisitorEvent",
    "WebhookDelivery",
]
