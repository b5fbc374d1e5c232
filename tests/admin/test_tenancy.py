"""The panel shows and changes only its viewer's shop, whatever ids it is sent."""

from __future__ import annotations

from flask.testing import FlaskClient

from engine.binding import funnel
from engine.binding.popup import popup_of, update_popup
from engine.db import db
from engine.onsite.rules import create_message, get_message
from engine.reminders.defaults import flow_for
from engine.shops.models import Shop
from plugin.sandbox.shopify_platform import FakeShopifyPlatform
from tests.admin import HTTPS, bearer, member, sign_in
from tests.conftest import OTHER_SHOP_DOMAIN, install_shop

TEXTS = {"en": {"title": "Other shop's secret sale"}}


def _other_shop(client: FlaskClient, platform: FakeShopifyPlatform) -> Shop:
    other = install_shop(client, platform, OTHER_SHOP_DOMAIN)
    flow_for(other).abandonment_minutes = 99
    db.session.commit()
    return other


def test_admin_api_reads_only_the_token_shop(
    client: FlaskClient, platform: FakeShopifyPlatform, shop: Shop
) -> None:
    # given the other shop has a message, a member and its own flow
    other = _other_shop(client, platform)
    message = create_message(other, name="Secret", kind="text", texts=TEXTS)
    member(other, "other@example.com")
    headers = bearer(platform, shop)

    # when
    pages = {
        path: client.get(f"/api/admin/v1{path}", headers=headers)
        for path in ("/flow", "/messages", "/team", "/channels", "/results", "/carts")
    }
    one = client.get(f"/api/admin/v1/messages/{message.id}", headers=headers)

    # then
    assert all(response.status_code == 200 for response in pages.values())
    assert pages["/flow"].json["abandonment_minutes"] == 30
    assert pages["/messages"].json == {"messages": []}
    assert pages["/team"].json == {"members": []}
    assert one.status_code == 404
    for response in pages.values():
        assert "Secret" not in response.get_data(as_text=True)


def test_admin_api_cannot_change_another_shops_rows(
    client: FlaskClient, platform: FakeShopifyPlatform, shop: Shop
) -> None:
    # given
    other = _other_shop(client, platform)
    message = create_message(other, name="Secret", kind="text", texts=TEXTS)
    someone = member(other, "other@example.com")
    headers = bearer(platform, shop)

    # when
    edited = client.put(
        f"/api/admin/v1/messages/{message.id}", headers=headers, json={"name": "x"}
    )
    deleted = client.delete(f"/api/admin/v1/messages/{message.id}", headers=headers)
    removed = client.delete(f"/api/admin/v1/team/{someone.id}", headers=headers)

    # then
    assert (edited.status_code, deleted.status_code, removed.status_code) == (
        404,
        404,
        404,
    )
    db.session.expire_all()
    assert get_message(other, message.id).name == "Secret"
    assert someone.active is True


def test_panel_pages_of_a_member_show_only_their_shop(
    client: FlaskClient, platform: FakeShopifyPlatform, shop: Shop
) -> None:
    # given
    other = _other_shop(client, platform)
    create_message(other, name="Secret", kind="text", texts=TEXTS)
    member(shop)
    sign_in(client, shop)

    # when
    pages = [
        client.get(f"/admin{path}", base_url=HTTPS).get_data(as_text=True)
        for path in (
            "",
            "/flow",
            "/messages",
            "/channels",
            "/results",
            "/team",
            "/binding",
        )
    ]

    # then
    for page in pages:
        assert OTHER_SHOP_DOMAIN not in page
        assert other.widget_key not in page
        assert "Secret" not in page


def test_binding_api_reads_and_changes_only_the_token_shop(
    client: FlaskClient, platform: FakeShopifyPlatform, shop: Shop
) -> None:
    # given the other shop has its own pop-up and funnel
    other = _other_shop(client, platform)
    update_popup(other, texts={"en": {"title": "Secret", "success": "Secret done"}})
    funnel.count(other.id, "line", funnel.SHOWN)
    db.session.commit()
    headers = bearer(platform, shop)

    # when
    popup = client.get("/api/admin/v1/binding/popup", headers=headers)
    counts = client.get("/api/admin/v1/binding/funnel", headers=headers)
    changed = client.put(
        "/api/admin/v1/binding/popup", headers=headers, json={"max_per_day": 1}
    )

    # then
    assert popup.json["saved"] is False
    assert "Secret" not in popup.get_data(as_text=True)
    assert [row["shown"] for row in counts.json["channels"]] == [0, 0]
    assert changed.status_code == 200
    db.session.expire_all()
    assert (popup_of(other).max_per_day, popup_of(shop).max_per_day) == (2, 1)
    assert popup_of(other).texts["en"]["title"] == "Secret"
