"""A chosen message as the widget receives it: texts in one locale, tagged link.

Locale fallback: the visitor's locale exactly (``zh-TW``), then any text in
the same language (``en-US`` reads ``en``), then the message's default locale,
which ``rules.create_message`` sets to the first locale given unless told.
Links carry ``utm_source=revisit&utm_medium=onsite&utm_campaign=<slug or id>``,
replacing any such tags already in the link.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

UTM_SOURCE = "revisit"
UTM_MEDIUM = "onsite"
OUR_UTM_TAGS = ("utm_source", "utm_medium", "utm_campaign")
TEXT_FIELDS = ("title", "body", "button_label")


def pick_texts(
    texts: dict[str, dict[str, str]], locale: str | None, default_locale: str
) -> dict[str, str]:
    """The texts for ``locale``, falling back as the module says."""
    by_lower = {key.lower(): key for key in texts}
    wanted = (locale or "").lower()
    if wanted in by_lower:
        return texts[by_lower[wanted]]

    language = wanted.split("-", 1)[0]
    for lower, key in by_lower.items():
        if language and lower.split("-", 1)[0] == language:
            return texts[key]
    return texts[default_locale]


def tag_link(url: str, campaign: str) -> str:
    """``url`` with our UTM tags (and none of the same names it had)."""
    parts = urlsplit(url)
    query = [
        (name, value)
        for name, value in parse_qsl(parts.query, keep_blank_values=True)
        if name not in OUR_UTM_TAGS
    ]
    query += [
        ("utm_source", UTM_SOURCE),
        ("utm_medium", UTM_MEDIUM),
        ("utm_campaign", campaign),
    ]
    return urlunsplit(parts._replace(query=urlencode(query)))


def widget_message(
    *,
    message_id: int,
    kind: str,
    texts: dict[str, str],
    image_url: str | None,
    link_url: str | None,
    exit_intent: bool,
    delay_seconds: int,
) -> dict[str, Any]:
    """The ``message`` object of the page endpoint's answer (see the contract)."""
    return {
        "id": message_id,
        "kind": kind,
        "title": texts.get("title"),
        "body": texts.get("body"),
        "image_url": image_url,
        "link_url": link_url,
        "button_label": texts.get("button_label"),
        "trigger": "exit_intent" if exit_intent else "delay",
        "delay_seconds": 0 if exit_intent else delay_seconds,
    }
