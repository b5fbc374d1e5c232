"""The reminder flow through the admin API: edits, refusals at the field, previews."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import select

from engine.channels.models import SandboxMessage
from engine.db import db
from engine.reminders.models import ReminderStep
from engine.shops.models import Shop
from plugin.sandbox.shopify_platform import FakeShopifyPlatform
from tests.admin import bearer

FLOW = "/api/admin/v1/flow"


def _step(delay: int = 1, unit: str = "hours", channel: str = "any", **part: Any):
    message = [part or {"type": "text", "text": "Hi {first_name|there}"}]
    return {
        "enabled": True,
        "delay": delay,
        "unit": unit,
        "channel": channel,
        "message": message,
    }


def _three_steps() -> list[dict[str, Any]]:
    return [
        _step(2, "hours", "line", type="text", text="Your cart at {shop_name}"),
        _step(6, "hours", "messenger", type="carousel", button_label="Buy now"),
        _step(3, "days", "line", type="image", url="https://cdn.example.com/sale.png"),
    ]


def _put(client: FlaskClient, platform: FakeShopifyPlatform, shop: Shop, body: dict):
    return client.put(FLOW, headers=bearer(platform, shop), json=body)


def _stored_delays(shop: Shop) -> list[int]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            select(ReminderStep.delay_minutes)
            .where(ReminderStep.shop_id == shop.id)
            .order_by(ReminderStep.position)
        )
    )


def test_flow_put_stores_three_steps_and_reads_them_back(
    client: FlaskClient, platform: FakeShopifyPlatform, shop: Shop
) -> None:
    # when
    response = _put(
        client,
        platform,
        shop,
        {
            "steps": _three_steps(),
            "quiet_hours": {"start": "23:00", "end": "08:00"},
            "message_costs": {"line": "0.20", "messenger": "0"},
        },
    )

    # then
    assert response.status_code == 200
    again = client.get(FLOW, headers=bearer(platform, shop)).json
    assert again == response.json
    assert [(s["delay"], s["unit"], s["channel"]) for s in again["steps"]] == [
        (2, "hours", "line"),
        (6, "hours", "messenger"),
        (3, "days", "line"),
    ]
    assert again["quiet_hours"] == {"start": "23:00", "end": "08:00"}
    assert again["message_costs"] == {"line": "0.20", "messenger": "0"}
    assert _stored_delays(shop) == [120, 360, 4320]


def _refusal(client, platform, shop, steps, **settings) -> dict:  # noqa: ANN001
    _put(client, platform, shop, {"steps": _three_steps()})
    before = _stored_delays(shop)
    response = _put(client, platform, shop, {"steps": steps, **settings})
    assert response.status_code == 422, response.json
    assert _stored_delays(shop) == before == [120, 360, 4320]
    return response.json


def test_flow_delay_of_zero_is_refused_at_the_field(
    client: FlaskClient, platform: FakeShopifyPlatform, shop: Shop
) -> None:
    # when
    body = _refusal(client, platform, shop, [_step(0, "hours")])

    # then
    assert body == {
        "detail": "steps[0].delay: 0 is outside the allowed 1 to 43200.",
        "code": "invalid_reminder_flow",
        "field": "steps[0].delay",
    }


def test_flow_delay_of_400_days_is_refused_at_the_field(
    client: FlaskClient, platform: FakeShopifyPlatform, shop: Shop
) -> None:
    # when
    body = _refusal(client, platform, shop, [_step(), _step(400, "days")])

    # then
    assert body["field"] == "steps[1].delay"
    assert body["detail"] == (
        "steps[1].delay: 400 days is longer than the longest delay, 30 days."
    )


def test_flow_messenger_step_past_the_window_is_refused(
    client: FlaskClient, platform: FakeShopifyPlatform, shop: Shop
) -> None:
    # when: 30 min wait + 20 h + 5 h lands past 24 hours
    steps = [_step(20, "hours", "line"), _step(5, "hours", "messenger")]
    body = _refusal(client, platform, shop, steps)

    # then
    assert body["field"] == "steps[1].delay_minutes"
    assert "past Messenger's 24-hour window" in body["detail"]


def test_flow_text_too_long_for_messenger_is_refused(
    client: FlaskClient, platform: FakeShopifyPlatform, shop: Shop
) -> None:
    # when: 2,001 characters fit LINE (5,000) but not Messenger (2,000)
    steps = [_step(1, "hours", "messenger", type="text", text="a" * 2001)]
    body = _refusal(client, platform, shop, steps)

    # then
    assert body["field"] == "steps[0].message[0].text"
    assert body["detail"] == (
        "steps[0].message[0].text: Text of 2001 characters is too long:"
        " Messenger takes at most 2000."
    )


def test_flow_text_of_2001_characters_fits_a_line_step(
    client: FlaskClient, platform: FakeShopifyPlatform, shop: Shop
) -> None:
    # when
    steps = [_step(1, "hours", "line", type="text", text="a" * 2001)]
    response = _put(client, platform, shop, {"steps": steps})

    # then
    assert response.status_code == 200


def test_flow_image_over_http_is_refused(
    client: FlaskClient, platform: FakeShopifyPlatform, shop: Shop
) -> None:
    # when
    steps = [_step(type="image", url="http://cdn.example.com/a.jpg")]
    body = _refusal(client, platform, shop, steps)

    # then
    assert body["field"] == "steps[0].message[0].url"
    assert "https://" in body["detail"]


def test_flow_image_not_jpeg_or_png_is_refused(
    client: FlaskClient, platform: FakeShopifyPlatform, shop: Shop
) -> None:
    # when
    steps = [_step(type="image", url="https://cdn.example.com/a.gif")]
    body = _refusal(client, platform, shop, steps)

    # then
    assert body == {
        "detail": "steps[0].message[0].url: The image URL"
        " 'https://cdn.example.com/a.gif' does not end in .jpg, .jpeg or .png.",
        "code": "invalid_reminder_flow",
        "field": "steps[0].message[0].url",
    }


def test_flow_unknown_field_is_refused_by_the_schema(
    client: FlaskClient, platform: FakeShopifyPlatform, shop: Shop
) -> None:
    # when
    body = _refusal(client, platform, shop, [{**_step(), "colour": "red"}])

    # then
    assert body == {
        "detail": "steps[0].colour: Unknown field.",
        "code": "invalid_request",
        "field": "steps[0].colour",
    }


def test_flow_pause_stops_and_resume_restarts(
    client: FlaskClient, platform: FakeShopifyPlatform, shop: Shop
) -> None:
    # when
    paused = _put(client, platform, shop, {"enabled": False}).json
    resumed = _put(client, platform, shop, {"enabled": True}).json

    # then
    assert (paused["enabled"], resumed["enabled"]) == (False, True)


def test_preview_renders_the_sample_cart_for_both_channels(
    client: FlaskClient, platform: FakeShopifyPlatform, shop: Shop
) -> None:
    # when
    step = _step(type="carousel", button_label="Buy now")
    response = client.post(
        f"{FLOW}/preview",
        headers=bearer(platform, shop),
        json={"step": step, "cart_id": None},
    )

    # then
    body = response.json
    assert response.status_code == 200
    assert body["cart_label"] == "Sample cart"
    line, messenger = body["renderings"]
    assert line["channel"] == "line" and messenger["channel"] == "messenger"
    bubbles = line["payload"][0]["contents"]["contents"]
    assert [b["body"]["contents"][0]["text"] for b in bubbles] == [
        "Sample product",
        "Another product",
    ]
    assert bubbles[0]["footer"]["contents"][0]["action"]["label"] == "Buy now"
    elements = messenger["payload"][0]["attachment"]["payload"]["elements"]
    assert [e["title"] for e in elements] == ["Sample product", "Another product"]
    assert "Sample product" in line["html"] and "<!doctype html>" in line["html"]


def test_preview_names_the_part_a_channel_refuses(
    client: FlaskClient, platform: FakeShopifyPlatform, shop: Shop
) -> None:
    # when
    step = _step(type="text", text="b" * 2500)
    body = client.post(
        f"{FLOW}/preview",
        headers=bearer(platform, shop),
        json={"step": step, "cart_id": None},
    ).json

    # then LINE takes it, Messenger does not
    line, messenger = body["renderings"]
    assert line["payload"] == [{"type": "text", "text": "b" * 2500}]
    assert messenger["payload"] is None
    assert messenger["field"] == "step.message[0].text"
    assert messenger["error"].startswith("Messenger: part 1 (Text) is 2500")


def test_send_test_without_own_account_lands_in_sandbox(
    client: FlaskClient, platform: FakeShopifyPlatform, shop: Shop
) -> None:
    # when
    step = _step(channel="messenger", type="text", text="Hi {first_name}")
    response = client.post(
        f"{FLOW}/test",
        headers=bearer(platform, shop),
        json={"step": step, "cart_id": None},
    )

    # then
    assert response.status_code == 200
    assert response.json["delivered_to"] == "sandbox"
    assert response.json["channel"] == "messenger"
    recorded = db.session.scalars(select(SandboxMessage)).one()
    assert (recorded.shop_id, recorded.rendered_for) == (shop.id, "messenger")
    assert recorded.payload == [{"text": "Hi Mei"}]
