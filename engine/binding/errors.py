"""Errors of binding shoppers to LINE and Messenger.

``BindingError`` is the root; each has a ``code`` the web layer answers with.
``InvalidBindingToken`` covers every token a binding starts from (LINE
Login's state, an m.me ref, a one-time code, an account-link nonce): its
``reason`` says whether it was tampered with, expired, used already or
issued for another shop, and no binding is made from it.
"""

from __future__ import annotations

TAMPERED = "tampered"
EXPIRED = "expired"
REPLAYED = "replayed"
OTHER_SHOP = "other_shop"
UNKNOWN = "unknown"

_REASONS = {
    TAMPERED: "does not verify: it was altered or not issued by us",
    EXPIRED: "has expired; start again from the store",
    REPLAYED: "was already used",
    OTHER_SHOP: "was issued for another shop",
    UNKNOWN: "is not one we issued, or it expired long ago",
}


class BindingError(Exception):
    """Something about binding a shopper was refused."""

    code = "binding_error"


class InvalidBindingToken(BindingError):
    """A token that cannot start a binding; ``reason`` is one of the constants."""

    def __init__(self, kind: str, reason: str) -> None:
        self.kind = kind
        self.reason = reason
        self.code = f"{reason}_token"
        super().__init__(f"The {kind} {_REASONS[reason]}.")


class ChannelNotReady(BindingError):
    """The shop's channel lacks what binding through it needs."""

    code = "channel_not_ready"

    def __init__(self, shop_id: int, channel: str, missing: str) -> None:
        self.shop_id = shop_id
        self.channel = channel
        self.missing = missing
        super().__init__(
            f"Shop {shop_id!r} cannot bind shoppers to {channel}: {missing}."
        )


class LoginFailed(BindingError):
    """LINE Login did not end in a verified LINE user (refused, or bad answer)."""

    code = "line_login_failed"

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(f"LINE Login did not complete: {reason}")


class InvalidPopupSettings(BindingError):
    """A pop-up setting with a value the pop-up cannot use; names the field."""

    code = "invalid_field"

    def __init__(self, field: str, problem: str) -> None:
        self.field = field
        self.problem = problem
        super().__init__(f"Pop-up field {field!r} {problem}")
