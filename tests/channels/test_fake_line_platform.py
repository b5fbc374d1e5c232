"""The fake LINE platform enforces LINE's documented contract, over raw HTTP."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest
from linebot.v3.webhook import SignatureValidator

from plugin.sandbox.line_platform import FakeLinePlatform
from tests.channels.conftest import LINE_CHANNEL_ID, LINE_SECRET, LINE_TOKEN, LINE_USER

TEXT = {"type": "text", "text": "hi"}
IMAGE_URL = "https://cdn.example.com/tea.png"


def push(
    line: FakeLinePlatform,
    messages: list[dict[str, Any]],
    *,
    to: str = LINE_USER,
    retry_key: str | None = None,
    token: str = LINE_TOKEN,
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"}
    if retry_key is not None:
        headers["X-Line-Retry-Key"] = retry_key
    return httpx.post(
        f"{line.base_url}/v2/bot/message/push",
        json={"to": to, "messages": messages},
        headers=headers,
        timeout=5,
    )


def bubble(**extra: Any) -> dict[str, Any]:
    return {
        "type": "bubble",
        "body": {"type": "box", "layout": "vertical", "contents": [TEXT]},
        **extra,
    }


def flex(contents: dict[str, Any], alt_text: str = "Your cart") -> dict[str, Any]:
    return {"type": "flex", "altText": alt_text, "contents": contents}


def carousel(count: int) -> dict[str, Any]:
    return flex({"type": "carousel", "contents": [bubble() for _ in range(count)]})


def quick_reply(*actions: dict[str, Any]) -> dict[str, Any]:
    items = [{"type": "action", "action": action} for action in actions]
    return {**TEXT, "quickReply": {"items": items}}


def postback(label: str = "Yes", data: str = "yes") -> dict[str, Any]:
    return {"type": "postback", "label": label, "data": data}


def refused_properties(response: httpx.Response) -> list[str]:
    assert response.status_code == 400, response.text
    return [detail["property"] for detail in response.json()["details"]]


def test_push_accepted_answers_sent_messages_and_request_id(
    line: FakeLinePlatform,
) -> None:
    # when
    response = push(line, [TEXT, TEXT], retry_key=str(uuid.uuid4()))

    # then
    assert response.status_code == 200
    sent = response.json()["sentMessages"]
    assert [set(message) for message in sent] == [{"id", "quoteToken"}] * 2
    assert len(response.headers["x-line-request-id"]) == 32
    assert line.accepted_count == 1


def test_push_without_valid_token_is_401(line: FakeLinePlatform) -> None:
    # when
    response = push(line, [TEXT], token="wrong")

    # then
    assert response.status_code == 401
    assert response.json()["message"].startswith("Authentication failed.")
    assert line.outbox == []


def test_push_with_non_uuid_retry_key_is_400(line: FakeLinePlatform) -> None:
    response = push(line, [TEXT], retry_key="cart-1-step-1")
    assert response.status_code == 400
    assert line.outbox == []


def test_push_repeat_of_accepted_key_is_409_naming_first_request(
    line: FakeLinePlatform,
) -> None:
    # given
    key = str(uuid.uuid4())
    first = push(line, [TEXT], retry_key=key)

    # when
    again = push(line, [TEXT], retry_key=key)

    # then
    assert again.status_code == 409
    assert (
        again.headers["x-line-accepted-request-id"]
        == (first.headers["x-line-request-id"])
    )
    assert again.json()["sentMessages"] == first.json()["sentMessages"]
    assert len(line.outbox) == 1


@pytest.mark.parametrize("count", [0, 6])
def test_push_needs_one_to_five_messages(line: FakeLinePlatform, count: int) -> None:
    assert refused_properties(push(line, [TEXT] * count)) == ["messages"]


def test_push_of_five_messages_is_accepted(line: FakeLinePlatform) -> None:
    assert push(line, [TEXT] * 5).status_code == 200


@pytest.mark.parametrize(
    ("text", "status"),
    [("a" * 5000, 200), ("a" * 4998 + "🍎", 200), ("a" * 4999 + "🍎", 400)],
    ids=["5000", "emoji-at-limit", "emoji-over"],
)
def test_push_text_limit_in_utf16_units(
    line: FakeLinePlatform, text: str, status: int
) -> None:
    response = push(line, [{"type": "text", "text": text}])
    assert response.status_code == status


def test_push_to_malformed_user_is_400_about_to(line: FakeLinePlatform) -> None:
    # when
    response = push(line, [TEXT], to="someone")

    # then
    assert response.status_code == 400
    assert "'to'" in response.json()["message"]


@pytest.mark.parametrize(("count", "status"), [(1, 200), (12, 200), (13, 400)])
def test_push_carousel_holds_twelve_bubbles(
    line: FakeLinePlatform, count: int, status: int
) -> None:
    assert push(line, [carousel(count)]).status_code == status


def test_push_empty_carousel_is_400(line: FakeLinePlatform) -> None:
    assert refused_properties(push(line, [carousel(0)])) == [
        "messages[0].contents.contents"
    ]


@pytest.mark.parametrize(
    ("alt_text", "status"), [("a" * 1500, 200), ("a" * 1501, 400), ("", 400)]
)
def test_push_alt_text_limit(
    line: FakeLinePlatform, alt_text: str, status: int
) -> None:
    response = push(line, [flex(bubble(), alt_text)])
    assert response.status_code == status


def test_push_bubble_over_30kb_is_400(line: FakeLinePlatform) -> None:
    # given a bubble of about 31 KB of text
    heavy = bubble()
    heavy["body"]["contents"] = [{"type": "text", "text": "a" * 31_000}]

    # when / then
    assert refused_properties(push(line, [flex(heavy)])) == ["messages[0].contents"]


def test_push_carousel_over_50kb_is_400(line: FakeLinePlatform) -> None:
    # given 12 bubbles of about 4.5 KB each
    bubbles = []
    for _ in range(12):
        item = bubble()
        item["body"]["contents"] = [{"type": "text", "text": "a" * 4500}]
        bubbles.append(item)

    # when / then
    response = push(line, [flex({"type": "carousel", "contents": bubbles})])
    assert refused_properties(response) == ["messages[0].contents"]


@pytest.mark.parametrize(("count", "status"), [(13, 200), (14, 400)])
def test_push_quick_reply_holds_thirteen_items(
    line: FakeLinePlatform, count: int, status: int
) -> None:
    response = push(line, [quick_reply(*[postback() for _ in range(count)])])
    assert response.status_code == status


def test_push_action_label_counts_graphemes(line: FakeLinePlatform) -> None:
    # given 20 family emoji (220 UTF-16 units) and 21
    family = "👨\u200d👩\u200d👧\u200d👦"

    # when / then
    assert push(line, [quick_reply(postback(family * 20))]).status_code == 200
    response = push(line, [quick_reply(postback(family * 21))])
    assert refused_properties(response) == [
        "messages[0].quickReply.items[0].action.label"
    ]


@pytest.mark.parametrize(("length", "status"), [(300, 200), (301, 400)])
def test_push_postback_data_limit(
    line: FakeLinePlatform, length: int, status: int
) -> None:
    response = push(line, [quick_reply(postback(data="d" * length))])
    assert response.status_code == status


@pytest.mark.parametrize(
    ("url", "status"),
    [
        (IMAGE_URL, 200),
        ("http://cdn.example.com/tea.png", 400),
        ("https://cdn.example.com/tea.gif", 400),
        ("https://cdn.example.com/" + "a" * (2000 - 28) + ".png", 200),
        ("https://cdn.example.com/" + "a" * (2001 - 28) + ".png", 400),
    ],
    ids=["png", "http", "gif", "2000-chars", "2001-chars"],
)
def test_push_image_url_rules(line: FakeLinePlatform, url: str, status: int) -> None:
    message = {"type": "image", "originalContentUrl": url, "previewImageUrl": url}
    assert push(line, [message]).status_code == status


def test_push_over_rate_limit_is_429_and_counted(line: FakeLinePlatform) -> None:
    # given
    line.set_rate_limit(3)

    # when
    statuses = [push(line, [TEXT]).status_code for _ in range(5)]

    # then
    assert statuses == [200, 200, 200, 429, 429]
    assert (line.accepted_count, line.throttled_count) == (3, 2)


def test_push_over_monthly_quota_is_429_monthly_limit(line: FakeLinePlatform) -> None:
    # given
    line.set_monthly_quota(LINE_CHANNEL_ID, 2)
    push(line, [TEXT, TEXT])
    push(line, [TEXT])

    # when
    response = push(line, [TEXT])

    # then a push counts once, whatever its number of messages
    assert response.status_code == 429
    assert response.json() == {"message": "You have reached your monthly limit."}
    assert line.usage(LINE_CHANNEL_ID) == 2


def test_quota_endpoints_report_limit_and_usage(line: FakeLinePlatform) -> None:
    # given
    line.set_monthly_quota(LINE_CHANNEL_ID, 500)
    push(line, [TEXT])
    auth = {"Authorization": f"Bearer {LINE_TOKEN}"}

    # when
    quota = httpx.get(f"{line.base_url}/v2/bot/message/quota", headers=auth)
    usage = httpx.get(f"{line.base_url}/v2/bot/message/quota/consumption", headers=auth)

    # then
    assert quota.json() == {"type": "limited", "value": 500}
    assert usage.json() == {"totalUsage": 1}


def test_push_to_blocked_user_is_200_but_not_delivered_nor_counted(
    line: FakeLinePlatform,
) -> None:
    # given
    line.block(LINE_CHANNEL_ID, LINE_USER)

    # when
    response = push(line, [TEXT])

    # then
    assert response.status_code == 200
    assert line.delivered_to(LINE_USER) == []
    assert [entry.delivered for entry in line.outbox] == [False]
    assert line.usage(LINE_CHANNEL_ID) == 0


def test_latency_delays_every_answer(line: FakeLinePlatform) -> None:
    # given
    line.set_latency(0.05)

    # when
    started = time.monotonic()
    push(line, [TEXT])
    elapsed = time.monotonic() - started

    # then (a lower bound: the fake waits at least that long)
    assert elapsed >= 0.05


def test_sign_webhook_matches_line_sdk_validation(line: FakeLinePlatform) -> None:
    # given
    body = json.dumps({"destination": "U0", "events": []}).encode()

    # when
    signature = line.sign_webhook(body)

    # then
    assert SignatureValidator(LINE_SECRET).validate(body.decode(), signature)
    assert not SignatureValidator("other-secret").validate(body.decode(), signature)


def test_outbox_page_and_json_show_accepted_pushes(line: FakeLinePlatform) -> None:
    # given
    push(
        line, [flex(bubble(), "烏龍茶 is waiting"), quick_reply(postback("No thanks"))]
    )

    # when
    page = httpx.get(line.outbox_url)
    entries = httpx.get(f"{line.outbox_url}.json").json()

    # then
    assert page.status_code == 200
    assert "烏龍茶 is waiting" in page.text
    assert "No thanks" in page.text
    assert LINE_USER in page.text
    assert [(e["recipient"], e["delivered"], len(e["messages"])) for e in entries] == [
        (LINE_USER, True, 2)
    ]


def test_reset_forgets_everything(line: FakeLinePlatform) -> None:
    # given
    push(line, [TEXT])

    # when
    line.reset()

    # then
    assert (line.outbox, line.calls, line.accepted_count) == ([], [], 0)
    assert push(line, [TEXT]).status_code == 401


def test_stats_count_accepted_and_throttled_pushes(line: FakeLinePlatform) -> None:
    # given
    line.set_rate_limit(1)
    push(line, [TEXT])
    push(line, [TEXT])

    # when
    stats = httpx.get(f"{line.base_url}/stats.json").json()

    # then
    assert stats == {"accepted": 1, "throttled": 1, "calls": 2}


# --- reply tokens, replies and content ------------------------------------------------


def reply(
    line: FakeLinePlatform,
    reply_token: str,
    messages: list[dict[str, Any]],
    *,
    retry_key: str | None = None,
    token: str = LINE_TOKEN,
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"}
    if retry_key is not None:
        headers["X-Line-Retry-Key"] = retry_key
    return httpx.post(
        f"{line.base_url}/v2/bot/message/reply",
        json={"replyToken": reply_token, "messages": messages},
        headers=headers,
        timeout=5,
    )


@pytest.fixture
def webhooks(
    line: FakeLinePlatform, monkeypatch: pytest.MonkeyPatch
) -> list[dict[str, Any]]:
    """The events the fake delivers, kept instead of posted."""
    events: list[dict[str, Any]] = []

    def keep(channel_id: str, payload: dict[str, Any]) -> int:
        events.extend(payload["events"])
        return 200

    monkeypatch.setattr(line, "deliver", keep)
    return events


def stop_clock(line: FakeLinePlatform) -> Callable[[float], None]:
    """Stop the fake's clock; the returned function moves it on by seconds."""
    start = line.now()
    line.now = lambda: start

    def advance(seconds: float) -> None:
        line.now = lambda: start + timedelta(seconds=seconds)

    return advance


