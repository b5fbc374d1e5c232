"""``GET /r/<token>``: counted clicks, tagged redirects, friendly dead ends."""

from __future__ import annotations

import time
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from itsdangerous import TimestampSigner

from engine.reminders.links import tracked_link
from engine.reminders.models import ReminderSend
from engine.reminders.sweep import enqueue_due_reminders
from plugin.sandbox.shopify_platform import FakeShopifyPlatform
from tests.conftest import OTHER_SHOP_DOMAIN, SHOP_DOMAIN, install_shop, run_jobs
from tests.reminders import (
    OOLONG_100G,
    leave_cart,
    make_shopper,
    move_clock_to,
    sends_of,
    taipei,
)


@pytest.fixture
def sent(app: Flask, reminder_shop, line) -> ReminderSend:
    """Mei's first reminder, sent on LINE; its button carries the tracked link."""
    left_at = move_clock_to(taipei(3, 10))
    mei = make_shopper(reminder_shop)
    leave_cart(reminder_shop, mei, "cart-mei", [(OOLONG_100G, 2)], left_at)
    move_clock_to(left_at + timedelta(minutes=90))
    enqueue_due_reminders(grace=timedelta())
    run_jobs(app)
    return sends_of(reminder_shop)[0]


def _button_link(line) -> str:  # noqa: ANN001
    bubble = line.outbox[0].messages[1]["contents"]["contents"][0]
    return bubble["footer"]["contents"][0]["action"]["uri"]


def _path(link: str) -> str:
    return urlsplit(link).path


def test_link_counts_the_click_and_redirects_with_campaign_tags(
    client: FlaskClient, sent: ReminderSend, reminder_shop, line
) -> None:
    # when Mei taps the card's button
    response = client.get(_path(_button_link(line)), headers={"User-Agent": "Line/14"})

    # then she lands on her cart, tagged, and the click is counted
    assert response.status_code == 302
    target = urlsplit(response.headers["Location"])
    assert (target.netloc, target.path) == (SHOP_DOMAIN, f"/cart/{OOLONG_100G}:2")
    assert parse_qs(target.query) == {
        "utm_source": ["revisit"],
        "utm_medium": ["line"],
        "utm_campaign": ["cart_reminder"],
        "utm_content": ["step_1"],
    }
    send = sends_of(reminder_shop)[0]
    assert send.clicks == 1
    assert send.first_clicked_at == send.last_clicked_at


def test_link_preview_fetch_is_not_counted(
    client: FlaskClient, sent: ReminderSend, reminder_shop, line
) -> None:
    response = client.get(
        _path(_button_link(line)),
        headers={"User-Agent": "facebookexternalhit/1.1"},
    )

    assert response.status_code == 302
    assert sends_of(reminder_shop)[0].clicks == 0


def test_expired_link_shows_a_page_that_leads_to_the_store(
    client: FlaskClient,
    sent: ReminderSend,
    reminder_shop,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given a link signed 31 days ago
    monkeypatch.setattr(
        TimestampSigner, "get_timestamp", lambda self: int(time.time()) - 31 * 86400
    )
    link = tracked_link(sent)
    monkeypatch.undo()

    # when
    response = client.get(_path(link))

    # then
    page = response.get_data(as_text=True)
    assert response.status_code == 410
    assert "This reminder has expired" in page
    assert f'href="https://{SHOP_DOMAIN}/"' in page
    assert sends_of(reminder_shop)[0].clicks == 0


def test_tampered_link_is_refused_but_still_offers_the_store(
    client: FlaskClient, sent: ReminderSend, reminder_shop, line
) -> None:
    link = _button_link(line)

    response = client.get(_path(link)[:-2] + "xx")

    assert response.status_code == 404
    assert f'href="https://{SHOP_DOMAIN}/"' in response.get_data(as_text=True)
    assert sends_of(reminder_shop)[0].clicks == 0


def test_link_naming_another_shop_never_counts_on_this_shops_send(
    client: FlaskClient,
    sent: ReminderSend,
    reminder_shop,
    platform: FakeShopifyPlatform,
) -> None:
    # given a genuine token of the other shop naming this shop's send id
    other = install_shop(client, platform, OTHER_SHOP_DOMAIN)
    link = tracked_link(ReminderSend(id=sent.id, shop_id=other.id))

    # when
    response = client.get(_path(link))

    # then nothing is counted, and the page offers the other shop's store only
    page = response.get_data(as_text=True)
    assert response.status_code == 404
    assert f"https://{OTHER_SHOP_DOMAIN}/" in page
    assert SHOP_DOMAIN not in page
    assert sends_of(reminder_shop)[0].clicks == 0
