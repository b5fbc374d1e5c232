"""The fake Messenger platform enforces Meta's documented contract, over raw HTTP."""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta
from typing import Any

import httpx
import pytest

from plugin.sandbox.messenger_platform import FakeMessengerPlatform
from tests.channels.conftest import APP_SECRET, PAGE_ID, PAGE_TOKEN, PSID

CART_URL = "https://shop.example.com/cart"


def send(
    messenger: FakeMessengerPlatform,
    message: dict[str, Any],
    *,
    psid: str = PSID,
    token: str = PAGE_TOKEN,
    page: str = PAGE_ID,
    **extra: Any,
) -> httpx.Response:
    body = {"recipient": {"id": psid}, "messaging_type": "RESPONSE", "message": message}
    body.update(extra)
    return httpx.post(
        f"{messenger.base_url}/{page}/messages",
        params={"access_token": token},
        json=body,
        timeout=5,
    )


def error_of(response: httpx.Response) -> tuple[int, int | None]:
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert set(error) >= {"message", "type", "code", "fbtrace_id"}
    return error["code"], error.get("error_subcode")


def generic(elements: list[dict[str, Any]]) -> dict[str, Any]:
    payload = {"template_type": "generic", "elements": elements}
    return {"attachment": {"type": "template", "payload": payload}}


def element(title: str = "Oolong", **extra: Any) -> dict[str, Any]:
    return {"title": title, **extra}


def web_button(title: str = "Buy") -> dict[str, Any]:
    return {"type": "web_url", "url": CART_URL, "title": title}


def test_send_inside_window_is_accepted(messenger: FakeMessengerPlatform) -> None:
    # when
    response = send(messenger, {"text": "hi"})

    # then
    assert response.status_code == 200
    assert response.json()["recipient_id"] == PSID
    assert response.json()["message_id"].startswith("m_")
    assert [entry.messages for entry in messenger.delivered_to(PSID)] == [
        [{"text": "hi"}]
    ]


def test_send_to_me_uses_the_token_page(messenger: FakeMessengerPlatform) -> None:
    assert send(messenger, {"text": "hi"}, page="me").status_code == 200


def test_send_with_unknown_token_is_190(messenger: FakeMessengerPlatform) -> None:
    assert error_of(send(messenger, {"text": "hi"}, token="nope")) == (190, None)


def test_send_outside_window_is_10_2018278(messenger: FakeMessengerPlatform) -> None:
    # given the shopper's last message is 24 h and 1 s old
    messenger.receive_message(
        PAGE_ID, PSID, at=messenger.now() - timedelta(hours=24, seconds=1)
    )

    # when / then
    assert error_of(send(messenger, {"text": "hi"})) == (10, 2018278)
    assert messenger.delivered_to(PSID) == []


def test_send_just_inside_window_is_accepted(messenger: FakeMessengerPlatform) -> None:
    messenger.receive_message(
        PAGE_ID, PSID, at=messenger.now() - timedelta(hours=23, minutes=59)
    )
    assert send(messenger, {"text": "hi"}).status_code == 200


def send_as_agent(
    messenger: FakeMessengerPlatform, text: str = "An agent here"
) -> httpx.Response:
    return send(
        messenger, {"text": text}, messaging_type="MESSAGE_TAG", tag="HUMAN_AGENT"
    )


def test_human_agent_tag_reaches_seven_days(messenger: FakeMessengerPlatform) -> None:
    # given a Page with the permission, and a shopper who wrote three days ago
    messenger.set_human_agent(PAGE_ID)
    messenger.receive_message(PAGE_ID, PSID, at=messenger.now() - timedelta(days=3))

    # when / then
    assert send_as_agent(messenger).status_code == 200
    assert error_of(send(messenger, {"text": "Sale!"})) == (10, 2018278)


def test_human_agent_tag_past_seven_days_is_10_2018278(
    messenger: FakeMessengerPlatform,
) -> None:
    # given
    messenger.set_human_agent(PAGE_ID)
    messenger.receive_message(
        PAGE_ID, PSID, at=messenger.now() - timedelta(days=7, seconds=1)
    )

    # when / then
    assert error_of(send_as_agent(messenger)) == (10, 2018278)
    assert messenger.delivered_to(PSID) == []


def test_human_agent_tag_needs_the_page_permission(
    messenger: FakeMessengerPlatform,
) -> None:
    # given a Page without the permission (the default), the shopper wrote just now

    # when
    refused = send_as_agent(messenger)

    # then refused even inside the 24 hours, while an untagged send goes
    assert refused.status_code == 403
    error = refused.json()["error"]
    assert (error["code"], error["message"]) == (
        200,
        "(#200) The Human Agent tag is not available for this page.",
    )
    assert "error_subcode" not in error
    assert send(messenger, {"text": "hi"}).status_code == 200
    assert len(messenger.delivered_to(PSID)) == 1