def test_events_carry_a_fresh_reply_token_except_unfollow(
    line: FakeLinePlatform, webhooks: list[dict[str, Any]]
) -> None:
    # when
    line.user_follows(LINE_CHANNEL_ID, LINE_USER)
    line.user_sends_text(LINE_CHANNEL_ID, LINE_USER, "hi")
    line.user_posts_back(LINE_CHANNEL_ID, LINE_USER, "snooze")
    line.user_blocks(LINE_CHANNEL_ID, LINE_USER)

    # then
    assert [event["type"] for event in webhooks] == [
        "follow",
        "message",
        "postback",
        "unfollow",
    ]
    tokens = [event.get("replyToken") for event in webhooks]
    assert tokens[3] is None
    assert len(set(tokens[:3])) == 3
    assert all(len(token) == 32 for token in tokens[:3])


def test_reply_with_an_event_token_is_delivered_as_a_reply(
    line: FakeLinePlatform, webhooks: list[dict[str, Any]]
) -> None:
    # given
    line.user_sends_text(LINE_CHANNEL_ID, LINE_USER, "Is oolong in stock?")

    # when
    response = reply(line, webhooks[0]["replyToken"], [TEXT, TEXT])

    # then
    assert response.status_code == 200
    assert [set(m) for m in response.json()["sentMessages"]] == [
        {"id", "quoteToken"}
    ] * 2
    (entry,) = line.delivered_to(LINE_USER)
    assert (entry.reply, entry.messages) == (True, [TEXT, TEXT])
    assert httpx.get(f"{line.outbox_url}.json").json()[0]["reply"] is True
    assert [(c.recipient, c.status) for c in line.calls] == [(LINE_USER, 200)]


