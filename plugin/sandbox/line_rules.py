"""The fake LINE platform's checks of a push request body, with LINE's numbers.

Written from LINE's documentation (CONTRACTS.md section B), not imported from
our renderer, so a wrong number in one is caught by the other. Each problem
is a ``Detail`` (property path and message), the shape of LINE's 400 answer:
``{"message": "The request body has 2 error(s)", "details": [...]}``.
"""

from __future__ import annotations

import json
import re
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from engine.channels.text import Unit, measure

MESSAGES_MIN, MESSAGES_MAX = 1, 5
TEXT_MAX = 5000
ALT_TEXT_MAX = 1500
CAROUSEL_BUBBLES_MAX = 12
CAROUSEL_BYTES_MAX = 50_000
BUBBLE_BYTES_MAX = 30_000
QUICK_REPLY_ITEMS_MAX = 13
ACTION_LABEL_MAX = 20
POSTBACK_DATA_MAX = 300
POSTBACK_DISPLAY_TEXT_MAX = 300
URI_MAX = 10_000
IMAGE_URL_MAX = 2000
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png")

RECIPIENT = re.compile(r"^[UCR][0-9a-f]{32}$")
MESSAGE_TYPES = ("text", "image", "flex", "sticker", "video", "audio", "location")


class Detail(NamedTuple):
    property: str
    message: str


def push_problems(body: Any) -> list[Detail]:
    """Everything LINE would refuse in a push body; empty when it is fine."""
    if not isinstance(body, dict):
        return [Detail("", "The request body must be a JSON object")]

    problems: list[Detail] = []
    messages = body.get("messages")
    if not isinstance(messages, list) or not (
        MESSAGES_MIN <= len(messages) <= MESSAGES_MAX
    ):
        count = len(messages) if isinstance(messages, list) else 0
        problems.append(
            Detail("messages", f"Size must be between 1 and 5 (got {count})")
        )
        return problems

    for index, message in enumerate(messages):
        problems.extend(_message_problems(message, f"messages[{index}]"))
    return problems


def recipient_is_valid(body: Any) -> bool:
    to = body.get("to") if isinstance(body, dict) else None
    return isinstance(to, str) and bool(RECIPIENT.match(to))


def compact_size(node: Any) -> int:
    text = json.dumps(node, ensure_ascii=False, separators=(",", ":"))
    return len(text.encode("utf-8"))


def _message_problems(message: Any, path: str) -> list[Detail]:
    if not isinstance(message, dict) or message.get("type") not in MESSAGE_TYPES:
        return [Detail(f"{path}.type", f"Must be one of {', '.join(MESSAGE_TYPES)}")]

    kind = message["type"]
    problems: list[Detail] = []
    if kind == "text":
        problems += _text_problems(message.get("text"), f"{path}.text", TEXT_MAX)
    elif kind == "image":
        for name in ("originalContentUrl", "previewImageUrl"):
            problems += _image_url_problems(message.get(name), f"{path}.{name}")
    elif kind == "flex":
        problems += _flex_problems(message, path)

    quick_reply = message.get("quickReply")
    if quick_reply is not None:
        problems += _quick_reply_problems(quick_reply, f"{path}.quickReply")
    return problems


def _text_problems(text: Any, path: str, limit: int) -> list[Detail]:
    if not isinstance(text, str) or not text:
        return [Detail(path, "May not be empty")]
    if measure(text, Unit.UTF16) > limit:
        return [Detail(path, f"Length must be between 0 and {limit}")]
    return []


def _image_url_problems(url: Any, path: str) -> list[Detail]:
    if not isinstance(url, str) or not url:
        return [Detail(path, "May not be empty")]
    parts = urlsplit(url)
    if parts.scheme != "https":
        return [Detail(path, "Must be a URL with the https scheme")]
    if len(url) > IMAGE_URL_MAX:
        return [Detail(path, f"Length must be between 0 and {IMAGE_URL_MAX}")]
    if not parts.path.lower().endswith(IMAGE_EXTENSIONS):
        return [Detail(path, "Must be a JPEG or PNG image")]
    return []