def test_user_sends_image_delivers_an_attachment_event(
    messenger: FakeMessengerPlatform, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given the deliveries kept instead of posted, and an old window
    delivered: list[dict[str, Any]] = []
    monkeypatch.setattr(messenger, "deliver", delivered.append)
    messenger.receive_message(PAGE_ID, PSID, at=messenger.now() - timedelta(days=2))
    url = "https://scontent.example.com/v/photo.jpg?oh=1"

    # when
    messenger.user_sends_image(PAGE_ID, PSID, url)

    # then
    (payload,) = delivered
    (messaging,) = payload["entry"][0]["messaging"]
    assert messaging["sender"] == {"id": PSID}
    assert messaging["message"]["attachments"] == [
        {"type": "image", "payload": {"url": url}}
    ]
    assert messaging["message"]["mid"].startswith("m_")
    assert send(messenger, {"text": "Got it"}).status_code == 200


def test_send_to_blocked_shopper_is_551(messenger: FakeMessengerPlatform) -> None:
    messenger.block(PAGE_ID, PSID)
    assert error_of(send(messenger, {"text": "hi"})) == (551, 1545041)


def test_send_to_psid_that_never_wrote_is_100_2018001(
    messenger: FakeMessengerPlatform,
) -> None:
    assert error_of(send(messenger, {"text": "hi"}, psid="42")) == (100, 2018001)


@pytest.mark.parametrize(
    ("text", "status"),
    [("a" * 2000, 200), ("a" * 1998 + "😀", 200), ("a" * 1999 + "😀", 400)],
    ids=["2000", "emoji-at-limit", "emoji-over"],
)
def test_send_text_limit(
    messenger: FakeMessengerPlatform, text: str, status: int
) -> None:
    assert send(messenger, {"text": text}).status_code == status


@pytest.mark.parametrize(
    ("count", "status"), [(0, 400), (1, 200), (10, 200), (11, 400)]
)
def test_generic_template_holds_ten_elements(
    messenger: FakeMessengerPlatform, count: int, status: int
) -> None:
    response = send(messenger, generic([element() for _ in range(count)]))
    assert response.status_code == status


@pytest.mark.parametrize("field", ["title", "subtitle"])
def test_element_title_and_subtitle_hold_80(
    messenger: FakeMessengerPlatform, field: str
) -> None:
    at_limit = element(**{field: "茶" * 80})
    over = element(**{field: "茶" * 81})
    assert send(messenger, generic([at_limit])).status_code == 200
    assert error_of(send(messenger, generic([over]))) == (100, None)


@pytest.mark.parametrize(("count", "status"), [(3, 200), (4, 400)])
def test_element_holds_three_buttons(
    messenger: FakeMessengerPlatform, count: int, status: int
) -> None:
    buttons = [web_button() for _ in range(count)]
    assert send(messenger, generic([element(buttons=buttons)])).status_code == status


def test_button_title_holds_20(messenger: FakeMessengerPlatform) -> None:
    ok = generic([element(buttons=[web_button("b" * 20)])])
    over = generic([element(buttons=[web_button("b" * 21)])])
    assert send(messenger, ok).status_code == 200
    assert send(messenger, over).status_code == 400


def quick_replies(count: int, title: str = "Yes") -> dict[str, Any]:
    replies = [
        {"content_type": "text", "title": title, "payload": "yes"} for _ in range(count)
    ]
    return {"text": "Pick one", "quick_replies": replies}


@pytest.mark.parametrize(("count", "status"), [(13, 200), (14, 400)])
def test_quick_replies_hold_thirteen(
    messenger: FakeMessengerPlatform, count: int, status: int
) -> None:
    assert send(messenger, quick_replies(count)).status_code == status


@pytest.mark.parametrize(("title", "status"), [("t" * 20, 200), ("t" * 21, 400)])
def test_quick_reply_title_holds_20(
    messenger: FakeMessengerPlatform, title: str, status: int
) -> None:
    assert send(messenger, quick_replies(1, title)).status_code == status


def test_button_template_text_holds_640(messenger: FakeMessengerPlatform) -> None:
    def template(text: str) -> dict[str, Any]:
        payload = {"template_type": "button", "text": text, "buttons": [web_button()]}
        return {"attachment": {"type": "template", "payload": payload}}

    assert send(messenger, template("a" * 640)).status_code == 200
    assert send(messenger, template("a" * 641)).status_code == 400


def test_send_over_page_rate_limit_is_613(messenger: FakeMessengerPlatform) -> None:
    # given
    messenger.set_rate_limit(2)

    # when
    responses = [send(messenger, {"text": "hi"}) for _ in range(3)]

    # then
    assert [r.status_code for r in responses[:2]] == [200, 200]
    assert error_of(responses[2]) == (613, None)


def test_sign_webhook_is_hex_hmac_of_raw_body(messenger: FakeMessengerPlatform) -> None:
    # given
    body = b'{"object":"page","entry":[]}'

    # when
    signature = messenger.sign_webhook(body)

    # then
    expected = hmac.new(APP_SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert signature == f"sha256={expected}"


def test_outbox_page_shows_generic_template(messenger: FakeMessengerPlatform) -> None:
    # given
    card = element("高山烏龍", subtitle="NT$1,290", buttons=[web_button("Check out")])
    send(messenger, generic([card]))

    # when
    page = httpx.get(messenger.outbox_url)

    # then
    assert page.status_code == 200
    assert "高山烏龍" in page.text
    assert "NT$1,290" in page.text
    assert f'href="{CART_URL}"' in page.text
