"""What the widget's buttons start: a way to bind, and what to open for it.

A press of "LINE" or "Messenger" in the widget becomes an ``Intent`` for the
visitor (with the consent checkbox's answer) and a ``Start``: the URL to
open (LINE Login, the m.me link) or, for a desktop shopper, a one-time code
with the QR code of the link that types it into the LINE chat. Pressing
counts as "clicked" in the funnel. Nothing is bound yet.
"""

from __future__ import annotations

from dataclasses import dataclass

import segno

from engine.binding import funnel, line_chat, line_login, messenger_link, tokens
from engine.binding.errors import ChannelNotReady
from engine.binding.models import LINE, MESSENGER
from engine.binding.popup import ready_channels
from engine.binding.tokens import Intent
from engine.db import db
from engine.shops.models import Shop

LOGIN = "login"
CODE = "code"
LINK = "link"
METHODS = {LINE: (LOGIN, CODE), MESSENGER: (LINK,)}
QR_SCALE = 4


@dataclass(frozen=True)
class Start:
    """What the widget opens (``url``), or shows (``code`` and ``qr``)."""

    channel: str
    method: str
    url: str
    code: str | None = None
    # An SVG data URI of ``url``.
    qr: str | None = None

    def as_dict(self) -> dict[str, str | None]:
        return {
            "channel": self.channel,
            "method": self.method,
            "url": self.url,
            "code": self.code,
            "qr": self.qr,
        }


def start_binding(
    shop: Shop, public_id: str, channel: str, method: str, marketing: bool
) -> Start:
    """Begin binding a verified visitor; raises ``ChannelNotReady``."""
    if channel not in ready_channels(shop.id):
        raise ChannelNotReady(shop.id, channel, "it is not connected for binding")
    intent = Intent.new(shop.id, public_id, marketing)
    if channel == MESSENGER:
        start = Start(channel, LINK, messenger_link.m_me_url(shop, intent))
    elif method == CODE:
        code = tokens.issue_code(intent)
        url = line_chat.oa_message_url(shop, code)
        qr = segno.make(url, error="m").svg_data_uri(scale=QR_SCALE, border=2)
        start = Start(channel, CODE, url, code, qr)
    else:
        start = Start(channel, LOGIN, line_login.authorize_url(shop, intent))

    funnel.count(shop.id, channel, funnel.CLICKED)
    db.session.commit()
    return start
