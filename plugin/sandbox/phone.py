"""A phone-like page of chat messages, shared by the fake platforms and the app.

It draws LINE message objects (text, images, Flex bubbles and carousels,
quick replies) and Messenger ``message`` objects (text, images, generic and
button templates, quick replies) the way a chat app shows them, one phone
per recipient. The fakes' ``/outbox`` and the app's sandbox outbox page both
render ``templates/sandbox/phone.html`` through ``render_phone_page``.

What the shopper sent is drawn on the right (``PhoneItem.from_shopper``). A
thread given a ``say_url`` gets a "Write as this shopper" box posting
``text`` there, and one given a ``tap_url`` turns its quick replies and
postback buttons into buttons posting ``kind``, ``data`` and ``label``
there (see ``FakeChatPlatform``); links stay links. Everything drawn is
escaped: the messages are whatever a client sent.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"

_environment = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


@dataclass(frozen=True)
class PhoneItem:
    """One send: the platform message objects it carried, in order."""

    platform: str
    recipient: str
    account: str
    messages: list[dict[str, Any]]
    at: datetime
    note: str | None = None
    from_shopper: bool = False


@dataclass
class PhoneThread:
    """Everything one recipient received (and sent), oldest first.

    ``url`` links the phone's header to the thread's own page; ``say_url``
    and ``tap_url`` make the phone writable (see the module docstring).
    """

    platform: str
    recipient: str
    account: str
    items: list[PhoneItem] = field(default_factory=list)
    url: str | None = None
    say_url: str | None = None
    tap_url: str | None = None


def threads_by_recipient(items: Iterable[PhoneItem]) -> list[PhoneThread]:
    """Group sends by platform and recipient, in the order they first appear."""
    threads: dict[tuple[str, str], PhoneThread] = {}
    for item in items:
        key = (item.platform, item.recipient)
        if key not in threads:
            threads[key] = PhoneThread(item.platform, item.recipient, item.account)
        threads[key].items.append(item)
    return list(threads.values())


def render_phone_page(
    title: str,
    lead: str,
    threads: Sequence[PhoneThread],
    *,
    back_url: str | None = None,
) -> str:
    """The whole HTML page: a heading, a line of context and one phone per
    thread, with a link to ``back_url`` when given."""
    template = _environment.get_template("sandbox/phone.html")
    return template.render(title=title, lead=lead, threads=threads, back_url=back_url)
