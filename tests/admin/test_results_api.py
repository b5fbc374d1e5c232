"""Results: figures per channel and step over a period, charts, CSV, failures.

Most tests read a seeded history; the failures test makes its own: real
sends refused by the fake LINE, delivered in this process by the reminders'
job.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

from flask.testing import FlaskClient
from markupsafe import escape

from engine.db import db
from engine.reminders import clock, update_flow
from engine.reminders.defaults import flow_for
from engine.reminders.dispatch import deliver_reminders
from engine.shops.models import Shop
from plugin.sandbox.line_platform import FakeLinePlatform
from plugin.sandbox.messenger_platform import FakeMessengerPlatform
from plugin.sandbox.reminder_history import seed_reminder_history
from plugin.sandbox.shopify_platform import FakeShopifyPlatform
from tests.admin import bearer
from tests.conftest import SHOP_DOMAIN
from tests.reminders import (
    HOUR,
    LINE_CHANNEL_ID,
    LINE_TOKEN,
    OOLONG_100G,
    WAIT,
    connect_channels,
    leave_cart,
    line_user_id,
    make_shopper,
    sends_of,
    stock_products,
)

NOW = datetime.now(UTC)


def _seeded(shop: Shop) -> None:
    shop.timezone = "Asia/Taipei"
    flow_for(shop).message_costs = {"line": "0.50", "messenger": "0"}
    seed_reminder_history(shop, NOW, days=10)
    db.session.commit()


def test_results_add_up_per_channel_and_overall(
    client: FlaskClient, platform: FakeShopifyPlatform, shop: Shop
) -> None:
    # given
    _seeded(shop)

    # when
    body = client.get("/api/admin/v1/results", headers=bearer(platform, shop)).json

    # then the totals are the sums of the channel rows and of the days
    channels = body["channels"]
    assert {row["channel"] for row in channels} == {"line", "messenger"}
    assert body["totals"]["sent"] == sum(row["sent"] for row in channels) > 0
    assert body["totals"]["orders"] == sum(row["orders"] for row in channels) > 0
    assert sum(day["sent"] for day in body["days"]) == body["totals"]["sent"]
    assert len(body["days"]) == 30
    line = next(row for row in channels if row["channel"] == "line")
    assert line["cost"] == f"{line['sent'] * 0.5:.2f}"
    assert body["notices"][0]["kind"] == "line_quota_exhausted"
    assert {f["reason"] for f in body["failures"]} <= {
        "recipient_unreachable",
        "platform_refused",
    }
    assert sum(f["count"] for f in body["failures"]) == body["totals"]["failed"] > 0
    assert body["onsite"][0]["views"] > 0


def test_results_show_a_permanent_failure_with_the_platforms_reason(
    client: FlaskClient,
    platform: FakeShopifyPlatform,
    shop: Shop,
    chat_fakes: tuple[FakeLinePlatform, FakeMessengerPlatform],
) -> None:
    # given two shoppers bound to ids LINE refuses as malformed, and one it
    # knows, each with a cart whose first reminder fell due five minutes ago
    line, _ = chat_fakes
    line.add_channel(LINE_CHANNEL_ID, LINE_TOKEN, "line-secret")
    stock_products(platform, SHOP_DOMAIN)
    shop.timezone = "Asia/Taipei"
    connect_channels(shop)
    # The test runs at whatever hour the wall clock shows: no quiet hours.
    update_flow(shop, {"quiet_hours": None})
    left_at = clock.now() - WAIT - HOUR - timedelta(minutes=5)
    for name, external_id in [
        ("mei", "U-not-a-line-user-1"),
        ("lin", "U-not-a-line-user-2"),
        ("chen", line_user_id("chen")),
    ]:
        shopper = make_shopper(shop, name, external_id=external_id)
        leave_cart(shop, shopper, f"cart-{name}", [(OOLONG_100G, 1)], left_at)

    # when the reminders' job delivers them
    deliver_reminders(sends_of(shop)[0].id)

    # then LINE refused two with its reason, which the results carry, counted
    refusal = "The property, 'to', in the request body is invalid (line: -, column: -)"
    assert sorted((s.position, s.status) for s in sends_of(shop)) == [
        (1, "failed"),
        (1, "failed"),
        (1, "sent"),
        (2, "pending"),
    ]
    body = client.get("/api/admin/v1/results", headers=bearer(platform, shop)).json
    [failure] = body["failures"]
    assert datetime.fromisoformat(failure.pop("latest_at")) <= clock.now()
    assert failure == {
        "channel": "line",
        "reason": "recipient_unreachable",
        "error_code": "400",
        "count": 2,
        "latest_detail": refusal,
    }
    assert (body["totals"]["sent"], body["totals"]["failed"]) == (1, 2)

    # and the results screen shows the same row
    token = platform.session_token(shop.shop_domain)
    page = client.get(
        f"/admin/results?shop={shop.shop_domain}&embedded=1&id_token={token}"
    ).get_data(as_text=True)
    row = (
        "<tr><td>LINE</td>"
        "<td>The shopper cannot be reached (blocked or unknown) <code>400</code></td>"
        f"<td>2</td><td>{escape(refusal)}</td></tr>"
    )
    assert row in page


def test_results_period_ending_before_it_starts_is_refused(
    client: FlaskClient, platform: FakeShopifyPlatform, shop: Shop
) -> None:
    # when
    response = client.get(
        "/api/admin/v1/results?since=2026-12-10&until=2026-12-01",
        headers=bearer(platform, shop),
    )

    # then
    assert response.status_code == 422
    assert response.json == {
        "detail": "since: the period starts after it ends.",
        "code": "invalid_period",
        "field": "since",
    }


def test_results_csv_has_a_row_per_step_channel_and_total(
    client: FlaskClient, platform: FakeShopifyPlatform, shop: Shop
) -> None:
    # given
    _seeded(shop)
    json_body = client.get("/api/admin/v1/results", headers=bearer(platform, shop)).json

    # when
    response = client.get("/api/admin/v1/results.csv", headers=bearer(platform, shop))

    # then
    assert response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [(r["step"], r["channel"]) for r in rows[-1:]] == [("all", "all")]
    assert int(rows[-1]["sent"]) == json_body["totals"]["sent"]
    assert rows[-1]["revenue"] == json_body["totals"]["revenue"]
    assert len(rows) == len(json_body["steps"]) + len(json_body["channels"]) + 1


def test_results_page_draws_svg_charts(
    client: FlaskClient, platform: FakeShopifyPlatform, shop: Shop
) -> None:
    # given
    _seeded(shop)
    token = platform.session_token(shop.shop_domain)

    # when
    page = client.get(
        f"/admin/results?shop={shop.shop_domain}&embedded=1&id_token={token}"
    ).get_data(as_text=True)

    # then
    assert page.count("<svg") == 5
    assert 'class="bar-a"' in page
    assert "monthly message quota is used up" in page
