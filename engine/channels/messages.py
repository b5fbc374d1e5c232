"""Channel-neutral message parts; each channel's renderer turns them into payloads.

A reminder step's message is a tuple of parts (``Carousel``, ``Text``,
``Image``, ``Buttons``). Parts say what to show, not how: the renderers cut
titles to fit, fill in missing images, and refuse what cannot fit.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Card:
    """One product in a carousel.

    ``subtitle`` holds the variant and/or a short description (empty or
    ``None`` when there is none); ``price_text`` is already formatted
    (``prices.format_price``); ``image_url`` is ``None`` when the product has
    no usable image, and the renderer draws a placeholder instead.
    """

    title: str
    subtitle: str | None
    price_text: str
    image_url: str | None
    button_label: str
    button_url: str


@dataclass(frozen=True)
class SeeAll:
    """The closing "see all N items" card of a cart larger than the carousel."""

    label: str
    url: str
    total_count: int


@dataclass(frozen=True)
class Carousel:
    """Products side by side; ``alt_text`` shows in notifications (LINE).

    The renderer keeps at most the channel's maximum number of cards; when
    ``see_all`` says the cart holds more than are shown, the last slot becomes
    its card. Without ``see_all`` the extra cards are simply left out.
    """

    cards: tuple[Card, ...]
    alt_text: str
    see_all: SeeAll | None = None


# The longest text part each platform takes, counted in UTF-16 code units
# (engine.channels.text): LINE's text message 5,000, Messenger's Send API
# text 2,000. The renderers enforce them; the flow editor checks them early.
TEXT_LIMITS = {"line": 5000, "messenger": 2000}


@dataclass(frozen=True)
class Text:
    text: str


@dataclass(frozen=True)
class Image:
    """A picture on its own: an https JPEG or PNG (checked by the renderers)."""

    url: str
    preview_url: str | None = None


@dataclass(frozen=True)
class Option:
    """A choice under a ``Buttons`` part: exactly one of a postback or a link.

    ``postback`` is the data our webhook receives when it is tapped (kept
    short: LINE allows 300 characters); ``url`` opens a page.
    """

    label: str
    postback: str | None = None
    url: str | None = None

    def __post_init__(self) -> None:
        if (self.postback is None) == (self.url is None):
            raise ValueError(
                f"The option {self.label!r} needs exactly one of postback or url."
            )


@dataclass(frozen=True)
class Buttons:
    """A question with choices: quick replies or postback buttons on the platform."""

    text: str
    options: tuple[Option, ...]


Part = Carousel | Text | Image | Buttons


def describe(index: int, part: Part) -> str:
    """How errors name a part: "part 2 (Carousel)", counting from 1."""
    return f"part {index + 1} ({type(part).__name__})"