def test_reply_token_is_good_for_sixty_seconds(line: FakeLinePlatform) -> None:
    # given
    advance = stop_clock(line)
    fresh = line.issue_reply_token(LINE_CHANNEL_ID, LINE_USER)
    stale = line.issue_reply_token(LINE_CHANNEL_ID, LINE_USER)

    # when
    advance(60)
    at_sixty = reply(line, fresh, [TEXT])
    advance(60.001)
    past = reply(line, stale, [TEXT])

    # then
    assert at_sixty.status_code == 200
    assert (past.status_code, past.json()) == (
        400,
        {"message": "Invalid reply token"},
    )
    assert len(line.delivered_to(LINE_USER)) == 1


def test_reply_token_is_single_use(line: FakeLinePlatform) -> None:
    # given
    token = line.issue_reply_token(LINE_CHANNEL_ID, LINE_USER)
    reply(line, token, [TEXT])

    # when
    again = reply(line, token, [TEXT])

    # then
    assert (again.status_code, again.json()) == (
        400,
        {"message": "Invalid reply token"},
    )
    assert len(line.delivered_to(LINE_USER)) == 1


def test_reply_token_of_another_channel_is_refused(line: FakeLinePlatform) -> None:
    # given a token issued to another channel's user
    line.add_channel("2000000002", "other-token-0123456789", "other-secret")
    token = line.issue_reply_token("2000000002", LINE_USER)

    # when / then
    assert reply(line, token, [TEXT]).status_code == 400
    assert reply(line, token, [TEXT], token="other-token-0123456789").status_code == 200


