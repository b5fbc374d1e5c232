"""A delivery as its headers and body describe it, and checks on that claim."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Delivery:
    """What the platform's headers and body told us of one delivery."""

    shop_domain: str
    topic: str
    webhook_id: str
    body: str
    event_id: str | None = None
    api_version: str | None = None
    triggered_at: datetime | None = None


# Where a topic's body names the shop. The HMAC covers the body only, so the
# topic and shop headers are checked against it wherever the body allows:
# a signed body replayed under another shop's or topic's headers is refused.
SHOP_FIELD_BY_TOPIC = {
    "app/uninstalled": "myshopify_domain",
    "customers/data_request": "shop_domain",
    "customers/redact": "shop_domain",
    "shop/redact": "shop_domain",
}


def names_its_shop(delivery: Delivery) -> bool:
    """False when the body names a shop other than the one in the headers."""
    field = SHOP_FIELD_BY_TOPIC.get(delivery.topic)
    if field is None:
        return True
    try:
        named = json.loads(delivery.body).get(field)
    except (ValueError, AttributeError):
        named = None
    if named == delivery.shop_domain:
        return True
    logger.warning(
        "webhooks.shop_mismatch",
        extra={"shop_domain": delivery.shop_domain, "topic": delivery.topic},
    )
    return False
