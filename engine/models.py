"""Imports every model, so the metadata Alembic and tests see is complete."""

from engine.binding.models import ChannelBinding
from engine.channels.models import ChannelAccount, SandboxMessage
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
from engine.tracking.models import StorefrontOrigin, VisitorEvent
from engine.visitors.models import Visitor
from engine.webhooks.models import WebhookDelivery

__all__ = [
    "Cart",
    "ChannelAccount",
    "ChannelBinding",
    "Checkout",
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
    "Order",
    "ReminderAttribution",
    "ReminderFlow",
    "ReminderNotice",
    "ReminderRun",
    "ReminderSend",
    "ReminderStep",
    "SandboxMessage",
    "Shop",
    "StorefrontOrigin",
    "Visitor",
    "VisitorEvent",
    "WebhookDelivery",
]