def test_reply_with_retry_key_is_400_and_spends_nothing(
    line: FakeLinePlatform,
) -> None:
    # given
    token = line.issue_reply_token(LINE_CHANNEL_ID, LINE_USER)

    # when
    refused = reply(line, token, [TEXT], retry_key=str(uuid.uuid4()))

    # then the token is still good
    assert refused.status_code == 400
    assert refused.json() == {
        "message": "The X-Line-Retry-Key header is not supported here."
    }
    assert line.outbox == []
    assert reply(line, token, [TEXT]).status_code == 200


def test_reply_follows_the_push_message_rules(line: FakeLinePlatform) -> None:
    # given
    token = line.issue_reply_token(LINE_CHANNEL_ID, LINE_USER)

    # when
    six = reply(line, token, [TEXT] * 6)
    no_token = httpx.post(
        f"{line.base_url}/v2/bot/message/reply",
        json={"messages": [TEXT]},
        headers={"Authorization": f"Bearer {LINE_TOKEN}"},
        timeout=5,
    )

    # then
    assert refused_properties(six) == ["messages"]
    assert no_token.status_code == 400
    assert "'replyToken'" in no_token.json()["message"]
    assert reply(line, token, [TEXT], token="nope").status_code == 401
    assert reply(line, token, [TEXT]).status_code == 200


