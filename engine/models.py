"""Imports every model, so the metadata Alembic and tests see is complete."""

from engine.commerce.models import Cart, Checkout, LineItem, Order
from engine.privacy.models import DataExport
from engine.shops.models import Shop
from engine.visitors.models import Visitor
from engine.webhooks.models import WebhookDelivery

__all__ = [
    "Cart",
    "Checkout",
    "DataExport",
    "LineItem",
    "Order",
    "Shop",
    "Visitor",
    "WebhookDelivery",
]
