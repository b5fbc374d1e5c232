"""What a reminder batch reads before it decides: one query per kind of row.

``engine.reminders.dispatch`` loads a whole batch at once with these, so
deciding 200 sends costs a dozen queries rather than a dozen per send.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from engine.binding.models import ChannelBinding
from engine.catalog.variants import VariantDetails, variant_details
from engine.channels.models import ChannelAccount
from engine.commerce.models import Cart
from engine.db import db
from engine.reminders.models import SENDING, SENT, ReminderFlow, ReminderSend
from engine.shopify.errors import AccessRevokedError, AdminApiError
from engine.shops.models import Shop

logger = logging.getLogger(__name__)


def catalog(
    shops: dict[int, Shop], carts: Iterable[Cart]
) -> dict[int, dict[str, VariantDetails | None] | None]:
    """Variant details per shop; None for a shop the platform would not answer."""
    wanted: dict[int, set[str]] = defaultdict(set)
    for cart in carts:
        wanted[cart.shop_id] |= {
            line.variant_id for line in cart.line_items if line.variant_id
        }
    found: dict[int, dict[str, VariantDetails | None] | None] = {}
    for shop_id, ids in wanted.items():
        try:
            found[shop_id] = variant_details(shops[shop_id], ids)
        except (AdminApiError, AccessRevokedError) as error:
            logger.warning(
                "reminders.catalog_unavailable",
                extra={"shop_id": shop_id, "error": type(error).__name__},
            )
            found[shop_id] = None
    return found


def people(
    visitor_ids: set[int], bindings: dict[int, list[ChannelBinding]]
) -> dict[int, int]:
    """The person of each visitor, and of each other device bound to the same
    account: the smallest visitor id among them."""
    accounts = {
        (binding.shop_id, binding.channel, binding.external_id)
        for found in bindings.values()
        for binding in found
    }
    if not accounts:
        return {visitor_id: visitor_id for visitor_id in visitor_ids}

    # By account id alone (indexed), the rest sorted out here: one short
    # query, where an OR of every account would take longer to compile.
    sharing: dict[tuple[int, str, str], set[int]] = defaultdict(set)
    rows = db.session.execute(
        select(
            ChannelBinding.shop_id,
            ChannelBinding.channel,
            ChannelBinding.external_id,
            ChannelBinding.visitor_id,
        ).where(
            ChannelBinding.shop_id.in_({account[0] for account in accounts}),
            ChannelBinding.external_id.in_({account[2] for account in accounts}),
        )
    )
    for shop_id, channel, external_id, visitor_id in rows:
        if (shop_id, channel, external_id) in accounts:
            sharing[(shop_id, channel, external_id)].add(visitor_id)

    person: dict[int, int] = {}
    for visitor_id in visitor_ids:
        group = {visitor_id}
        for binding in bindings.get(visitor_id, []):
            group |= sharing[(binding.shop_id, binding.channel, binding.external_id)]
        for member in group:
            person[member] = min(group | {person.get(member, member)})
    return person


def by_id(model: type, ids: set, *options: object) -> dict:
    """Rows of ``model`` by id, with the loader ``options`` given."""
    if not ids:
        return {}
    rows = db.session.scalars(select(model).where(model.id.in_(ids)).options(*options))
    return {row.id: row for row in rows}


def flows(shop_ids: set[int]) -> dict[int, ReminderFlow]:
    """Each shop's reminder flow, with its steps."""
    rows = db.session.scalars(
        select(ReminderFlow)
        .where(ReminderFlow.shop_id.in_(shop_ids))
        .options(selectinload(ReminderFlow.steps))
    )
    return {flow.shop_id: flow for flow in rows}


def bindings(visitor_ids: set[int]) -> dict[int, list[ChannelBinding]]:
    """Each visitor's LINE and Messenger bindings."""
    found: dict[int, list[ChannelBinding]] = defaultdict(list)
    if visitor_ids:
        for binding in db.session.scalars(
            select(ChannelBinding).where(ChannelBinding.visitor_id.in_(visitor_ids))
        ):
            found[binding.visitor_id].append(binding)
    return found


def channel_accounts(shop_ids: set[int]) -> dict[tuple[int, str], ChannelAccount]:
    """Each shop's channel accounts, by (shop id, channel)."""
    rows = db.session.scalars(
        select(ChannelAccount).where(ChannelAccount.shop_id.in_(shop_ids))
    )
    return {(account.shop_id, account.channel): account for account in rows}


def recent_sends(
    person: dict[int, int], claimed: set[int], now: datetime
) -> dict[int, list[datetime]]:
    """When reminders went to each person, as far back as any cap looks.

    Counts sends other workers have decided and are sending (their recipient
    is set), not this batch's own claims.
    """
    found: dict[int, list[datetime]] = defaultdict(list)
    if not person:
        return found
    on_its_way = (ReminderSend.status == SENDING) & ReminderSend.recipient_id.is_not(
        None
    )
    rows = db.session.execute(
        select(
            ReminderSend.visitor_id,
            func.coalesce(ReminderSend.sent_at, ReminderSend.claimed_at),
        ).where(
            ReminderSend.visitor_id.in_(person),
            ReminderSend.id.not_in(claimed),
            or_(
                (ReminderSend.status == SENT)
                & (ReminderSend.sent_at > now - timedelta(days=7)),
                on_its_way,
            ),
        )
    )
    for visitor_id, at in rows:
        found[person[visitor_id]].append(at or now)
    return found