def test_replies_are_neither_counted_nor_stopped_by_the_quota(
    line: FakeLinePlatform,
) -> None:
    # given a quota of one, used by a push
    line.set_monthly_quota(LINE_CHANNEL_ID, 1)
    push(line, [TEXT])

    # when
    answers = [
        reply(line, line.issue_reply_token(LINE_CHANNEL_ID, LINE_USER), [TEXT])
        for _ in range(2)
    ]

    # then
    assert [answer.status_code for answer in answers] == [200, 200]
    assert line.usage(LINE_CHANNEL_ID) == 1
    assert push(line, [TEXT]).status_code == 429


def test_replies_have_a_rate_window_of_their_own(line: FakeLinePlatform) -> None:
    # given one request a second per endpoint, the push's used
    line.set_rate_limit(1)
    push(line, [TEXT])

    # when
    first = reply(line, line.issue_reply_token(LINE_CHANNEL_ID, LINE_USER), [TEXT])
    second = reply(line, line.issue_reply_token(LINE_CHANNEL_ID, LINE_USER), [TEXT])

    # then
    assert (first.status_code, second.status_code) == (200, 429)


def test_user_sends_image_delivers_an_image_event_with_its_content(
    line: FakeLinePlatform, webhooks: list[dict[str, Any]]
) -> None:
    # given
    photo = b"\xff\xd8\xff\xe0" + b"\x00" * 100

    # when
    line.user_sends_image(LINE_CHANNEL_ID, LINE_USER, photo, "image/jpeg")

    # then the event says LINE holds the content, and LINE serves it
    (event,) = webhooks
    message = event["message"]
    assert (event["type"], message["type"]) == ("message", "image")
    assert message["contentProvider"] == {"type": "line"}
    assert event["replyToken"]
    content = httpx.get(
        f"{line.base_url}/v2/bot/message/{message['id']}/content",
        headers={"Authorization": f"Bearer {LINE_TOKEN}"},
        timeout=5,
    )
    assert content.status_code == 200
    assert content.content == photo
    assert content.headers["Content-Type"] == "image/jpeg"
    assert content.headers["Content-Length"] == str(len(photo))


def test_content_needs_the_channel_token_and_a_known_message(
    line: FakeLinePlatform,
) -> None:
    # given
    message_id = line.store_content(LINE_CHANNEL_ID, b"\x89PNG", "image/png")
    line.add_channel("2000000002", "other-token-0123456789", "other-secret")

    def fetch(message: str, token: str) -> int:
        return httpx.get(
            f"{line.base_url}/v2/bot/message/{message}/content",
            headers={"Authorization": f"Bearer {token}"},
            timeout=5,
        ).status_code

    # when / then
    assert fetch(message_id, "nope") == 401
    assert fetch(message_id, "other-token-0123456789") == 404
    assert fetch("999", LINE_TOKEN) == 404
    assert fetch(message_id, LINE_TOKEN) == 200
