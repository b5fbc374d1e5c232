"""Errors of the bonus game.

``GameError`` is the root. ``InvalidCampaignError`` names the campaign field
at fault (``.field``) for the admin's form. ``CollectRefused`` and
``RedeemRefused`` say why a shopper's tap did nothing; their ``code`` is a
stable machine-readable reason the widget shows a sentence for.
"""

from __future__ import annotations


class GameError(Exception):
    """Something about the bonus game was refused."""


class InvalidCampaignError(GameError):
    """A campaign field with a value the game cannot use."""

    def __init__(self, field: str, problem: str) -> None:
        self.field = field
        self.problem = problem
        super().__init__(f"Campaign field {field!r} {problem}")


class CampaignNotFound(GameError):
    """No campaign with that id in that shop."""

    def __init__(self, shop_id: int, campaign_id: int) -> None:
        self.shop_id = shop_id
        self.campaign_id = campaign_id
        super().__init__(f"Shop {shop_id!r} has no bonus campaign {campaign_id!r}.")


class InvalidCollectToken(GameError):
    """A collect token that this server did not issue for this shop and visitor."""

    def __init__(self, shop_id: int) -> None:
        self.shop_id = shop_id
        super().__init__(
            f"The collect token does not verify for shop {shop_id!r} and this"
            " visitor; view the page again for a new one."
        )


class CollectRefused(GameError):
    """A collect the rules do not allow; nothing was credited.

    Codes: ``campaign_not_found``, ``campaign_not_live``, ``target_removed``,
    ``too_soon`` (``retry_after`` seconds), ``token_expired``, ``token_used``,
    ``already_collected``, ``cap_reached``, ``budget_spent``.
    """

    def __init__(self, code: str, detail: str, retry_after: int | None = None) -> None:
        self.code = code
        self.detail = detail
        self.retry_after = retry_after
        super().__init__(detail)


class RedeemRefused(GameError):
    """A redemption that cannot start; the balance is untouched.

    Codes: ``nothing_to_redeem``, ``shop_unavailable``.
    """

    def __init__(self, code: str, detail: str) -> None:
        self.code = code
        self.detail = detail
        super().__init__(detail)
