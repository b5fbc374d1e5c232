"""What a shopper's chat message asks for, whichever channel it came on.

A message that is a keyword alone (any case, surrounding spaces ignored) is
an instruction; anything else is conversation. The "no thanks" postback is
the one reminders carry (``engine.reminders.content.NO_THANKS_POSTBACK``).
"""

from __future__ import annotations

from engine.reminders.content import NO_THANKS_POSTBACK

STOP = "stop"
NO_THANKS = "no_thanks"
LINK = "link"
LINK_POSTBACK = "revisit.binding.link"

_WORDS = {
    STOP: {"stop", "unsubscribe", "停止", "取消訂閱", "退訂"},
    NO_THANKS: {"no thanks", "不用了", "不需要"},
    LINK: {"link", "連結帳號", "綁定"},
}
_POSTBACKS = {NO_THANKS_POSTBACK: NO_THANKS, LINK_POSTBACK: LINK}


def instruction_in(text: str | None) -> str | None:
    """``STOP``, ``NO_THANKS`` or ``LINK`` for a keyword message, else None."""
    said = " ".join((text or "").split()).casefold()
    for instruction, words in _WORDS.items():
        if said in words:
            return instruction
    return None


def instruction_of_postback(data: str | None) -> str | None:
    return _POSTBACKS.get(data or "")
