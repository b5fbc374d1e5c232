"""The fake Messenger platform's checks of a Send API body, with Meta's numbers.

Written from the Messenger Platform documentation (CONTRACTS.md section C),
not imported from our renderer, so a wrong number in one is caught by the
other. A problem is returned as the sentence Graph puts in its ``(#100)``
parameter errors.
"""

from __future__ import annotations

from typing import Any

from engine.channels.text import Unit, measure

TEXT_MAX = 2000
QUICK_REPLIES_MAX = 13
QUICK_REPLY_TITLE_MAX = 20
PAYLOAD_MAX = 1000
GENERIC_ELEMENTS_MAX = 10
ELEMENT_TITLE_MAX = 80
ELEMENT_SUBTITLE_MAX = 80
BUTTONS_MAX = 3
BUTTON_TITLE_MAX = 20
BUTTON_TEMPLATE_TEXT_MAX = 640

MESSAGING_TYPES = ("RESPONSE", "UPDATE", "MESSAGE_TAG")
MESSAGE_TAGS = (
    "CONFIRMED_EVENT_UPDATE",
    "POST_PURCHASE_UPDATE",
    "ACCOUNT_UPDATE",
    "HUMAN_AGENT",
)


def send_problem(body: Any) -> str | None:
    """The first thing Graph would refuse in a Send API body, or ``None``."""
    if not isinstance(body, dict):
        return "The request body must be a JSON object."

    recipient = body.get("recipient")
    if not isinstance(recipient, dict) or not recipient.get("id"):
        return "param recipient[id] must be non-empty."
    messaging_type = body.get("messaging_type")
    if messaging_type not in MESSAGING_TYPES:
        return f"param messaging_type must be one of {', '.join(MESSAGING_TYPES)}."
    if messaging_type == "MESSAGE_TAG" and body.get("tag") not in MESSAGE_TAGS:
        return f"param tag must be one of {', '.join(MESSAGE_TAGS)}."

    message = body.get("message")
    if not isinstance(message, dict):
        return "param message must be an object."
    return _message_problem(message)


def _message_problem(message: dict[str, Any]) -> str | None:
    has_text, has_attachment = "text" in message, "attachment" in message
    if has_text == has_attachment:
        return "param message must have exactly one of text or attachment."

    problem = (
        _length_problem(message["text"], "message[text]", TEXT_MAX)
        if has_text
        else _attachment_problem(message["attachment"])
    )
    if problem is None and "quick_replies" in message:
        problem = _quick_replies_problem(message["quick_replies"])
    return problem


def _attachment_problem(attachment: Any) -> str | None:
    if not isinstance(attachment, dict) or not isinstance(
        attachment.get("payload"), dict
    ):
        return "param message[attachment][payload] must be an object."

    payload = attachment["payload"]
    if attachment.get("type") == "image":
        url = payload.get("url")
        if not isinstance(url, str) or not url.startswith(("https://", "http://")):
            return "param message[attachment][payload][url] must be a URL."
        return None
    if attachment.get("type") != "template":
        return "param message[attachment][type] must be image or template."

    template = payload.get("template_type")
    if template == "generic":
        return _generic_problem(payload.get("elements"))
    if template == "button":
        text_problem = _length_problem(
            payload.get("text"),
            "message[attachment][payload][text]",
            BUTTON_TEMPLATE_TEXT_MAX,
        )
        return text_problem or _buttons_problem(
            payload.get("buttons"), "message[attachment][payload][buttons]", 1
        )
    return (
        "param message[attachment][payload][template_type] must be generic or button."
    )


def _generic_problem(elements: Any) -> str | None:
    path = "message[attachment][payload][elements]"
    if not isinstance(elements, list) or not 1 <= len(elements) <= GENERIC_ELEMENTS_MAX:
        return f"param {path} must be an array of 1 to {GENERIC_ELEMENTS_MAX} elements."

    for index, element in enumerate(elements):
        here = f"{path}[{index}]"
        if not isinstance(element, dict):
            return f"param {here} must be an object."
        problem = (
            _length_problem(element.get("title"), f"{here}[title]", ELEMENT_TITLE_MAX)
            or _optional_length_problem(
                element.get("subtitle"), f"{here}[subtitle]", ELEMENT_SUBTITLE_MAX
            )
            or _buttons_problem(element.get("buttons", []), f"{here}[buttons]", 0)
        )
        if problem:
            return problem
    return None


def _buttons_problem(buttons: Any, path: str, minimum: int) -> str | None:
    if not isinstance(buttons, list) or not minimum <= len(buttons) <= BUTTONS_MAX:
        return f"param {path} must be an array of {minimum} to {BUTTONS_MAX} buttons."

    for index, button in enumerate(buttons):
        here = f"{path}[{index}]"
        if not isinstance(button, dict):
            return f"param {here} must be an object."
        problem = _length_problem(
            button.get("title"), f"{here}[title]", BUTTON_TITLE_MAX
        )
        if problem:
            return problem
        if button.get("type") == "web_url" and not str(
            button.get("url", "")
        ).startswith(("https://", "http://")):
            return f"param {here}[url] must be a URL."
        if button.get("type") == "postback":
            problem = _length_problem(
                button.get("payload"), f"{here}[payload]", PAYLOAD_MAX
            )
            if problem:
                return problem
        if button.get("type") not in ("web_url", "postback", "phone_number"):
            return f"param {here}[type] must be web_url, postback or phone_number."
    return None


def _quick_replies_problem(replies: Any) -> str | None:
    path = "message[quick_replies]"
    if not isinstance(replies, list) or not 1 <= len(replies) <= QUICK_REPLIES_MAX:
        return (
            f"param {path} must be an array of 1 to {QUICK_REPLIES_MAX} quick replies."
        )

    for index, reply in enumerate(replies):
        here = f"{path}[{index}]"
        if not isinstance(reply, dict):
            return f"param {here} must be an object."
        if reply.get("content_type") != "text":
            continue
        problem = _length_problem(
            reply.get("title"), f"{here}[title]", QUICK_REPLY_TITLE_MAX
        ) or _length_problem(reply.get("payload"), f"{here}[payload]", PAYLOAD_MAX)
        if problem:
            return problem
    return None


def _length_problem(value: Any, path: str, limit: int) -> str | None:
    if not isinstance(value, str) or not value:
        return f"param {path} must be non-empty."
    return _optional_length_problem(value, path, limit)


def _optional_length_problem(value: Any, path: str, limit: int) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or measure(value, Unit.UTF16) > limit:
        return f"Length of param {path} must be less than or equal to {limit}"
    return None
