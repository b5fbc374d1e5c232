"""The Inbox's set-up API: the shop's conversation tags, saved replies, chat settings.

Everyone on the team reads them (the Inbox screen shows them too); only
owners change them, as ``@operation`` refuses an agent's change. What
``engine.chat.setup`` refuses (a taken name, a bad colour, an unknown id)
is a ``ChatError``, answered by the inbox's refusal handler (``inbox``).
"""

from __future__ import annotations

from typing import Any

from engine.chat.setup import (
    chat_settings,
    create_tag,
    delete_saved_reply,
    delete_tag,
    list_saved_replies,
    list_tags,
    rename_tag,
    save_reply,
    update_chat_settings,
)
from engine.db import db
from plugin.admin import inbox_schemas as schemas
from plugin.admin.access import Viewer
from plugin.admin.inbox_data import reply_data, settings_data, tag_data
from plugin.admin.openapi import operation


@operation(
    "GET",
    "/inbox/tags",
    summary="The shop's conversation tags, by name.",
    response=schemas.TagListSchema,
)
def get_inbox_tags(viewer: Viewer) -> dict[str, Any]:
    tags = [tag_data(tag) for tag in list_tags(viewer.shop)]
    db.session.commit()
    return {"tags": tags}


@operation(
    "POST",
    "/inbox/tags",
    summary="Add a tag (owners).",
    body=schemas.TagInSchema,
    response=schemas.TagSchema,
    status=201,
)
def post_inbox_tag(viewer: Viewer, body: dict[str, Any]) -> dict[str, Any]:
    tag = create_tag(viewer.shop, body["name"], body["color"])
    db.session.commit()
    return tag_data(tag)


@operation(
    "PUT",
    "/inbox/tags/<int:tag_id>",
    summary="Rename or recolour a tag (owners).",
    body=schemas.TagInSchema,
    response=schemas.TagSchema,
)
def put_inbox_tag(viewer: Viewer, tag_id: int, body: dict[str, Any]) -> dict:
    tag = rename_tag(viewer.shop, tag_id, body["name"], body["color"])
    db.session.commit()
    return tag_data(tag)


@operation(
    "DELETE",
    "/inbox/tags/<int:tag_id>",
    summary="Delete a tag and take it off every conversation (owners).",
    status=204,
)
def delete_inbox_tag(viewer: Viewer, tag_id: int) -> None:
    delete_tag(viewer.shop, tag_id)
    db.session.commit()


@operation(
    "GET",
    "/inbox/saved-replies",
    summary="The shop's saved replies, by title.",
    response=schemas.SavedReplyListSchema,
)
def get_inbox_saved_replies(viewer: Viewer) -> dict[str, Any]:
    return {
        "saved_replies": [
            reply_data(reply) for reply in list_saved_replies(viewer.shop)
        ]
    }


@operation(
    "POST",
    "/inbox/saved-replies",
    summary="Add a saved reply (owners).",
    body=schemas.SavedReplyInSchema,
    response=schemas.SavedReplySchema,
    status=201,
)
def post_inbox_saved_reply(viewer: Viewer, body: dict[str, Any]) -> dict[str, Any]:
    reply = save_reply(viewer.shop, body["title"], body["body"])
    db.session.commit()
    return reply_data(reply)


@operation(
    "PUT",
    "/inbox/saved-replies/<int:reply_id>",
    summary="Change a saved reply (owners).",
    body=schemas.SavedReplyInSchema,
    response=schemas.SavedReplySchema,
)
def put_inbox_saved_reply(viewer: Viewer, reply_id: int, body: dict) -> dict:
    reply = save_reply(viewer.shop, body["title"], body["body"], reply_id)
    db.session.commit()
    return reply_data(reply)


@operation(
    "DELETE",
    "/inbox/saved-replies/<int:reply_id>",
    summary="Delete a saved reply (owners).",
    status=204,
)
def delete_inbox_saved_reply(viewer: Viewer, reply_id: int) -> None:
    delete_saved_reply(viewer.shop, reply_id)
    db.session.commit()


@operation(
    "GET",
    "/inbox/settings",
    summary="The shop's chat settings.",
    response=schemas.ChatSettingsSchema,
)
def get_inbox_settings(viewer: Viewer) -> dict[str, Any]:
    settings = settings_data(chat_settings(viewer.shop))
    db.session.commit()
    return settings


@operation(
    "PUT",
    "/inbox/settings",
    summary="Change some chat settings (owners); a refusal changes none.",
    body=schemas.ChatSettingsInSchema,
    response=schemas.ChatSettingsSchema,
)
def put_inbox_settings(viewer: Viewer, body: dict[str, Any]) -> dict[str, Any]:
    settings = update_chat_settings(viewer.shop, **body)
    db.session.commit()
    return settings_data(settings)
