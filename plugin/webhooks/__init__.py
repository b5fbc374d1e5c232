"""Inbound webhooks: the store platform's, LINE's and Messenger's."""

from flask import Blueprint

bp = Blueprint("webhooks", __name__)

from plugin.webhooks import line, messenger, shopify  # noqa: E402,F401  (the routes)
