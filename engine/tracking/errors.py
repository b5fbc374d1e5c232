"""Errors of storefront tracking.

``TrackingError`` is the root; callers catch the specific kind they can act on.
"""

from __future__ import annotations


class TrackingError(Exception):
    """Something about storefront tracking was refused."""


class InvalidVisitorToken(TrackingError):
    """A visitor token that does not verify for the shop it was sent to."""

    def __init__(self, shop_id: int) -> None:
        self.shop_id = shop_id
        super().__init__(
            f"The visitor token does not verify for shop {shop_id!r}; ask for a"
            " new one with a page view."
        )


class InvalidStorefrontOrigin(TrackingError):
    """A storefront origin that is not an http(s) scheme, host and port."""

    def __init__(self, origin: str) -> None:
        self.origin = origin
        super().__init__(
            f"Storefront origin {origin!r} is not an http(s) address such as"
            " 'https://shop.example.com'."
        )


class InvalidStorefrontOrigins(TrackingError):
    """A shop owner's list of storefront origins that cannot be stored.

    ``field`` names the entry at fault (``origins[2]``), or ``origins`` for
    the list as a whole; ``reason`` is the sentence to show there.
    """

    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        self.reason = reason
        super().__init__(f"{field}: {reason}")
