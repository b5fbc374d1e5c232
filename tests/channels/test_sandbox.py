"""The sandbox channel, channel accounts and ``registry.channel_for``."""

from __future__ import annotations

import uuid

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select, text

from engine.channels.accounts import connect_line, connect_messenger
from engine.channels.errors import ChannelNotConfiguredError, InvalidMessageError
from engine.channels.line.client import LineChannel
from engine.channels.line.render import render as render_line
from engine.channels.messages import Text
from engine.channels.messenger.client import MessengerChannel
from engine.channels.messenger.render import render as render_messenger
from engine.channels.models import ChannelAccount, SandboxMessage
from engine.channels.registry import channel_for
from engine.channels.sandbox import SandboxChannel, outbox
from engine.db import db
from engine.runtime import current
from engine.shops.models import Shop
from plugin.sandbox.line_platform import FakeLinePlatform
from plugin.sandbox.messenger_platform import FakeMessengerPlatform
from plugin.sandbox.shopify_platform import FakeShopifyPlatform
from tests.channels.conftest import (
    LINE_CHANNEL_ID,
    LINE_SECRET,
    LINE_TOKEN,
    LINE_USER,
    PAGE_ID,
    PAGE_TOKEN,
    PSID,
)
from tests.channels.parts import carousel
from tests.conftest import OTHER_SHOP_DOMAIN, install_shop

PARTS = (Text("Your cart misses you 🍵"), carousel(2))


def sandbox_rows(shop_id: int | None = None) -> int:
    query = select(func.count()).select_from(SandboxMessage)
    if shop_id is not None:
        query = query.where(SandboxMessage.shop_id == shop_id)
    return db.session.scalar(query)


# --- the sandbox channel -----------------------------------------------------------


def test_sandbox_records_message_rendered_for_line(shop: Shop) -> None:
    # when
    result = SandboxChannel(shop.id).send(
        "merchant", PARTS, retry_key=str(uuid.uuid4())
    )
    db.session.commit()

    # then
    (message,) = outbox(shop.id)
    assert result.platform_message_ids == (f"sandbox-{message.id}",)
    assert result.duplicate is False
    assert (message.recipient_id, message.rendered_for) == ("merchant", "line")
    assert message.payload == render_line(PARTS)


def test_sandbox_can_render_for_messenger(shop: Shop) -> None:
    # when
    SandboxChannel(shop.id, "messenger").send("merchant", PARTS, retry_key="k-1")

    # then
    (message,) = outbox(shop.id)
    assert message.payload == render_messenger(PARTS)


def test_sandbox_same_retry_key_records_once(shop: Shop) -> None:
    # given
    channel = SandboxChannel(shop.id)
    first = channel.send("merchant", PARTS, retry_key="k-1")

    # when
    again = channel.send("merchant", PARTS, retry_key="k-1")

    # then
    assert again.duplicate is True
    assert again.platform_message_ids == first.platform_message_ids
    assert sandbox_rows() == 1


def test_sandbox_refuses_what_line_would_refuse_and_records_nothing(shop: Shop) -> None:
    with pytest.raises(InvalidMessageError):
        SandboxChannel(shop.id).send("merchant", (Text("a" * 5001),), retry_key="k")
    assert sandbox_rows() == 0


def test_outbox_lists_only_the_shop_messages(
    shop: Shop, client: FlaskClient, platform: FakeShopifyPlatform
) -> None:
    # given both shops sent a test
    other = install_shop(client, platform, OTHER_SHOP_DOMAIN)
    SandboxChannel(shop.id).send("merchant", (Text("mine"),), retry_key="k-1")
    SandboxChannel(other.id).send("merchant", (Text("theirs"),), retry_key="k-1")

    # when
    messages = outbox(shop.id)

    # then
    assert [m.payload[0]["text"] for m in messages] == ["mine"]
    assert sandbox_rows(other.id) == 1


# --- accounts ----------------------------------------------------------------------


