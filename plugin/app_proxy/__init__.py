"""The app proxy: storefront requests to ``/apps/revisit/...``, signed by Shopify.

Shopify forwards them here with ``shop``, ``logged_in_customer_id``,
``timestamp`` and ``signature`` added; shopifyapp checks the signature (and
a timestamp within 90 seconds) before anything else. It is the one place a
storefront request may say who the customer is.
"""

from flask import Blueprint

bp = Blueprint("app_proxy", __name__, url_prefix="/proxy")

from plugin.app_proxy import routes  # noqa: E402,F401  (registers the routes)
