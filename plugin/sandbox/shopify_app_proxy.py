"""The query the platform adds to an app proxy request, signed as it signs it.

Shopify forwards ``/apps/<subpath>/...`` to the app with ``shop``,
``logged_in_customer_id`` (empty when nobody is logged in), ``path_prefix``,
``timestamp`` and ``signature``: the hex HMAC-SHA256, with the app's
secret, of every other parameter as ``key=value`` sorted and joined with
nothing in between (list values joined by commas).
"""

from __future__ import annotations

import hashlib
import hmac
import time
from urllib.parse import urlencode


def signed_proxy_query(
    secret: str,
    shop_domain: str,
    customer_id: str | None,
    params: dict[str, str] | None = None,
    *,
    path_prefix: str = "/apps/revisit",
    timestamp: int | None = None,
) -> str:
    """The full query string of a proxied request, signature included."""
    values = {
        **(params or {}),
        "shop": shop_domain,
        "logged_in_customer_id": customer_id or "",
        "path_prefix": path_prefix,
        "timestamp": str(int(time.time()) if timestamp is None else timestamp),
    }
    message = "".join(f"{key}={values[key]}" for key in sorted(values))
    signature = hmac.new(secret.encode(), message.encode(), hashlib.sha256)
    return urlencode({**values, "signature": signature.hexdigest()})
