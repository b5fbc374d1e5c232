"""The panel's words in English and Traditional Chinese, and which one a viewer reads.

Every visible text of the panel's pages and scripts has a key ("flow.heading")
and one sentence per language, side by side in this package's catalog
modules, so no text can lack its translation. Templates call ``t(key)``;
page scripts get the texts they use as a JSON block (``script_texts``) that
``Revisit.t`` in ``panel.js`` reads. A ``{name}`` in a text is filled from
the call's values; any other brace (``{first_name|there}``) stays as it is.

The language: inside the store admin, the ``locale`` the platform puts in
the app's address; for a signed-in team member, their own ``locale``; else
the browser's ``Accept-Language``. Traditional Chinese (zh-TW, zh-HK,
zh-Hant) reads Traditional Chinese; anything else reads English.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable

from flask import g, has_request_context, request
from markupsafe import Markup, escape

from plugin.admin.texts import (
    binding,
    channels,
    flow,
    game,
    inbox,
    messages,
    panel,
    results,
)

EN = "en"
ZH_TW = "zh-TW"
LOCALES = (EN, ZH_TW)
# BCP 47 tags whose readers get Traditional Chinese: Taiwan, Hong Kong and
# any tag naming the Traditional script.
_TRADITIONAL = re.compile(r"^zh[-_](tw|hk|hant)\b", re.IGNORECASE)
_ENGLISH = re.compile(r"^en\b", re.IGNORECASE)
_VALUE = re.compile(r"\{([a-z_]+)\}")
_ENVIRON_KEY = "revisit.panel_locale"


def _catalogs() -> dict[str, dict[str, str]]:
    pairs: dict[str, tuple[str, str]] = {}
    for module in (panel, flow, messages, channels, binding, game, inbox, results):
        overlap = pairs.keys() & module.TEXTS.keys()
        if overlap:
            raise RuntimeError(f"Text keys defined twice: {sorted(overlap)!r}")
        pairs.update(module.TEXTS)
    return {
        EN: {key: english for key, (english, _) in pairs.items()},
        ZH_TW: {key: chinese for key, (_, chinese) in pairs.items()},
    }


CATALOGS = _catalogs()


def locale_of_tag(tag: str | None) -> str:
    """The panel's language for a language tag: zh-TW for Traditional Chinese."""
    return ZH_TW if tag and _TRADITIONAL.match(tag.strip()) else EN


def current_locale() -> str:
    """The language of this request's viewer, chosen once per request."""
    if not has_request_context():
        return EN
    # Kept on the request itself: ``g`` can outlive it (an app context
    # pushed around several requests, as tests do).
    if _ENVIRON_KEY not in request.environ:
        request.environ[_ENVIRON_KEY] = _chosen_locale()
    return request.environ[_ENVIRON_KEY]


def t(key: str, **values: object) -> str:
    """The text ``key`` in the viewer's language, its ``{name}``s filled in.

    Raises ``KeyError`` for an unknown key, so a typo fails its page's test
    instead of showing a key to a merchant.
    """
    return _filled(CATALOGS[current_locale()][key], values)


def t_or(key: str, fallback: str) -> str:
    """The text ``key``, or ``fallback`` for a value the catalog does not know.

    For names of values the engine lists (page types, failure reasons), so a
    value added there shows as itself until it gets its words here.
    """
    catalog = CATALOGS[current_locale()]
    return catalog[key] if key in catalog else fallback


def tn(key: str, count: int, **values: object) -> str:
    """``key.one`` for a count of 1, else ``key.other``; ``{count}`` filled in."""
    return t(f"{key}.{'one' if count == 1 else 'other'}", count=count, **values)


def template_functions() -> dict[str, Callable[..., object]]:
    """``t``, ``t_or`` and ``tn`` for templates, plus the blocks and the page's lang.

    A text goes into the page escaped, apostrophes left as typed (every
    attribute in the panel's templates is double-quoted), so pages read as
    they did before they were translated.
    """

    def as_html(text: str) -> Markup:
        return Markup(str(escape(text)).replace("&#39;", "'"))

    return {
        "t": lambda key, **values: as_html(t(key, **values)),
        "t_or": lambda key, fallback: as_html(t_or(key, fallback)),
        "tn": lambda key, count, **values: as_html(tn(key, count, **values)),
        "script_texts": script_texts,
        "html_lang": html_lang,
    }


def script_texts(*prefixes: str) -> Markup:
    """A JSON block of the texts whose keys start with ``prefixes``, for scripts.

    ``tojson``-style escaping keeps ``<``, ``>`` and ``&`` out of the block, so
    no text can close the element; the page's scripts read it as data, which
    the Content-Security-Policy allows.
    """
    catalog = CATALOGS[current_locale()]
    chosen = {
        key: text
        for key, text in catalog.items()
        if any(key.startswith(prefix) for prefix in prefixes)
    }
    payload = (
        json.dumps(chosen, ensure_ascii=False, sort_keys=True)
        .replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
    )
    return Markup(f'<script type="application/json" data-texts>{payload}</script>')


def html_lang() -> str:
    return "zh-TW" if current_locale() == ZH_TW else "en"


def _filled(text: str, values: dict[str, object]) -> str:
    if not values:
        return text
    return _VALUE.sub(
        lambda found: (
            str(values[found.group(1)]) if found.group(1) in values else found.group(0)
        ),
        text,
    )


def _chosen_locale() -> str:
    viewer = g.get("viewer")
    embedded = (
        viewer.embedded
        if viewer is not None
        else request.args.get("embedded") == "1" or "id_token" in request.args
    )
    if embedded and request.args.get("locale"):
        return locale_of_tag(request.args["locale"])
    member = getattr(viewer, "member", None)
    if member is not None and member.locale:
        return locale_of_tag(member.locale)
    return _accepted_locale(tag for tag, _ in request.accept_languages)


def _accepted_locale(tags: Iterable[str]) -> str:
    """The first language the browser prefers that the panel speaks."""
    for tag in tags:
        if _TRADITIONAL.match(tag):
            return ZH_TW
        if _ENGLISH.match(tag):
            return EN
    return EN