def _flex_problems(message: dict[str, Any], path: str) -> list[Detail]:
    problems = _text_problems(message.get("altText"), f"{path}.altText", ALT_TEXT_MAX)
    contents = message.get("contents")
    container_path = f"{path}.contents"
    if not isinstance(contents, dict) or contents.get("type") not in (
        "bubble",
        "carousel",
    ):
        return [
            *problems,
            Detail(f"{container_path}.type", "Must be bubble or carousel"),
        ]

    if contents["type"] == "bubble":
        return problems + _bubble_problems(contents, container_path)

    bubbles = contents.get("contents")
    if not isinstance(bubbles, list) or not (1 <= len(bubbles) <= CAROUSEL_BUBBLES_MAX):
        count = len(bubbles) if isinstance(bubbles, list) else 0
        return [
            *problems,
            Detail(
                f"{container_path}.contents",
                f"Size must be between 1 and {CAROUSEL_BUBBLES_MAX} (got {count})",
            ),
        ]
    if compact_size(contents) > CAROUSEL_BYTES_MAX:
        problems.append(
            Detail(container_path, f"Size must be at most {CAROUSEL_BYTES_MAX} bytes")
        )
    for index, item in enumerate(bubbles):
        problems += _bubble_problems(item, f"{container_path}.contents[{index}]")
    return problems


def _bubble_problems(bubble: Any, path: str) -> list[Detail]:
    if not isinstance(bubble, dict) or bubble.get("type") != "bubble":
        return [Detail(f"{path}.type", "Must be bubble")]

    problems: list[Detail] = []
    if compact_size(bubble) > BUBBLE_BYTES_MAX:
        problems.append(Detail(path, f"Size must be at most {BUBBLE_BYTES_MAX} bytes"))
    for section in ("header", "hero", "body", "footer"):
        if section in bubble:
            problems += _component_problems(bubble[section], f"{path}.{section}")
    if "action" in bubble:
        problems += _action_problems(bubble["action"], f"{path}.action", False)
    return problems


def _component_problems(component: Any, path: str) -> list[Detail]:
    if not isinstance(component, dict):
        return [Detail(path, "Must be a component object")]

    kind = component.get("type")
    problems: list[Detail] = []
    if kind == "box":
        for index, child in enumerate(component.get("contents") or []):
            problems += _component_problems(child, f"{path}.contents[{index}]")
    elif kind == "text" and not component.get("contents"):
        if not component.get("text"):
            problems.append(Detail(f"{path}.text", "May not be empty"))
    elif kind == "image":
        problems += _image_url_problems(component.get("url"), f"{path}.url")
    elif kind == "button":
        problems += _action_problems(component.get("action"), f"{path}.action", True)
    if kind != "button" and "action" in component:
        problems += _action_problems(component["action"], f"{path}.action", False)
    return problems


def _quick_reply_problems(quick_reply: Any, path: str) -> list[Detail]:
    items = quick_reply.get("items") if isinstance(quick_reply, dict) else None
    if not isinstance(items, list) or not (1 <= len(items) <= QUICK_REPLY_ITEMS_MAX):
        return [
            Detail(
                f"{path}.items",
                f"Size must be between 1 and {QUICK_REPLY_ITEMS_MAX}",
            )
        ]
    problems: list[Detail] = []
    for index, item in enumerate(items):
        action = item.get("action") if isinstance(item, dict) else None
        problems += _action_problems(action, f"{path}.items[{index}].action", True)
    return problems


def _action_problems(action: Any, path: str, label_required: bool) -> list[Detail]:
    if not isinstance(action, dict):
        return [Detail(path, "May not be null")]

    problems: list[Detail] = []
    label = action.get("label")
    if label_required and not label:
        problems.append(Detail(f"{path}.label", "May not be empty"))
    if label and measure(label, Unit.GRAPHEME) > ACTION_LABEL_MAX:
        problems.append(
            Detail(f"{path}.label", f"Length must be between 0 and {ACTION_LABEL_MAX}")
        )

    kind = action.get("type")
    if kind == "uri":
        problems += _uri_problems(action.get("uri"), f"{path}.uri")
    elif kind == "postback":
        data = action.get("data")
        if not isinstance(data, str) or measure(data, Unit.UTF16) > POSTBACK_DATA_MAX:
            problems.append(
                Detail(
                    f"{path}.data", f"Length must be between 0 and {POSTBACK_DATA_MAX}"
                )
            )
        display = action.get("displayText")
        if display and measure(display, Unit.GRAPHEME) > POSTBACK_DISPLAY_TEXT_MAX:
            problems.append(
                Detail(
                    f"{path}.displayText",
                    f"Length must be between 0 and {POSTBACK_DISPLAY_TEXT_MAX}",
                )
            )
    elif kind != "message":
        problems.append(Detail(f"{path}.type", "Must be uri, postback or message"))
    return problems


def _uri_problems(uri: Any, path: str) -> list[Detail]:
    if not isinstance(uri, str) or not uri:
        return [Detail(path, "May not be empty")]
    if urlsplit(uri).scheme not in ("http", "https", "line", "tel"):
        return [Detail(path, "Must use the http, https, line or tel scheme")]
    if len(uri) > URI_MAX:
        return [Detail(path, f"Length must be between 0 and {URI_MAX}")]
    return []
