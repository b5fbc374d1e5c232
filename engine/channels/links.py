"""URLs inside messages: percent-encoding, and the image rules both platforms share.

LINE takes image URLs only over HTTPS, as JPEG or PNG, percent-encoded UTF-8
and at most 2,000 characters
(https://developers.line.biz/en/reference/messaging-api/#image-message).
Messenger is less strict, but a reminder step may go to either channel, so
one rule serves both.
"""

from __future__ import annotations

from urllib.parse import quote, urlsplit

IMAGE_URL_MAX = 2000
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")

# Reserved characters and "%" stay as they are, so an already encoded URL is
# not encoded twice; spaces and non-ASCII characters become %XX (UTF-8).
_URL_SAFE = ":/?#[]@!$&'()*+,;=%~"


def encode_url(url: str) -> str:
    """``url`` with spaces and non-ASCII characters percent-encoded as UTF-8."""
    return quote(url.strip(), safe=_URL_SAFE)


def image_url_problem(url: str) -> str | None:
    """Why an (encoded) image URL would be refused, or ``None`` if it is fine.

    The format is judged by the path's extension, the only sign a URL gives;
    a CDN URL without one (or ``.webp``) is refused rather than risked.
    """
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.netloc:
        return f"The image URL {url!r} is not an https:// address."
    if len(url) > IMAGE_URL_MAX:
        return (
            f"The image URL {url[:60]!r}… is {len(url)} characters long;"
            f" the limit is {IMAGE_URL_MAX}."
        )
    if not parts.path.lower().endswith(IMAGE_SUFFIXES):
        return f"The image URL {url!r} does not end in .jpg, .jpeg or .png."
    return None


def web_url_problem(url: str, limit: int) -> str | None:
    """Why a link a button opens would be refused, or ``None`` if it is fine."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.netloc:
        return f"The link {url!r} is not an http(s):// address."
    if len(url) > limit:
        return (
            f"The link {url[:60]!r}… is {len(url)} characters long;"
            f" the limit is {limit}."
        )
    return None
