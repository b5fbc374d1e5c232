"""The panel's screens: server-rendered with what they show, changed through the API."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import render_template, request

from engine.binding.funnel import funnel_of
from engine.onsite import rules
from engine.reminders.content import VARIABLES
from engine.reminders.flows import MAX_DELAY_MINUTES
from engine.shops.overview import shop_overview
from engine.team.accounts import list_members
from plugin.admin import charts, schemas
from plugin.admin.access import Viewer
from plugin.admin.api import (
    flow_data,
    get_carts,
    message_data,
    vars_of_member,
)
from plugin.admin.channels_api import channels_data
from plugin.admin.results import period_of, results_of
from plugin.admin.screens import channel_name, screen
from plugin.admin.texts import t
from plugin.errors import ApiError


@screen("/admin", "nav.home", order=0)
def home(viewer: Viewer) -> str:
    return render_home(viewer)


def render_home(viewer: Viewer) -> str:
    """The panel's first page, also the app home inside the store admin."""
    return render_template(
        "admin/home.html",
        viewer=viewer,
        shop=viewer.shop,
        overview=shop_overview(viewer.shop),
        funnel=funnel_of(viewer.shop),
    )


@screen("/admin/flow", "nav.flow", order=10)
def flow(viewer: Viewer) -> str:
    return render_template(
        "admin/flow.html",
        viewer=viewer,
        flow=flow_data(viewer),
        carts=get_carts.__wrapped__(viewer)["carts"],
        variables=VARIABLES,
        max_delay_days=MAX_DELAY_MINUTES // (24 * 60),
    )


@screen("/admin/messages", "nav.messages", order=20)
def messages(viewer: Viewer) -> str:
    return render_template(
        "admin/messages.html",
        viewer=viewer,
        messages=[
            message_data(viewer, message)
            for message in rules.list_messages(viewer.shop)
        ],
    )


@screen("/admin/channels", "nav.channels", order=30)
def channels(viewer: Viewer) -> str:
    return render_template(
        "admin/channels.html",
        viewer=viewer,
        data=schemas.ChannelsSchema().dump(channels_data(viewer)),
    )


@screen("/admin/results", "nav.results", order=40)
def results(viewer: Viewer) -> str:
    query = _period_query()
    period = period_of(viewer.shop, query)
    figures = results_of(viewer.shop, period)
    return render_template(
        "admin/results.html",
        viewer=viewer,
        results=figures,
        charts=_charts(figures),
        query={"since": period.since.isoformat(), "until": period.until.isoformat()},
    )


@screen("/admin/team", "nav.team", order=90)
def team(viewer: Viewer) -> str:
    return render_template(
        "admin/team.html",
        viewer=viewer,
        members=[vars_of_member(member) for member in list_members(viewer.shop)],
    )


def _period_query() -> dict[str, Any]:
    query: dict[str, Any] = {}
    for name in ("since", "until"):
        value = request.args.get(name)
        if value:
            try:
                query[name] = date.fromisoformat(value)
            except ValueError:
                raise ApiError(
                    422, "invalid_period", f"{name}: use a date like 2026-12-01.", name
                ) from None
    return query


def _charts(results: dict[str, Any]) -> dict[str, Any]:
    days = results["days"]
    labels = [day["day"].strftime("%m-%d") for day in days]
    currency = results["currency"]
    return {
        "activity": charts.column_chart(
            t("results.chart.activity"),
            labels,
            [
                charts.Series(
                    t("results.series.sent"), [day["sent"] for day in days], "bar-a"
                ),
                charts.Series(
                    t("results.series.clicked"),
                    [day["clicked"] for day in days],
                    "bar-b",
                ),
            ],
        ),
        "revenue": charts.column_chart(
            t("results.chart.revenue", currency=currency),
            labels,
            [
                charts.Series(
                    t("results.series.revenue"),
                    [float(day["revenue"]) for day in days],
                    "bar-c",
                )
            ],
            formatter=lambda value: f"{value:,.0f}",
        ),
        "conversion": charts.bar_chart(
            t("results.chart.conversion"),
            [
                (
                    channel_name(row["channel"]),
                    row["conversion_rate"] or 0,
                    _percent(row["conversion_rate"]),
                )
                for row in results["channels"]
            ],
        ),
        "roas": charts.bar_chart(
            t("results.chart.roas"),
            [
                (
                    t(
                        "results.chart.step",
                        n=row["position"],
                        channel=channel_name(row["channel"]),
                    ),
                    row["roas"] or 0,
                    f"{row['roas']:.1f}×"
                    if row["roas"] is not None
                    else t("results.chart.no_cost"),
                )
                for row in results["steps"]
            ],
            css="bar-c",
        ),
        "onsite": charts.bar_chart(
            t("results.chart.onsite"),
            [
                (row["name"], row["views"], t("results.chart.views", n=row["views"]))
                for row in results["onsite"]
            ],
            css="bar-b",
        ),
    }


def _percent(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.1f}%"
