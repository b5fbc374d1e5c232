"""The fake Messenger's user side: m.me links, threads and signed webhooks.

Mixed into ``FakeMessengerPlatform``. ``set_webhook`` subscribes the app
the way Meta does (a ``GET`` with ``hub.mode=subscribe``, our verify token
and a challenge the app must echo). ``/m.me/{page id}?ref=`` opens the
shopper's thread with the Page: a new thread starts with "Get Started"
(a ``messaging_postbacks`` event with ``postback.referral``), an existing
one reports ``messaging_referrals``; a ref over 250 characters or outside
``a-zA-Z0-9+/=-.:_`` is refused, as Meta documents for refs. Messages
written there (and photos, ``user_sends_image``) reach the app as
``messages`` events; a tapped quick reply as a ``messages`` event with
``quick_reply.payload``, a tapped postback button as ``messaging_postbacks``
(``user_taps``). What the shopper sends also shows on their phone
(``/outbox/{psid}``). Every delivery is signed ``X-Hub-Signature-256`` with
the app secret.
"""

from __future__ import annotations

import json
import re
import secrets
from typing import Any

import httpx
from flask import Flask, Response, request

from plugin.sandbox import chat_pages
from plugin.sandbox.chat_platform import Tap

REF_MAX = 250
REF_CHARACTERS = re.compile(r"[A-Za-z0-9+/=\-.:_]*")