def test_connect_line_keeps_one_row_and_encrypts_secrets(shop: Shop) -> None:
    # given
    connect_line(shop, "old-id", "old-secret", "old-token")

    # when the merchant reconnects another channel
    connect_line(shop, LINE_CHANNEL_ID, LINE_SECRET, LINE_TOKEN)
    db.session.commit()

    # then
    account = db.session.scalars(select(ChannelAccount)).one()
    assert (account.line_channel_id, account.line_channel_access_token) == (
        LINE_CHANNEL_ID,
        LINE_TOKEN,
    )
    stored = db.session.execute(
        text(
            "SELECT line_channel_secret, line_channel_access_token"
            " FROM channel_accounts"
        )
    ).one()
    assert LINE_SECRET not in stored[0]
    assert LINE_TOKEN not in stored[1]


def test_quota_paused_until_the_stored_moment(shop: Shop) -> None:
    # given
    account = connect_line(shop, LINE_CHANNEL_ID, LINE_SECRET, LINE_TOKEN)
    account.quota_exhausted_until = account.created_at.replace(year=2999)

    # then
    assert account.quota_paused() is True
    assert account.quota_paused(account.quota_exhausted_until) is False


# --- channel_for ---------------------------------------------------------------------


@pytest.fixture
def fakes_configured(
    app: Flask,
    line: FakeLinePlatform,
    messenger: FakeMessengerPlatform,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Point the app's channel base URLs at the fakes for one test."""
    runtime = current()
    settings = runtime.settings.with_overrides(
        line_api_base_url=line.base_url,
        line_data_base_url=line.base_url,
        messenger_graph_base_url=messenger.base_url,
    )
    monkeypatch.setattr(runtime, "settings", settings)


def test_channel_for_line_sends_through_shop_account(
    shop: Shop, line: FakeLinePlatform, fakes_configured: None
) -> None:
    # given
    connect_line(shop, LINE_CHANNEL_ID, LINE_SECRET, LINE_TOKEN)

    # when
    channel = channel_for(shop, "line")
    channel.send(LINE_USER, PARTS, retry_key=str(uuid.uuid4()))

    # then
    assert isinstance(channel, LineChannel)
    assert channel.channel_key == f"line:{LINE_CHANNEL_ID}"
    assert len(line.delivered_to(LINE_USER)) == 1


def test_channel_for_line_reads_content_from_the_data_host(
    shop: Shop, line: FakeLinePlatform, fakes_configured: None
) -> None:
    # given a photo a user sent
    connect_line(shop, LINE_CHANNEL_ID, LINE_SECRET, LINE_TOKEN)
    message_id = line.store_content(LINE_CHANNEL_ID, b"\xff\xd8\xff", "image/jpeg")

    # when
    channel = channel_for(shop, "line")
    assert isinstance(channel, LineChannel)
    content = channel.fetch_content(message_id)

    # then
    assert content == (b"\xff\xd8\xff", "image/jpeg")


def test_channel_for_messenger_sends_through_shop_page(
    shop: Shop, messenger: FakeMessengerPlatform, fakes_configured: None
) -> None:
    # given
    connect_messenger(shop, PAGE_ID, PAGE_TOKEN)

    # when
    channel = channel_for(shop, "messenger")
    channel.send(PSID, PARTS, retry_key=str(uuid.uuid4()))

    # then
    assert isinstance(channel, MessengerChannel)
    assert len(messenger.delivered_to(PSID)) == 2


def test_channel_for_sandbox_needs_no_account(shop: Shop) -> None:
    assert isinstance(channel_for(shop, "sandbox"), SandboxChannel)


def test_channel_for_shop_without_account_is_not_configured(
    shop: Shop, client: FlaskClient, platform: FakeShopifyPlatform
) -> None:
    # given only the other shop connected LINE
    other = install_shop(client, platform, OTHER_SHOP_DOMAIN)
    connect_line(other, LINE_CHANNEL_ID, LINE_SECRET, LINE_TOKEN)

    # when / then
    with pytest.raises(ChannelNotConfiguredError) as refused:
        channel_for(shop, "line")
    assert refused.value.code == "not_configured"


def test_channel_for_disabled_account_is_not_configured(shop: Shop) -> None:
    # given
    connect_messenger(shop, PAGE_ID, PAGE_TOKEN).enabled = False

    # when / then
    with pytest.raises(ChannelNotConfiguredError):
        channel_for(shop, "messenger")


def test_channel_for_unknown_channel_is_an_error(shop: Shop) -> None:
    with pytest.raises(ValueError):
        channel_for(shop, "sms")
