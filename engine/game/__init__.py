"""The page-visit bonus game: rewards collected on pages, a wallet, payouts.

The merchant's campaigns are made and changed through ``campaigns``
(checked, raising ``errors.InvalidCampaignError``). A page view on a target
page is offered a collectible with a signed, single-use token stamped with
the server's time (``collectibles``, ``tokens``; reads only, from the page
endpoint); ``collecting.collect`` credits it under every rule, atomically.
Money lives in ``wallets`` as an append-only ledger of lots;
``redeeming`` turns a balance into store credit or a discount code through
the Admin API (a job); ``attribution`` credits orders that used one;
``results`` reports per campaign; ``sweep`` (from ``engine.periodic``)
expires credit and gives back unused codes. Never imports Flask request
objects or ``plugin``.
"""

from engine.game.attribution import note_order
from engine.game.campaigns import (
    create_campaign,
    get_campaign,
    list_campaigns,
    pause_campaign,
    resume_campaign,
    update_campaign,
)
from engine.game.results import CampaignResults, campaign_results, ledger_csv
from engine.game.wallets import merge_visitor_wallets

__all__ = [
    "CampaignResults",
    "campaign_results",
    "create_campaign",
    "get_campaign",
    "ledger_csv",
    "list_campaigns",
    "merge_visitor_wallets",
    "note_order",
    "pause_campaign",
    "resume_campaign",
    "update_campaign",
]
