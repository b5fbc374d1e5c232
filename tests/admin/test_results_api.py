"""Results: figures per channel and step over a period, charts, CSV, failures."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

from flask.testing import FlaskClient

from engine.db import db
from engine.reminders.defaults import flow_for
from engine.shops.models import Shop
from plugin.sandbox.reminder_history import seed_reminder_history
from plugin.sandbox.shopify_platform import FakeShopifyPlatform
from tests.admin import bearer

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
    assert body["onsite"][0]["views"] > 0


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
