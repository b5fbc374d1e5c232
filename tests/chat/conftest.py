"""Chat fixtures: a shop with a team of two, a visitor and their conversation."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from engine.chat.models import Conversation
from engine.db import db
from engine.shops.models import Shop
from engine.team.models import OWNER, TeamMember
from engine.visitors.models import Visitor
from plugin.sandbox.shopify_platform import FakeShopifyPlatform
from tests.chat import a_conversation, a_member, a_visitor, agent_says, shopper_says
from tests.conftest import OTHER_SHOP_DOMAIN, install_shop


@pytest.fixture
def agent(shop: Shop) -> TeamMember:
    """Mei, an agent of the shop."""
    return a_member(shop, "Mei")


@pytest.fixture
def colleague(shop: Shop) -> TeamMember:
    """Jun, the shop's owner, who answers chats too."""
    return a_member(shop, "Jun", OWNER)


@pytest.fixture
def visitor(shop: Shop) -> Visitor:
    return a_visitor(shop, "Lin")


@pytest.fixture
def conversation(shop: Shop, visitor: Visitor, agent: TeamMember) -> Conversation:
    """Lin asked, Mei answered, Lin asked again (waiting since then): seq 1-3."""
    conversation = a_conversation(shop, visitor, "Is the rope tug in stock?")
    agent_says(conversation, agent, "Yes, three left.")
    shopper_says(conversation, "Do you have it in red?")
    db.session.commit()
    return conversation


@pytest.fixture
def other_shop(shop: Shop, client: FlaskClient, platform: FakeShopifyPlatform) -> Shop:
    """A second shop installed on the same platform."""
    return install_shop(client, platform, OTHER_SHOP_DOMAIN)


@pytest.fixture
def stranger(other_shop: Shop) -> TeamMember:
    """A member of the other shop's team."""
    return a_member(other_shop, "Kai")
