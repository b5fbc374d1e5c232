"""The admin API's channel settings: LINE, Messenger and the opening hours.

Secrets are never sent back; a refused setting answers 422 naming its
field and stores nothing (``plugin.admin.api.refused``).
"""

from __future__ import annotations

from typing import Any

from engine.binding.addresses import setup_addresses
from engine.channels.accounts import (
    UNCHANGED,
    channel_settings,
    disconnect,
    save_line_settings,
    save_messenger_settings,
)
from engine.channels.errors import InvalidChannelSettingError
from engine.channels.schedule import opening_hours, save_schedule
from engine.db import db
from plugin.admin import schemas
from plugin.admin.access import Viewer
from plugin.admin.api import refused
from plugin.admin.openapi import operation


@operation(
    "GET",
    "/channels",
    summary="LINE, Messenger and the opening hours (secrets are never shown).",
    response=schemas.ChannelsSchema,
)
def get_channels(viewer: Viewer) -> dict[str, Any]:
    return channels_data(viewer)


@operation(
    "PUT",
    "/channels/line",
    summary="Connect or change the LINE channel; empty secrets keep the stored ones.",
    body=schemas.LineSettingsInSchema,
    response=schemas.ChannelsSchema,
)
def put_line(viewer: Viewer, body: dict[str, Any]) -> dict[str, Any]:
    _saved_channel(
        lambda: save_line_settings(
            viewer.shop,
            body["channel_id"],
            body.get("channel_secret"),
            body.get("channel_access_token"),
            body.get("test_recipient_id"),
            login_channel_id=body.get("login_channel_id", UNCHANGED),
            login_channel_secret=body.get("login_channel_secret"),
            basic_id=body.get("basic_id", UNCHANGED),
        )
    )
    return channels_data(viewer)


@operation(
    "PUT",
    "/channels/messenger",
    summary="Connect or change the Facebook Page; an empty token keeps the stored one.",
    body=schemas.MessengerSettingsInSchema,
    response=schemas.ChannelsSchema,
)
def put_messenger(viewer: Viewer, body: dict[str, Any]) -> dict[str, Any]:
    _saved_channel(
        lambda: save_messenger_settings(
            viewer.shop,
            body["page_id"],
            body.get("page_access_token"),
            body.get("test_recipient_id"),
        )
    )
    return channels_data(viewer)


@operation(
    "DELETE",
    "/channels/<any(line, messenger):channel>",
    summary="Stop sending through a channel.",
    response=schemas.ChannelsSchema,
)
def delete_channel(viewer: Viewer, channel: str) -> dict[str, Any]:
    disconnect(viewer.shop, channel)
    db.session.commit()
    return channels_data(viewer)


@operation(
    "PUT",
    "/channels/schedule",
    summary="Set the opening hours (Monday first) and the shop's time zone.",
    body=schemas.ScheduleSchema,
    response=schemas.ChannelsSchema,
)
def put_schedule(viewer: Viewer, body: dict[str, Any]) -> dict[str, Any]:
    _saved_channel(
        lambda: save_schedule(viewer.shop, body.get("timezone"), body["opening_hours"])
    )
    return channels_data(viewer)


def channels_data(viewer: Viewer) -> dict[str, Any]:
    return {
        "channels": [vars(item) for item in channel_settings(viewer.shop)],
        "schedule": {
            "timezone": viewer.shop.timezone,
            "opening_hours": opening_hours(viewer.shop),
        },
        "addresses": vars(setup_addresses(viewer.shop)),
    }


def _saved_channel(save: Any) -> None:
    try:
        save()
    except InvalidChannelSettingError as refusal:
        db.session.rollback()
        raise refused(
            refusal.field, refusal.reason, "invalid_channel_setting"
        ) from None
    db.session.commit()
