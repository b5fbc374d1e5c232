"""Errors of team members and their sessions.

``TeamError`` is the root. ``InvalidMemberError`` refuses a member's details
and names the field; ``SignInRefused`` never says which of shop, e-mail or
password was wrong, so it tells an attacker nothing.
"""

from __future__ import annotations


class TeamError(Exception):
    """Something about a shop's team cannot be done as asked."""


class InvalidMemberError(TeamError):
    """A team member's detail that cannot be used; ``field`` names it."""

    code = "invalid_team_member"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


class MemberNotFound(TeamError):
    """No team member with that id in that shop."""

    def __init__(self, shop_id: int, member_id: int) -> None:
        super().__init__(f"Shop {shop_id!r} has no team member {member_id!r}.")
        self.shop_id = shop_id
        self.member_id = member_id


class SignInRefused(TeamError):
    """The shop, e-mail and password do not match an active member."""

    def __init__(self) -> None:
        super().__init__("That shop, e-mail and password do not match an account.")


class TooManyAttempts(TeamError):
    """Sign-ins for this shop and e-mail are paused after repeated failures."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            "Too many failed sign-ins for this account; try again in"
            f" {max(1, retry_after // 60)} minute(s)."
        )
        self.retry_after = retry_after
