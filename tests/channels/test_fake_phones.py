"""The fakes' phone pages: writing and tapping as a LINE or Messenger shopper.

``/outbox/<recipient>`` on the fake LINE and Messenger is one shopper's
phone. Its "Write as this shopper" box and its quick replies post to the
fake, which sends the app the signed webhook the platform would; the app
records it, and the worker puts it in the shopper's conversation.
"""

from __future__ import annotations

import html
import json
import re

import httpx
import pytest
from flask import Flask
from sqlalchemy import select

from engine.binding.models import LINE, MESSENGER, ChannelDelivery
from engine.chat.casework import set_status
from engine.chat.conversations import conversation_of_account
from engine.chat.models import ChatMessage, Conversation
from engine.db import db
from engine.shops.models import Shop
from plugin.sandbox.chat_platform import FakeChatPlatform
from plugin.sandbox.line_platform import FakeLinePlatform
from plugin.sandbox.messenger_platform import FakeMessengerPlatform
from tests.binding.conftest import (  # noqa: F401  (fixtures, by name)
    PAGE_ID,
    PAGE_TOKEN,
    binding_shop,
    line_fake,
    live_app,
    messenger_fake,
)
from tests.channels.conftest import LINE_CHANNEL_ID, LINE_TOKEN, LINE_USER
from tests.chat import a_member
from tests.conftest import run_jobs

USER = "U" + "b" * 32
PSID = "7000000000000042"
QUESTION = "Does the rope tug come in large?"


@pytest.fixture
def fakes(
    binding_shop: Shop,  # noqa: F811
    line_fake: FakeLinePlatform,  # noqa: F811
    messenger_fake: FakeMessengerPlatform,  # noqa: F811
) -> dict[str, tuple[FakeChatPlatform, str]]:
    """Each channel's fake, with the webhooks pointed at the live app, and
    the shopper whose phone the test uses."""
    return {LINE: (line_fake, USER), MESSENGER: (messenger_fake, PSID)}


def say(fake: FakeChatPlatform, recipient: str, text: str) -> httpx.Response:
    return httpx.post(f"{fake.phone_url(recipient)}/say", data={"text": text})


def tap_forms(page: str) -> list[dict[str, str]]:
    """The phone's tappable buttons: where each posts and what."""
    forms = re.findall(
        r'<form class="tap" method="post" action="([^"]*)">(.*?)</form>', page, re.S
    )
    return [
        {
            "action": html.unescape(action),
            **{
                name: html.unescape(value)
                for name, value in re.findall(r'name="(\w+)" value="([^"]*)"', fields)
            },
        }
        for action, fields in forms
    ]


def root(fake: FakeChatPlatform) -> str:
    """The fake's address, which the phone's paths are relative to."""
    return fake.outbox_url.removesuffix("/outbox")


def tap(fake: FakeChatPlatform, button: dict[str, str]) -> httpx.Response:
    """Tap a button as the browser would: post its form."""
    fields = {name: button[name] for name in ("kind", "data", "label")}
    return httpx.post(f"{root(fake)}{button['action']}", data=fields)


def conversation_texts(shop: Shop, channel: str, account: str) -> list[str | None]:
    conversation = conversation_of(shop, channel, account)
    return list(
        db.session.scalars(
            select(ChatMessage.text)
            .where(ChatMessage.conversation_id == conversation.id)
            .order_by(ChatMessage.seq)
        )
    )


def conversation_of(shop: Shop, channel: str, account: str) -> Conversation:
    db.session.expire_all()
    conversation = conversation_of_account(shop, channel, account)
    assert conversation is not None
    return conversation


@pytest.mark.parametrize("channel", [LINE, MESSENGER])
def test_writing_as_the_shopper_reaches_their_conversation(
    app: Flask,
    binding_shop: Shop,  # noqa: F811
    fakes: dict[str, tuple[FakeChatPlatform, str]],
    channel: str,
) -> None:
    # given the shopper's phone on the fake platform
    fake, recipient = fakes[channel]

    # when a person writes there as the shopper
    response = say(fake, recipient, QUESTION)

    # then the app recorded the platform's signed webhook, as it arrived,
    (body,) = db.session.scalars(
        select(ChannelDelivery.body).where(ChannelDelivery.channel == channel)
    ).all()
    assert QUESTION in body
    # the page went back to the thread, which shows the message,
    assert response.status_code == 303
    location = response.headers["Location"]
    assert location.startswith(f"/outbox/{recipient}?account=")
    thread = httpx.get(f"{root(fake)}{location}")
    assert QUESTION in thread.text
    # and once applied, it is in the shopper's conversation
    run_jobs(app)
    assert conversation_texts(binding_shop, channel, recipient) == [QUESTION]


