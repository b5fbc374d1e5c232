"""Inbound webhooks: the store platform's now, LINE's and Messenger's later."""

from flask import Blueprint

bp = Blueprint("webhooks", __name__)

from plugin.webhooks import shopify  # noqa: E402,F401  (registers the routes)
