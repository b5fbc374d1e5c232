"""The shop: one store that installed Revisit, and its credentials."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from engine.db import EncryptedText, Timestamps, UTCDateTime, db, utcnow

# Refresh a minute before expiry, the margin shopifyapp itself applies, so a
# token never lapses mid-call and the library agrees a refresh is due.
TOKEN_REFRESH_MARGIN = timedelta(seconds=60)


def new_widget_key() -> str:
    return "wk_" + secrets.token_urlsafe(18)


class Shop(Timestamps, db.Model):
    __tablename__ = "shops"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The permanent *.myshopify.com domain; the platform's key for a shop.
    shop_domain: Mapped[str] = mapped_column(String(255), unique=True)
    name: Mapped[str | None] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(255))
    currency: Mapped[str | None] = mapped_column(String(3))
    timezone: Mapped[str | None] = mapped_column(String(64))
    # Set when the merchant chose the time zone in the panel: the platform's
    # own zone no longer overwrites it.
    timezone_chosen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Public: the storefront widget sends it; it identifies, it does not authorize.
    widget_key: Mapped[str] = mapped_column(
        String(64), unique=True, default=new_widget_key
    )

    access_token: Mapped[str | None] = mapped_column(EncryptedText(512))
    access_token_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    refresh_token: Mapped[str | None] = mapped_column(EncryptedText(512))
    refresh_token_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    scopes: Mapped[str | None] = mapped_column(String(1024))

    installed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When the current tokens were granted (install, reinstall or a new
    # exchange); an uninstall triggered before this is old news.
    granted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    uninstalled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Platform changes up to this time are known to be applied (reconciliation).
    reconciled_through: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def is_installed(self) -> bool:
        return self.uninstalled_at is None and self.access_token is not None

    @property
    def shop_name(self) -> str:
        """The handle before .myshopify.com, as shopifyapp names a shop."""
        return self.shop_domain.removesuffix(".myshopify.com")

    def access_token_is_fresh(self, now: datetime | None = None) -> bool:
        """True when the stored access token can be used without a refresh."""
        if self.access_token is None:
            return False
        if self.access_token_expires_at is None:
            return True
        return self.access_token_expires_at - TOKEN_REFRESH_MARGIN > (now or utcnow())

    def __repr__(self) -> str:
        return f"<Shop {self.id} {self.shop_domain}>"
