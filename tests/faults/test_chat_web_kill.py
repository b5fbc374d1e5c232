"""A web process killed outright in the middle of a shopper's burst of messages.

Two real gunicorn processes serve the widget, as behind a load balancer.
Shoppers' messages go through one of them until it stalls and is SIGKILLed;
a send that got no answer is sent again through the other with the same
``client_id``, as the widget does. The books: every message that was
answered 201 is stored with the seq it was answered with, the seqs run
1..N without a gap, and no message is stored twice.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from dataclasses import dataclass

import httpx
from sqlalchemy import select

from engine.chat.models import ChatMessage
from engine.db import db
from engine.shops.models import Shop
from tests.faults.conftest import Processes, needs_postgresql
from tests.faults.processes import WebProcess
from tests.widget_api import storefront

pytestmark = needs_postgresql

SENDERS = 4
MESSAGES_EACH = 20


@dataclass
class Sent:
    """One message as the shopper's widget saw it: where it finally went."""

    client_id: str
    text: str
    status: int | None = None
    seq: int | None = None
    conversation_id: str | None = None
    via: str | None = None
    # The first try was under way when its process died (not merely refused).
    cut_off: bool = False


def test_chat_messages_survive_a_web_process_kill(
    shop: Shop, processes: Processes
) -> None:
    # given two web processes and a shopper with a visitor token
    first = processes.web("web-a", wait=False)
    second = processes.web("web-b", wait=False)
    first.wait_ready()
    second.wait_ready()
    token = _visitor_token(first.base, shop)
    hello = _send(first, shop, token, Sent(str(uuid.uuid4()), "hello"))
    assert hello.status == 201

    # when 4 tabs send 20 messages each through the first process, and it is
    # killed (master and worker, SIGKILL) once 15 have been answered, having
    # stalled for 0.3 s first, so some are surely under way
    burst = [
        [
            Sent(str(uuid.uuid4()), f"tab {tab} message {n}")
            for n in range(MESSAGES_EACH)
        ]
        for tab in range(SENDERS)
    ]
    answered = threading.Semaphore(0)
    tabs = [
        threading.Thread(
            target=_send_all, args=(first, second, shop, token, sent, answered)
        )
        for sent in burst
    ]
    for tab in tabs:
        tab.start()
    for _ in range(15):
        assert answered.acquire(timeout=30), "15 answers never came"
    first.freeze()
    time.sleep(0.3)
    first.kill()
    for tab in tabs:
        tab.join(timeout=60)
    assert not any(tab.is_alive() for tab in tabs)

    # then every message got its 201 in the end, some from each process
    sent = [hello, *(message for tab in burst for message in tab)]
    assert {message.status for message in sent} == {201}
    vias = {message.via for message in sent}
    assert vias == {"web-a", "web-b"}

    # and each is stored once, with the seq it was answered with, no gaps
    stored = _stored(shop)
    assert sorted(seq for seq, _ in stored) == list(range(1, len(sent) + 1))
    assert dict((client_id, seq) for seq, client_id in stored) == {
        message.client_id: message.seq for message in sent
    }
    assert {message.conversation_id for message in sent} == {hello.conversation_id}
    assert any(message.cut_off for message in sent), "the kill cut off no send"


def _send_all(
    first: WebProcess,
    second: WebProcess,
    shop: Shop,
    token: str,
    messages: list[Sent],
    answered: threading.Semaphore,
) -> None:
    """One tab: its messages through the first process until a send gets no
    answer; that one again (same client_id) and the rest through the second."""
    process = first
    for message in messages:
        if _send(process, shop, token, message).status is None:
            process = second
            _send(process, shop, token, message)
        answered.release()


def _send(process: WebProcess, shop: Shop, token: str, message: Sent) -> Sent:
    try:
        response = httpx.post(
            f"{process.base}/api/widget/v1/chat/messages",
            content=json.dumps(
                {
                    "widget_key": shop.widget_key,
                    "visitor_token": token,
                    "text": message.text,
                    "client_id": message.client_id,
                }
            ),
            headers={"Content-Type": "text/plain", "Origin": storefront(shop)},
            timeout=10,
        )
    except httpx.TransportError as failure:
        message.status = None
        message.cut_off = not isinstance(failure, httpx.ConnectError)
        return message
    message.status = response.status_code
    if response.status_code == 201:
        answer = response.json()
        message.seq = answer["message"]["seq"]
        message.conversation_id = answer["conversation"]["id"]
        message.via = process.name
    return message


def _visitor_token(base: str, shop: Shop) -> str:
    body = {
        "widget_key": shop.widget_key,
        "visitor_token": None,
        "page": {
            "url": f"{storefront(shop)}/products/chew-toy",
            "page_type": "product",
        },
        "locale": "en",
        "event_id": str(uuid.uuid4()),
    }
    response = httpx.post(
        f"{base}/api/widget/v1/page",
        content=json.dumps(body),
        headers={"Content-Type": "text/plain", "Origin": storefront(shop)},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    return response.json()["visitor_token"]


def _stored(shop: Shop) -> list[tuple[int, str]]:
    """The seq and client id of every message of the shop (one conversation)."""
    db.session.rollback()
    return list(
        db.session.execute(
            select(ChatMessage.seq, ChatMessage.client_id).where(
                ChatMessage.shop_id == shop.id
            )
        )
    )
