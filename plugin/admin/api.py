"""The admin API under ``/api/admin/v1``: the panel's dynamic parts and every change.

Refused edits answer 422 with ``{"detail", "code", "field"}`` and change
nothing: the engine checks the whole edit before it writes, and the
transaction is rolled back on any refusal. The channel settings' operations
are ``plugin.admin.channels_api``'s, the inbox's ``inbox`` and ``inbox_setup``'s.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Response, jsonify

from engine.channels.errors import ChannelError
from engine.db import db, utcnow
from engine.onsite import rules
from engine.onsite.counting import message_stats
from engine.onsite.errors import InvalidMessageError, MessageNotFound
from engine.reminders import flow_for, pause_flow, resume_flow, update_flow
from engine.reminders.content import validate_message
from engine.reminders.errors import FlowValidationError
from engine.reminders.flows import MAX_STEPS
from engine.reminders.preview import preview_step, recent_carts, send_test
from engine.team.accounts import add_member, deactivate, list_members
from engine.team.errors import InvalidMemberError, MemberNotFound
from plugin.admin import schemas
from plugin.admin.access import Viewer
from plugin.admin.openapi import document, operation
from plugin.admin.previews import keep_preview
from plugin.admin.results import period_of, results_csv, results_of
from plugin.admin.texts import t
from plugin.errors import ApiError
from plugin.sandbox.phone import PhoneItem, render_phone_page, threads_by_recipient

logger = logging.getLogger(__name__)

UNIT_MINUTES = {"days": 24 * 60, "hours": 60, "minutes": 1}


@operation("GET", "/openapi.json", summary="This document.", public=True)
def openapi_document(viewer: None) -> Response:
    return jsonify(document())


# --- reminder flow ------------------------------------------------------------


@operation("GET", "/flow", summary="The reminder flow.", response=schemas.FlowSchema)
def get_flow(viewer: Viewer) -> dict[str, Any]:
    return flow_data(viewer)


@operation(
    "PUT",
    "/flow",
    summary="Change the flow's settings and steps (the full list, in order).",
    body=schemas.FlowUpdateSchema,
    response=schemas.FlowSchema,
)
def put_flow(viewer: Viewer, body: dict[str, Any]) -> dict[str, Any]:
    changes = dict(body)
    enabled = changes.pop("enabled", None)
    if "steps" in changes:
        changes["steps"] = [_engine_step(step) for step in changes["steps"]]
    try:
        update_flow(viewer.shop, changes)
    except FlowValidationError as refusal:
        raise refused(refusal.field, refusal.message, refusal.code) from None
    if enabled is False and flow_for(viewer.shop).enabled:
        pause_flow(viewer.shop)
    elif enabled is True:
        resume_flow(viewer.shop)
    db.session.commit()
    return flow_data(viewer)


@operation(
    "POST",
    "/flow/preview",
    summary="Render a step as LINE and Messenger would show it.",
    body=schemas.PreviewRequestSchema,
    response=schemas.PreviewSchema,
)
def post_preview(viewer: Viewer, body: dict[str, Any]) -> dict[str, Any]:
    step = _checked_step(body["step"])
    preview = preview_step(
        viewer.shop, step["message"], step["channel"], body["cart_id"]
    )
    renderings = []
    for rendering in preview.renderings:
        html = _phone_html(viewer, rendering.channel, rendering.payload)
        renderings.append(
            {
                "channel": rendering.channel,
                "payload": rendering.payload,
                "html": html,
                "url": keep_preview(viewer, html) if html is not None else None,
                "field": rendering.field,
                "error": rendering.error,
            }
        )
    return {
        "cart_id": preview.cart_id,
        "cart_label": preview.cart_label,
        "renderings": renderings,
    }


@operation(
    "POST",
    "/flow/test",
    summary="Send a step to the merchant's own account, or the sandbox outbox.",
    body=schemas.PreviewRequestSchema,
    response=schemas.TestSendSchema,
    errors=(502,),
)
def post_test(viewer: Viewer, body: dict[str, Any]) -> dict[str, Any]:
    step = _checked_step(body["step"])
    try:
        sent = send_test(viewer.shop, step["message"], step["channel"], body["cart_id"])
    except ChannelError as error:
        db.session.rollback()
        raise ApiError(
            502,
            "test_send_failed",
            f"The test did not go out: {error.reason}",
            field="step.message",
        ) from None
    db.session.commit()
    return {
        "channel": sent.channel,
        "delivered_to": sent.delivered_to,
        "recipient_id": sent.recipient_id,
        "message_ids": list(sent.message_ids),
    }


@operation(
    "GET",
    "/carts",
    summary="The shop's recent carts, to preview with.",
    response=schemas.CartListSchema,
)
def get_carts(viewer: Viewer) -> dict[str, Any]:
    return {
        "carts": [
            {
                "id": cart.id,
                "label": f"Cart {cart.id}: {cart.item_count} item(s)",
                "item_count": cart.item_count,
                "updated_at": cart.updated_at,
            }
            for cart in recent_carts(viewer.shop)
        ]
    }


def flow_data(viewer: Viewer) -> dict[str, Any]:
    """The flow as the editor and the API show it."""
    flow = flow_for(viewer.shop)
    quiet = None
    if flow.quiet_start_minute is not None and flow.quiet_end_minute is not None:
        quiet = {
            "start": _clock(flow.quiet_start_minute),
            "end": _clock(flow.quiet_end_minute),
        }
    return {
        "enabled": flow.enabled,
        "abandonment_minutes": flow.abandonment_minutes,
        "quiet_hours": quiet,
        "frequency_cap": flow.frequency_cap,
        "frequency_window_hours": flow.frequency_window_hours,
        "attribution_days": flow.attribution_days,
        "channel_order": list(flow.channel_order),
        "message_costs": dict(flow.message_costs),
        "max_steps": MAX_STEPS,
        "steps": [
            {
                "position": step.position,
                "enabled": step.enabled,
                **_delay_in_unit(step.delay_minutes),
                "delay_minutes": step.delay_minutes,
                "channel": step.channel,
                "message": step.message,
                "latest_minutes": step.latest_minutes,
            }
            for step in flow.steps
        ],
    }


def _engine_step(step: dict[str, Any]) -> dict[str, Any]:
    return {
        key: value
        for key, value in step.items()
        if value is not None or key in ("latest_minutes",)
    }


def _checked_step(step: dict[str, Any]) -> dict[str, Any]:
    try:
        # Checked against the roomiest channel: the preview then shows, channel
        # by channel, which one would refuse it and why.
        message = validate_message(step["message"], "step.message", "line")
    except FlowValidationError as refusal:
        raise refused(refusal.field, refusal.message, refusal.code) from None
    return {"message": message, "channel": step["channel"]}


def _delay_in_unit(minutes: int) -> dict[str, Any]:
    for unit, size in UNIT_MINUTES.items():
        if minutes % size == 0:
            return {"delay": minutes // size, "unit": unit}
    return {"delay": minutes, "unit": "minutes"}


def _clock(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def _phone_html(
    viewer: Viewer, channel: str, payload: list[dict[str, Any]] | None
) -> str | None:
    if payload is None:
        return None
    account = viewer.shop.name or viewer.shop.shop_domain
    item = PhoneItem(
        platform=channel,
        recipient="the shopper",
        account=account,
        messages=payload,
        at=utcnow(),
        note="preview",
    )
    return render_phone_page(
        t("flow.phone_title", channel="LINE" if channel == "line" else "Messenger"),
        t("flow.phone_subtitle"),
        threads_by_recipient([item]),
    )


# --- on-site messages ---------------------------------------------------------


@operation(
    "GET",
    "/messages",
    summary="The shop's on-site messages, newest first.",
    response=schemas.OnsiteMessageListSchema,
)
def get_messages(viewer: Viewer) -> dict[str, Any]:
    return {
        "messages": [message_data(viewer, m) for m in rules.list_messages(viewer.shop)]
    }


@operation(
    "POST",
    "/messages",
    summary="Create an on-site message.",
    body=schemas.OnsiteMessageInSchema,
    response=schemas.OnsiteMessageSchema,
    status=201,
)
def post_message(viewer: Viewer, body: dict[str, Any]) -> dict[str, Any]:
    try:
        message = rules.create_message(viewer.shop, **body)
    except InvalidMessageError as refusal:
        raise refused(refusal.field, str(refusal), "invalid_onsite_message") from None
    return message_data(viewer, message)


@operation(
    "GET",
    "/messages/<int:message_id>",
    summary="One on-site message.",
    response=schemas.OnsiteMessageSchema,
)
def get_message(viewer: Viewer, message_id: int) -> dict[str, Any]:
    return message_data(viewer, _message(viewer, message_id))


@operation(
    "PUT",
    "/messages/<int:message_id>",
    summary="Change some fields of an on-site message.",
    body=schemas.OnsiteMessageInSchema,
    response=schemas.OnsiteMessageSchema,
)
def put_message(viewer: Viewer, message_id: int, body: dict[str, Any]) -> dict:
    _message(viewer, message_id)
    try:
        message = rules.update_message(viewer.shop, message_id, **body)
    except InvalidMessageError as refusal:
        db.session.rollback()
        raise refused(refusal.field, str(refusal), "invalid_onsite_message") from None
    return message_data(viewer, message)


@operation(
    "DELETE",
    "/messages/<int:message_id>",
    summary="Delete an on-site message and its counts.",
    status=204,
)
def delete_message(viewer: Viewer, message_id: int) -> None:
    _message(viewer, message_id)
    rules.delete_message(viewer.shop, message_id)


def message_data(viewer: Viewer, message: Any) -> dict[str, Any]:
    stats = message_stats(viewer.shop, message.id)
    data = {
        name: getattr(message, name) for name in schemas.OnsiteMessageInSchema().fields
    }
    return {
        **data,
        "id": message.id,
        "views": stats.views,
        "clicks": stats.clicks,
        "dismissals": stats.dismissals,
    }


def _message(viewer: Viewer, message_id: int) -> Any:
    try:
        return rules.get_message(viewer.shop, message_id)
    except MessageNotFound:
        raise ApiError(
            404, "not_found", f"This shop has no on-site message {message_id}."
        ) from None


# --- results ------------------------------------------------------------------


@operation(
    "GET",
    "/results",
    summary="Reminders and on-site messages over a period (dates in the shop's zone).",
    query=schemas.PeriodQuerySchema,
    response=schemas.ResultsSchema,
)
def get_results(viewer: Viewer, query: dict[str, Any]) -> dict[str, Any]:
    return results_of(viewer.shop, period_of(viewer.shop, query))


@operation(
    "GET",
    "/results.csv",
    summary="The same figures per step and channel, as CSV.",
    query=schemas.PeriodQuerySchema,
    produces="text/csv",
)
def get_results_csv(viewer: Viewer, query: dict[str, Any]) -> Response:
    period = period_of(viewer.shop, query)
    response = Response(results_csv(viewer.shop, period), mimetype="text/csv")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="revisit-results-{period.since}-{period.until}.csv"'
    )
    return response


# --- team ---------------------------------------------------------------------


@operation(
    "GET",
    "/team",
    summary="The shop's team members.",
    response=schemas.MemberListSchema,
)
def get_team(viewer: Viewer) -> dict[str, Any]:
    return {"members": [vars_of_member(m) for m in list_members(viewer.shop)]}


@operation(
    "POST",
    "/team",
    summary="Add a team member who signs in outside the store admin.",
    body=schemas.MemberInSchema,
    response=schemas.MemberSchema,
    status=201,
)
def post_team(viewer: Viewer, body: dict[str, Any]) -> dict[str, Any]:
    try:
        member = add_member(
            viewer.shop,
            body["email"],
            body["display_name"],
            body["role"],
            body["password"],
        )
    except InvalidMemberError as refusal:
        db.session.rollback()
        raise refused(refusal.field, refusal.message, refusal.code) from None
    db.session.commit()
    return vars_of_member(member)


@operation(
    "DELETE",
    "/team/<int:member_id>",
    summary="Deactivate a team member and end their sessions.",
    response=schemas.MemberSchema,
)
def delete_team_member(viewer: Viewer, member_id: int) -> dict[str, Any]:
    try:
        member = deactivate(viewer.shop, member_id)
    except MemberNotFound:
        raise ApiError(
            404, "not_found", f"This shop has no team member {member_id}."
        ) from None
    except InvalidMemberError as refusal:
        raise refused(refusal.field, refusal.message, refusal.code) from None
    db.session.commit()
    return vars_of_member(member)


def vars_of_member(member: Any) -> dict[str, Any]:
    return {
        "id": member.id,
        "email": member.email,
        "display_name": member.display_name,
        "role": member.role,
        "active": member.active,
        "last_signed_in_at": member.last_signed_in_at,
    }


def refused(field: str, message: str, code: str) -> ApiError:
    """A refused edit: rolled back, logged, answered 422 naming the field."""
    db.session.rollback()
    logger.info("admin.edit_refused", extra={"field": field, "code": code})
    return ApiError(422, code, f"{field}: {message}", field=field)