@pytest.mark.parametrize("channel", [LINE, MESSENGER])
def test_tapping_a_rating_on_the_phone_rates_the_conversation(
    app: Flask,
    binding_shop: Shop,  # noqa: F811
    fakes: dict[str, tuple[FakeChatPlatform, str]],
    channel: str,
) -> None:
    # given a shopper who wrote, and a team that resolved the case
    fake, recipient = fakes[channel]
    say(fake, recipient, "Where is my order?")
    run_jobs(app)
    conversation = conversation_of(binding_shop, channel, recipient)
    set_status(binding_shop, conversation, "resolved", a_member(binding_shop, "Mei"))
    db.session.commit()
    run_jobs(app)

    # when the shopper taps five stars on their phone
    page = httpx.get(fake.phone_url(recipient)).text
    buttons = tap_forms(page)
    five = next(b for b in buttons if b["data"].endswith(":5"))
    tapped = tap(fake, five)
    run_jobs(app)

    # then the rating question showed five buttons, and the answer is kept
    assert tapped.status_code == 303
    assert len(buttons) == 5
    assert five["label"] == "★★★★★"
    assert conversation_of(binding_shop, channel, recipient).rating == 5
    # and the phone shows the tap as the shopper's latest message
    page = httpx.get(fake.phone_url(recipient)).text
    latest = page.rsplit('<div class="mine">', 1)[1]
    assert '<div class="msg text">★★★★★</div>' in latest


def test_tapping_a_messenger_postback_button_sends_a_postback(
    binding_shop: Shop,  # noqa: F811
    messenger_fake: FakeMessengerPlatform,  # noqa: F811
) -> None:
    # given the Page sent a button template with a postback button
    messenger_fake.receive_message(PAGE_ID, PSID)
    template = {
        "template_type": "button",
        "text": "Still thinking it over?",
        "buttons": [{"type": "postback", "title": "No thanks", "payload": "snooze"}],
    }
    sent = httpx.post(
        f"{messenger_fake.base_url}/{PAGE_ID}/messages",
        params={"access_token": PAGE_TOKEN},
        json={
            "recipient": {"id": PSID},
            "messaging_type": "RESPONSE",
            "message": {"attachment": {"type": "template", "payload": template}},
        },
    )
    assert sent.status_code == 200

    # when the shopper taps it on their phone
    (button,) = tap_forms(httpx.get(messenger_fake.phone_url(PSID)).text)
    assert tap(messenger_fake, button).status_code == 303

    # then the app recorded Messenger's postback event, signed and verified
    body = db.session.scalars(select(ChannelDelivery.body)).one()
    (event,) = json.loads(body)["entry"][0]["messaging"]
    assert event["sender"] == {"id": PSID}
    assert event["postback"]["payload"] == "snooze"
    assert event["postback"]["title"] == "No thanks"


# --- the page itself (no app behind the fake) -----------------------------------


def test_the_phone_escapes_what_it_shows(line: FakeLinePlatform) -> None:
    # given a shopper who typed markup, and a push whose button data has quotes
    line.user_sends_text(LINE_CHANNEL_ID, LINE_USER, "<img src=x onerror=alert(1)>")
    quick = {
        "items": [
            {
                "type": "action",
                "action": {
                    "type": "postback",
                    "label": "<b>Yes</b>",
                    "data": '"><script>alert(2)</script>',
                },
            }
        ]
    }
    pushed = httpx.post(
        f"{line.base_url}/v2/bot/message/push",
        headers={"Authorization": f"Bearer {LINE_TOKEN}"},
        json={
            "to": LINE_USER,
            "messages": [{"type": "text", "text": "<i>Hi</i>", "quickReply": quick}],
        },
    )
    assert pushed.status_code == 200

    # when
    page = httpx.get(line.phone_url(LINE_USER)).text

    # then nothing of it is markup, and the button still carries its data
    assert "<img src=x" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "<script>alert(2)" not in page
    assert "<i>Hi</i>" not in page and "<b>Yes</b>" not in page
    (button,) = tap_forms(page)
    assert button["data"] == '"><script>alert(2)</script>'


def test_the_outbox_links_each_recipient_to_their_phone(
    line: FakeLinePlatform,
) -> None:
    # given
    line.user_sends_text(LINE_CHANNEL_ID, LINE_USER, "Hello")

    # when
    page = httpx.get(line.outbox_url).text

    # then the overview draws the thread with the shopper's message, read-only
    assert f'href="/outbox/{LINE_USER}"' in page
    assert "Hello" in page
    assert "Write as this shopper" not in page


def test_a_blank_message_sends_nothing(line: FakeLinePlatform) -> None:
    # when
    response = httpx.post(f"{line.phone_url(LINE_USER)}/say", data={"text": "  \n"})

    # then
    assert response.status_code == 303
    assert line.shopper_messages == []


def test_the_phone_refuses_unknown_accounts_and_buttons(
    line: FakeLinePlatform,
) -> None:
    phone = line.phone_url(LINE_USER)

    # an account the fake does not know
    assert httpx.get(f"{phone}?account=999").status_code == 404
    assert (
        httpx.post(f"{phone}/say?account=999", data={"text": "hi"}).status_code == 404
    )
    # a recipient that is no user id
    assert httpx.get(f"{line.outbox_url}/not%20a%20user").status_code == 404
    # a kind of button LINE does not have
    refused = httpx.post(
        f"{phone}/tap", data={"kind": "quick_reply", "data": "x", "label": "x"}
    )
    assert refused.status_code == 400
    assert line.shopper_messages == []
