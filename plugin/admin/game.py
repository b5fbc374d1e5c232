"""The Bonus game screen and its API: campaigns, their results, the ledger.

``/admin/game`` lists the shop's campaigns with their state and headline
figures, shows the selected one's results (``?campaign=<id>``, by default
the newest) and the form that creates or edits one. The JSON API under
``/game/...`` does the same for scripts: list, create, change, pause,
resume, results, and the ledger as CSV. ``engine.game`` checks every field
and names the one at fault (``targets[1].reward``); a refused edit stores
nothing, and no edit takes back what visitors already collected.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

from flask import Response, render_template, request, stream_with_context
from markupsafe import Markup

from engine.db import db
from engine.game import (
    CampaignResults,
    campaign_results,
    create_campaign,
    get_campaign,
    ledger_csv,
    list_campaigns,
    pause_campaign,
    resume_campaign,
    update_campaign,
)
from engine.game import clock as game_clock
from engine.game.campaigns import DEFAULTS, ICONS, MAX_TARGETS, active_targets
from engine.game.errors import CampaignNotFound, InvalidCampaignError
from engine.game.models import TARGET_KINDS, GameCampaign
from engine.shops.models import Shop
from plugin.admin import charts
from plugin.admin.access import Viewer
from plugin.admin.game_schemas import (
    CampaignCreateSchema,
    CampaignListSchema,
    CampaignResultsSchema,
    CampaignSchema,
    CampaignUpdateSchema,
)
from plugin.admin.openapi import operation
from plugin.admin.screens import screen
from plugin.admin.texts import t
from plugin.errors import ApiError

logger = logging.getLogger(__name__)

SCHEDULED = "scheduled"
LIVE = "live"
PAUSED = "paused"
ENDED = "ended"
# The collectible's label, in the widget's two languages.
LOCALES = {"en": "English", "zh-TW": "繁體中文"}
ZERO = Decimal("0.00")


@screen("/admin/game", "nav.game", order=37)
def game(viewer: Viewer) -> str:
    campaigns = campaigns_data(viewer.shop)
    selected = _selected(campaigns)
    results = _results_of(viewer.shop, selected["id"]) if selected else None
    return render_template(
        "admin/game.html",
        viewer=viewer,
        campaigns=campaigns,
        selected=selected,
        results=results,
        charts=_results_charts(results) if results else None,
        shop_currency=viewer.shop.currency,
        now=game_clock.now(),
        defaults=DEFAULTS,
        icons=ICONS,
        kinds=TARGET_KINDS,
        max_targets=MAX_TARGETS,
        locales=LOCALES,
    )


# --- the API ------------------------------------------------------------------


@operation(
    "GET",
    "/game/campaigns",
    summary="The shop's bonus campaigns, newest first, with state and figures.",
    response=CampaignListSchema,
)
def get_campaigns(viewer: Viewer) -> dict[str, Any]:
    return {"campaigns": campaigns_data(viewer.shop), "currency": viewer.shop.currency}


@operation(
    "POST",
    "/game/campaigns",
    summary="Create a bonus campaign; a refusal names its field and stores nothing.",
    body=CampaignCreateSchema,
    response=CampaignSchema,
    status=201,
)
def post_campaign(viewer: Viewer, body: dict[str, Any]) -> dict[str, Any]:
    campaign = _checked(viewer, lambda: create_campaign(viewer.shop, **body))
    return campaign_data(campaign, None, game_clock.now())


@operation(
    "GET",
    "/game/campaigns/<int:campaign_id>",
    summary="One bonus campaign.",
    response=CampaignSchema,
)
def get_one_campaign(viewer: Viewer, campaign_id: int) -> dict[str, Any]:
    campaign = _campaign(viewer, campaign_id)
    return campaign_data(
        campaign, _results_of(viewer.shop, campaign.id), game_clock.now()
    )


@operation(
    "PUT",
    "/game/campaigns/<int:campaign_id>",
    summary="Change some fields of a campaign; what was collected stays collected.",
    body=CampaignUpdateSchema,
    response=CampaignSchema,
)
def put_campaign(viewer: Viewer, campaign_id: int, body: dict[str, Any]) -> dict:
    _campaign(viewer, campaign_id)
    campaign = _checked(
        viewer, lambda: update_campaign(viewer.shop, campaign_id, **body)
    )
    return campaign_data(
        campaign, _results_of(viewer.shop, campaign.id), game_clock.now()
    )


@operation(
    "POST",
    "/game/campaigns/<int:campaign_id>/pause",
    summary="Stop collecting at once; wallets keep what was collected.",
    response=CampaignSchema,
)
def post_pause(viewer: Viewer, campaign_id: int) -> dict[str, Any]:
    _campaign(viewer, campaign_id)
    campaign = _checked(viewer, lambda: pause_campaign(viewer.shop, campaign_id))
    return campaign_data(
        campaign, _results_of(viewer.shop, campaign_id), game_clock.now()
    )


@operation(
    "POST",
    "/game/campaigns/<int:campaign_id>/resume",
    summary="Let visitors collect again (between its dates).",
    response=CampaignSchema,
)
def post_resume(viewer: Viewer, campaign_id: int) -> dict[str, Any]:
    _campaign(viewer, campaign_id)
    campaign = _checked(viewer, lambda: resume_campaign(viewer.shop, campaign_id))
    return campaign_data(
        campaign, _results_of(viewer.shop, campaign_id), game_clock.now()
    )


@operation(
    "GET",
    "/game/campaigns/<int:campaign_id>/results",
    summary="What a campaign did, from collectibles seen to orders and cost.",
    response=CampaignResultsSchema,
)
def get_campaign_results(viewer: Viewer, campaign_id: int) -> dict[str, Any]:
    _campaign(viewer, campaign_id)
    return _results_of(viewer.shop, campaign_id)


@operation(
    "GET",
    "/game/campaigns/<int:campaign_id>/ledger.csv",
    summary="Every wallet movement of one campaign, with balances, as CSV.",
    produces="text/csv",
)
def get_campaign_ledger(viewer: Viewer, campaign_id: int) -> Response:
    _campaign(viewer, campaign_id)
    return _csv(
        ledger_csv(viewer.shop, campaign_id), f"revisit-ledger-{campaign_id}.csv"
    )


@operation(
    "GET",
    "/game/ledger.csv",
    summary="Every wallet movement of the shop's bonus game, with balances, as CSV.",
    produces="text/csv",
)
def get_ledger(viewer: Viewer) -> Response:
    return _csv(ledger_csv(viewer.shop), "revisit-ledger.csv")


# --- what the screen and the API show -------------------------------------------


def campaigns_data(shop: Shop) -> list[dict[str, Any]]:
    """Every campaign of the shop, newest first, with its headline figures."""
    figures = {row.campaign_id: row for row in campaign_results(shop)}
    now = game_clock.now()
    return [
        campaign_data(campaign, _results(figures.get(campaign.id)), now)
        for campaign in list_campaigns(shop)
    ]


def campaign_data(
    campaign: GameCampaign, results: dict[str, Any] | None, now: datetime
) -> dict[str, Any]:
    """A campaign as the API and the screen show it."""
    results = results or {}
    return {
        "id": campaign.id,
        "name": campaign.name,
        "state": campaign_state(campaign, now),
        "paused": campaign.paused,
        "starts_at": campaign.starts_at,
        "ends_at": campaign.ends_at,
        "targets": [
            {
                "id": target.id,
                "kind": target.kind,
                "value": target.value,
                "reward": _money(target.reward),
            }
            for target in active_targets(campaign)
        ],
        "min_seconds": campaign.min_seconds,
        "cap_per_visitor": _money(campaign.cap_per_visitor),
        "budget": _money(campaign.budget),
        "spent": _money(campaign.spent),
        "budget_left": _money(campaign.budget - campaign.spent),
        "credit_expiry_days": campaign.credit_expiry_days,
        "currency": campaign.currency,
        "look": {
            "icon": campaign.look["icon"],
            "color": campaign.look["color"],
            "texts": dict(campaign.look.get("texts") or {}),
        },
        "figures": {
            "shown_to": results.get("shown_to", 0),
            "collectors": results.get("collectors", 0),
            "collected": results.get("collected", _money(ZERO)),
            "orders": results.get("orders", 0),
            "revenue": results.get("revenue", _money(ZERO)),
        },
        "created_at": campaign.created_at,
        "updated_at": campaign.updated_at,
    }


def campaign_state(campaign: GameCampaign, now: datetime) -> str:
    """Scheduled, live, paused or ended (an ended one stays ended, paused or not)."""
    if campaign.ends_at is not None and campaign.ends_at <= now:
        return ENDED
    if campaign.paused:
        return PAUSED
    if now < campaign.starts_at:
        return SCHEDULED
    return LIVE


def _results_of(shop: Shop, campaign_id: int) -> dict[str, Any] | None:
    found = [row for row in campaign_results(shop) if row.campaign_id == campaign_id]
    return _results(found[0]) if found else None


def _results(row: CampaignResults | None) -> dict[str, Any] | None:
    if row is None:
        return None
    return {
        name: _money(value) if isinstance(value, Decimal) else value
        for name, value in vars(row).items()
    }


def _results_charts(results: dict[str, Any]) -> dict[str, Markup]:
    """The funnel from a collectible seen to an order, and where the money went."""
    currency = results["currency"]
    redeemed = results["codes_issued"] + results["credits_issued"]
    used = results["codes_used"] + results["credits_used"]
    return {
        "funnel": charts.bar_chart(
            t("game.chart.funnel"),
            [
                (t("game.chart.saw"), results["shown_to"], str(results["shown_to"])),
                (
                    t("game.chart.collected"),
                    results["collectors"],
                    str(results["collectors"]),
                ),
                (t("game.chart.redeemed"), redeemed, str(redeemed)),
                (t("game.chart.used"), used, str(used)),
                (t("game.chart.orders"), results["orders"], str(results["orders"])),
            ],
        ),
        "money": charts.bar_chart(
            t("game.chart.money", currency=currency),
            [
                (t(key), Decimal(results[name]), f"{results[name]} {currency}")
                for name, key in (
                    ("collected", "game.chart.collected"),
                    ("issued_amount", "game.chart.redeemed"),
                    ("used_amount", "game.chart.used"),
                    ("cost", "game.chart.cost"),
                    ("revenue", "game.chart.revenue"),
                )
            ],
            css="bar-c",
        ),
    }


def _selected(campaigns: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The campaign shown: ``?campaign=<id>``, none for ``?new``, else the newest."""
    if "new" in request.args:
        return None
    wanted = request.args.get("campaign", "")
    for campaign in campaigns:
        if str(campaign["id"]) == wanted:
            return campaign
    if wanted:
        raise ApiError(404, "not_found", f"This shop has no bonus campaign {wanted}.")
    return campaigns[0] if campaigns else None


def _campaign(viewer: Viewer, campaign_id: int) -> GameCampaign:
    try:
        return get_campaign(viewer.shop, campaign_id)
    except CampaignNotFound:
        raise ApiError(
            404, "not_found", f"This shop has no bonus campaign {campaign_id}."
        ) from None


def _checked(viewer: Viewer, change: Callable[[], GameCampaign]) -> GameCampaign:
    """The engine's change, or the 422 naming the field it refused (nothing stored)."""
    try:
        return change()
    except InvalidCampaignError as refusal:
        db.session.rollback()
        logger.info(
            "admin.campaign_refused",
            extra={"shop_id": viewer.shop.id, "field": refusal.field},
        )
        raise ApiError(
            422,
            "invalid_campaign",
            f"{refusal.field}: {refusal.problem}",
            field=refusal.field,
        ) from None


def _csv(lines: Any, filename: str) -> Response:
    # Streamed: a shop's ledger can be long, and the engine yields it by rows.
    response = Response(stream_with_context(lines), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response


def _money(amount: Decimal) -> str:
    return str(Decimal(amount).quantize(Decimal("0.01")))