class MessengerThreadsMixin:
    """Webhook subscription, deliveries and the thread pages."""

    def _init_threads(self) -> None:
        self.webhook_url: str | None = None
        self.deliveries: list[int] = []
        self._threads: dict[tuple[str, str], list[tuple[str, str]]] = {}

    def set_webhook(self, url: str, verify_token: str) -> bool:
        """Subscribe ``url``: True when it echoed the challenge, as Meta demands."""
        challenge = secrets.token_hex(8)
        response = httpx.get(
            url,
            params={
                "hub.mode": "subscribe",
                "hub.verify_token": verify_token,
                "hub.challenge": challenge,
            },
            timeout=10,
        )
        subscribed = response.status_code == 200 and response.text == challenge
        self.webhook_url = url if subscribed else None
        return subscribed

    def open_thread(self, page_id: str, psid: str, ref: str | None) -> int | None:
        """The shopper follows an m.me link (with ``ref``) to the Page."""
        new = (page_id, psid) not in self._threads
        self._threads.setdefault((page_id, psid), [])
        self.receive_message(page_id, psid)
        referral = {"ref": ref, "source": "SHORTLINK", "type": "OPEN_THREAD"}
        if new:
            event = {
                "postback": {
                    "title": "Get Started",
                    "payload": "GET_STARTED",
                    "mid": f"m_{secrets.token_hex(8)}",
                    "referral": referral,
                }
            }
        else:
            event = {"referral": referral}
        return self.deliver_event(page_id, psid, event)

    def user_sends_text(self, page_id: str, psid: str, text: str) -> int | None:
        self._threads.setdefault((page_id, psid), []).append(("mine", text))
        self.record_shopper_message(page_id, psid, {"text": text})
        self.receive_message(page_id, psid)
        message = {"mid": f"m_{secrets.token_hex(8)}", "text": text}
        return self.deliver_event(page_id, psid, {"message": message})

    def user_sends_image(self, page_id: str, psid: str, url: str) -> int | None:
        """The shopper sends a photo; Meta's event carries its CDN ``url``."""
        self._threads.setdefault((page_id, psid), []).append(("mine", "(image)"))
        self.record_shopper_message(
            page_id, psid, {"attachment": {"type": "image", "payload": {"url": url}}}
        )
        self.receive_message(page_id, psid)
        message = {
            "mid": f"m_{secrets.token_hex(8)}",
            "attachments": [{"type": "image", "payload": {"url": url}}],
        }
        return self.deliver_event(page_id, psid, {"message": message})

    def user_taps(self, page_id: str, psid: str, tap: Tap) -> int | None:
        """The shopper taps a quick reply (sent as a message carrying its
        payload) or a postback button (a ``messaging_postbacks`` event); the
        thread shows its title as the shopper's message, as Messenger does."""
        mid = f"m_{secrets.token_hex(8)}"
        if tap.kind == "quick_reply":
            event = {
                "message": {
                    "mid": mid,
                    "text": tap.label,
                    "quick_reply": {"payload": tap.data},
                }
            }
        elif tap.kind == "postback":
            event = {"postback": {"mid": mid, "title": tap.label, "payload": tap.data}}
        else:
            raise ValueError(f"Messenger has no {tap.kind!r} button to tap.")
        self._threads.setdefault((page_id, psid), []).append(("mine", tap.label))
        self.record_shopper_message(page_id, psid, {"text": tap.label})
        self.receive_message(page_id, psid)
        return self.deliver_event(page_id, psid, event)

    def deliver_event(
        self, page_id: str, psid: str, event: dict[str, Any]
    ) -> int | None:
        """One messaging event in a page webhook; the app's status, or None."""
        timestamp = int(self.now().timestamp() * 1000)
        messaging = {
            "sender": {"id": psid},
            "recipient": {"id": page_id},
            "timestamp": timestamp,
            **event,
        }
        entry = {"id": page_id, "time": timestamp, "messaging": [messaging]}
        return self.deliver({"object": "page", "entry": [entry]})

    def deliver(self, payload: dict[str, Any]) -> int | None:
        if self.webhook_url is None:
            return None
        body = json.dumps(payload, separators=(",", ":")).encode()
        response = httpx.post(
            self.webhook_url,
            content=body,
            headers={
                "Content-Type": "application/json",
                "X-Hub-Signature-256": self.sign_webhook(body),
            },
            timeout=10,
        )
        self.deliveries.append(response.status_code)
        return response.status_code

    @property
    def me_url(self) -> str | None:
        """What ``MESSENGER_ME_BASE_URL`` points at: this fake's m.me."""
        if self.base_url is None:
            return None
        return self.base_url.removesuffix(f"/{self.api_version}") + "/m.me"

    def _forget_threads(self) -> None:
        self._init_threads()

    def _account_ids(self) -> list[str]:
        with self._lock:
            return list(self._pages)

    def _add_thread_routes(self, app: Flask) -> None:
        app.add_url_rule(
            "/m.me/<page_id>", "m_me", self._thread_page, methods=["GET", "POST"]
        )

    def _thread_page(self, page_id: str) -> Response:
        values = request.values
        ref = values.get("ref") or ""
        if len(ref) > REF_MAX or not REF_CHARACTERS.fullmatch(ref):
            return _problem(
                "This link is not valid", "The ref is too long or malformed."
            )
        if page_id not in self._pages:
            return _problem("Page not found", f"No Page {page_id}.")
        psid = values.get("psid") or str(
            7_000_000_000_000_000 + secrets.randbelow(10**15)
        )
        if request.method == "POST":
            if values.get("start"):
                self.open_thread(page_id, psid, ref)
            elif values.get("text"):
                self.user_sends_text(page_id, psid, values["text"])
            ref = ""
        history = [
            {"side": side, "text": text}
            for side, text in self._threads.get((page_id, psid), [])
        ] + [
            {"side": "", "text": m.get("text") or "(message)"}
            for entry in self.delivered_to(psid)
            for m in entry.messages
        ]
        new = (page_id, psid) not in self._threads
        html = chat_pages.render(
            "Messenger",
            chat_pages.MESSENGER_BLUE,
            chat_pages.MESSENGER_THREAD,
            page_name=f"Page {page_id}",
            history=history,
            action=request.path,
            ref=ref,
            psid=psid,
            start_label="Get Started" if new else "Continue",
        )
        return Response(html, mimetype="text/html")


def _problem(heading: str, detail: str) -> Response:
    html = chat_pages.render(
        "Messenger",
        chat_pages.MESSENGER_BLUE,
        chat_pages.PROBLEM,
        heading=heading,
        detail=detail,
    )
    return Response(html, status=400, mimetype="text/html")
