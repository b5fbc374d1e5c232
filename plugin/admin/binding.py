"""The Binding screen and its API: the pop-up's settings and the binding funnel.

``/admin/binding`` shows the pop-up's form and the funnel over a period
(``since``/``until``, like Results); ``GET/PUT /binding/popup`` and
``GET /binding/funnel`` are the same in the JSON API. The engine
(``engine.binding.popup``) checks every setting and names the field at
fault; a refused edit stores nothing. The funnel is counted per UTC day
(``engine.binding.funnel``), so its days are UTC days whatever the shop's
zone; the period's dates are read as UTC days too.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import render_template
from markupsafe import Markup

from engine.binding.errors import InvalidPopupSettings
from engine.binding.funnel import funnel_days, funnel_of
from engine.binding.models import CHANNELS
from engine.binding.popup import (
    DEFAULTS,
    FIELDS,
    PAGE_TYPES,
    TEXT_LIMITS,
    TRIGGERS,
    popup_of,
    ready_channels,
    update_popup,
)
from engine.db import db
from engine.shops.models import Shop
from plugin.admin import charts
from plugin.admin.access import Viewer
from plugin.admin.binding_schemas import FunnelSchema, PopupInSchema, PopupSchema
from plugin.admin.openapi import operation
from plugin.admin.pages import _period_query
from plugin.admin.results import Period, period_of
from plugin.admin.schemas import PeriodQuerySchema
from plugin.admin.screens import channel_name, screen
from plugin.admin.texts import t
from plugin.errors import ApiError

logger = logging.getLogger(__name__)

# The pop-up's texts the panel edits: the widget's two languages.
LOCALES = {"en": "English", "zh-TW": "繁體中文"}


@screen("/admin/binding", "nav.binding", order=35)
def binding(viewer: Viewer) -> str:
    period = period_of(viewer.shop, _period_query())
    funnel = funnel_data(viewer.shop, period)
    return render_template(
        "admin/binding.html",
        viewer=viewer,
        popup=popup_data(viewer.shop),
        funnel=funnel,
        charts=_funnel_charts(funnel),
        query={"since": period.since.isoformat(), "until": period.until.isoformat()},
        page_types=PAGE_TYPES,
        triggers=TRIGGERS,
        text_limits=TEXT_LIMITS,
        locales=LOCALES,
    )


@operation(
    "GET",
    "/binding/popup",
    summary="The pop-up asking shoppers to bind to LINE or Messenger.",
    response=PopupSchema,
)
def get_popup(viewer: Viewer) -> dict[str, Any]:
    return popup_data(viewer.shop)


@operation(
    "PUT",
    "/binding/popup",
    summary="Change some of the pop-up's settings; a refusal changes none.",
    body=PopupInSchema,
    response=PopupSchema,
)
def put_popup(viewer: Viewer, body: dict[str, Any]) -> dict[str, Any]:
    try:
        update_popup(viewer.shop, **body)
    except InvalidPopupSettings as refusal:
        db.session.rollback()
        logger.info(
            "admin.popup_refused",
            extra={"shop_id": viewer.shop.id, "field": refusal.field},
        )
        raise ApiError(
            422,
            "invalid_popup_setting",
            f"{refusal.field}: {refusal.problem}",
            field=refusal.field,
        ) from None
    return popup_data(viewer.shop)


@operation(
    "GET",
    "/binding/funnel",
    summary="Pop-ups shown, buttons clicked, shoppers bound: per channel and UTC day.",
    query=PeriodQuerySchema,
    response=FunnelSchema,
)
def get_funnel(viewer: Viewer, query: dict[str, Any]) -> dict[str, Any]:
    return funnel_data(viewer.shop, period_of(viewer.shop, query))


def popup_data(shop: Shop) -> dict[str, Any]:
    """The pop-up's settings (the defaults until first saved), as the API shows them."""
    popup = popup_of(shop)
    values = (
        {name: getattr(popup, name) for name in FIELDS}
        if popup is not None
        else dict(DEFAULTS)
    )
    return {
        **values,
        "saved": popup is not None,
        "ready_channels": list(ready_channels(shop.id)),
    }


def funnel_data(shop: Shop, period: Period) -> dict[str, Any]:
    """Each channel's funnel over the period, and day by day."""
    return {
        "since": period.since,
        "until": period.until,
        "channels": [
            counts.as_dict() for counts in funnel_of(shop, period.since, period.until)
        ],
        "days": [vars(day) for day in funnel_days(shop, period.since, period.until)],
    }


def _funnel_charts(funnel: dict[str, Any]) -> dict[str, Markup]:
    """One chart per channel: shown, clicked and bound, side by side each day."""
    drawn = {}
    for channel in CHANNELS:
        days = [day for day in funnel["days"] if day["channel"] == channel]
        drawn[channel] = charts.column_chart(
            t("binding.chart", channel=channel_name(channel)),
            [day["day"].strftime("%m-%d") for day in days],
            [
                charts.Series(
                    t(f"binding.series.{name}"), [day[name] for day in days], css
                )
                for name, css in (
                    ("shown", "bar-a"),
                    ("clicked", "bar-b"),
                    ("bound", "bar-c"),
                )
            ],
        )
    return drawn
