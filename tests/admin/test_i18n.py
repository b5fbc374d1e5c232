"""The panel in Traditional Chinese and English: who reads which, and every text."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from engine.db import db, utcnow
from engine.shops.models import Shop
from engine.team.models import TeamMember, TeamSession
from plugin.admin.screens import SCREENS
from plugin.admin.texts import CATALOGS, EN, ZH_TW, locale_of_tag
from plugin.sandbox.shopify_platform import FakeShopifyPlatform
from tests.admin import HTTPS, OWNER_EMAIL, PASSWORD, member, sign_in

ADMIN = Path(__file__).resolve().parents[2] / "plugin" / "admin"
TEMPLATES = ADMIN / "templates" / "admin"
SCRIPTS = ADMIN / "static" / "admin"
# Each screen and the heading it opens with, in Traditional Chinese.
SCREEN_HEADINGS = {
    "/admin": None,  # the shop's own name
    "/admin/inbox": "客服收件匣",
    "/admin/flow": "購物車提醒",
    "/admin/messages": "網站訊息",
    "/admin/channels": "訊息管道",
    "/admin/binding": "顧客綁定 LINE 與 Messenger",
    "/admin/game": "紅利小遊戲",
    "/admin/results": "成效報表",
    "/admin/team": "團隊成員",
}
CHINESE_NAVIGATION = [
    "首頁",
    "客服收件匣",
    "購物車提醒",
    "網站訊息",
    "訊息管道",
    "顧客綁定",
    "紅利小遊戲",
    "成效報表",
    "團隊成員",
]
ENGLISH_NAVIGATION = [
    "Home",
    "Inbox",
    "Reminders",
    "On-site messages",
    "Channels",
    "Binding",
    "Bonus game",
    "Results",
    "Team",
]
# t("key"), t('key'), tn("key", …), t_or("key", …) in templates and scripts.
USED_KEY = re.compile(r"""\b(?:t|tn|t_or)\(\s*["']([a-z_][\w.]*)["']""")
COUNTED_KEY = re.compile(r"""\btn\(\s*["']([a-z_][\w.]*)["']""")
SCRIPT_SRC = re.compile(r'<script src="[^"]*/admin/static/admin/(\w+\.js)"')
TEXT_BLOCK = re.compile(
    r'<script type="application/json" data-texts>(.*?)</script>', re.DOTALL
)


@pytest.fixture
def owner(client: FlaskClient, shop: Shop) -> TeamMember:
    """The shop's owner, signed in on ``client``."""
    added = member(shop)
    sign_in(client, shop)
    return added


def _navigation(page: str) -> list[str]:
    nav = re.search(r'<nav class="tabs"[^>]*>(.*?)</nav>', page, re.DOTALL).group(1)
    return [label.strip() for label in re.findall(r">([^<]+)</a>", nav)]


def _heading(page: str) -> str:
    return re.search(r"<h1[^>]*>(.*?)</h1>", page, re.DOTALL).group(1).strip()


def _page_texts(page: str) -> dict[str, str]:
    texts: dict[str, str] = {}
    for block in TEXT_BLOCK.findall(page):
        texts.update(json.loads(block))
    return texts


# --- who reads which ----------------------------------------------------------


@pytest.mark.parametrize(
    ("tag", "locale"),
    [
        ("zh-TW", ZH_TW),
        ("zh-tw", ZH_TW),
        ("zh-HK", ZH_TW),
        ("zh-Hant", ZH_TW),
        ("zh-Hant-TW", ZH_TW),
        ("zh_TW", ZH_TW),
        ("zh-CN", EN),
        ("zh-Hans", EN),
        ("zh", EN),
        ("ja", EN),
        ("en-US", EN),
        ("", EN),
        (None, EN),
    ],
)
def test_locale_of_tag_reads_traditional_chinese_only(
    tag: str | None, locale: str
) -> None:
    assert locale_of_tag(tag) == locale


@pytest.mark.parametrize("path", sorted(SCREEN_HEADINGS))
def test_screen_for_a_zh_tw_browser_is_in_traditional_chinese(
    client: FlaskClient, shop: Shop, owner: TeamMember, path: str
) -> None:
    # when
    response = client.get(
        path, base_url=HTTPS, headers={"Accept-Language": "zh-TW,zh;q=0.9,en;q=0.8"}
    )

    # then
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert '<html lang="zh-TW">' in page
    assert _navigation(page) == CHINESE_NAVIGATION
    assert _heading(page) == (SCREEN_HEADINGS[path] or (shop.name or shop.shop_domain))
    assert ">登出</button>" in page


@pytest.mark.parametrize("path", sorted(SCREEN_HEADINGS))
@pytest.mark.parametrize("accepted", [None, "fr-FR,fr;q=0.9", "zh-CN,zh;q=0.9"])
def test_screen_for_any_other_browser_is_in_english(
    client: FlaskClient, owner: TeamMember, path: str, accepted: str | None
) -> None:
    # given
    headers = {"Accept-Language": accepted} if accepted else {}

    # when
    response = client.get(path, base_url=HTTPS, headers=headers)

    # then
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert '<html lang="en">' in page
    assert _navigation(page) == ENGLISH_NAVIGATION
    assert ">Sign out</button>" in page
    assert ">登出<" not in page


def test_screen_list_is_the_panel_s_screens() -> None:
    # A new screen gets its heading here, so the tests above cover it.
    assert {screen.endpoint for screen in SCREENS} == {
        "admin.home",
        "admin.inbox",
        "admin.flow",
        "admin.messages",
        "admin.channels",
        "admin.binding",
        "admin.game",
        "admin.results",
        "admin.team",
    }
    assert len(SCREEN_HEADINGS) == len(SCREENS)


def test_accept_language_first_spoken_language_wins(
    client: FlaskClient, owner: TeamMember
) -> None:
    # given a Japanese reader who also reads Traditional Chinese, signed in

    # when
    page = client.get(
        "/admin/flow",
        base_url=HTTPS,
        headers={"Accept-Language": "ja-JP,ja;q=0.9,zh-TW;q=0.8,en;q=0.5"},
    ).get_data(as_text=True)

    # then
    assert _heading(page) == "購物車提醒"


def test_team_member_s_own_locale_beats_the_browser(
    client: FlaskClient, owner: TeamMember
) -> None:
    # given a member who chose Traditional Chinese, in an English browser
    db.session.get(TeamMember, owner.id).locale = "zh-TW"
    db.session.commit()

    # when
    page = client.get(
        "/admin/team", base_url=HTTPS, headers={"Accept-Language": "en-US"}
    ).get_data(as_text=True)

    # then
    assert _heading(page) == "團隊成員"
    assert "擁有者" in page


def test_store_admin_locale_in_the_app_url_picks_the_language(
    client: FlaskClient, platform: FakeShopifyPlatform, shop: Shop
) -> None:
    # given the admin user reads the admin in Traditional Chinese, whatever the
    # browser says
    token = platform.session_token(shop.shop_domain)

    # when
    response = client.get(
        f"/admin/flow?shop={shop.shop_domain}&embedded=1&locale=zh-TW&id_token={token}",
        headers={"Accept-Language": "en-US"},
    )

    # then the page is Chinese and its links keep the locale
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert _heading(page) == "購物車提醒"
    assert _navigation(page) == CHINESE_NAVIGATION
    links = re.findall(r'<a href="(/admin[^"]*)" data-panel-link', page)
    assert links and all("locale=zh-TW" in link for link in links)


def test_store_admin_in_another_language_reads_english(
    client: FlaskClient, platform: FakeShopifyPlatform, shop: Shop
) -> None:
    # given
    token = platform.session_token(shop.shop_domain)

    # when
    page = client.get(
        f"/?shop={shop.shop_domain}&embedded=1&locale=fr&id_token={token}",
        headers={"Accept-Language": "zh-TW"},
    ).get_data(as_text=True)

    # then the admin's locale counts, not the browser's
    assert _navigation(page) == ENGLISH_NAVIGATION


def test_sign_in_page_and_its_refusal_in_traditional_chinese(
    client: FlaskClient, shop: Shop
) -> None:
    # given
    member(shop)
    headers = {"Accept-Language": "zh-TW"}
    form = client.get("/admin/login", base_url=HTTPS, headers=headers)
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.get_data(as_text=True))

    # when
    refused = client.post(
        "/admin/login",
        base_url=HTTPS,
        headers=headers,
        data={
            "csrf_token": token.group(1),
            "shop": shop.shop_domain,
            "email": OWNER_EMAIL,
            "password": PASSWORD + "!",
        },
    )

    # then
    assert "登入 Revisit" in form.get_data(as_text=True)
    assert refused.status_code == 401
    assert "商店、電子郵件與密碼不符合任何帳號。" in refused.get_data(as_text=True)


def test_expired_session_page_in_traditional_chinese(
    client: FlaskClient, owner: TeamMember
) -> None:
    # given a session idle for longer than the idle timeout
    session = db.session.scalars(select(TeamSession)).one()
    session.last_seen_at = utcnow() - timedelta(hours=3)
    db.session.commit()

    # when
    response = client.get(
        "/admin/flow", base_url=HTTPS, headers={"Accept-Language": "zh-Hant-TW"}
    )

    # then
    assert response.status_code == 401
    page = response.get_data(as_text=True)
    assert "您的登入已逾時" in page
    assert ">重新登入</a>" in page


# --- the catalog ----------------------------------------------------------------


def test_catalog_has_every_text_in_both_languages() -> None:
    assert CATALOGS[EN].keys() == CATALOGS[ZH_TW].keys()
    empty = [
        (locale, key)
        for locale, catalog in CATALOGS.items()
        for key, text in catalog.items()
        if not text.strip()
    ]
    assert empty == []


@pytest.mark.parametrize(
    "source",
    sorted([*TEMPLATES.glob("*.html"), *SCRIPTS.glob("*.js")], key=str),
    ids=lambda path: path.name,
)
def test_every_key_a_template_or_script_names_is_in_the_catalog(source: Path) -> None:
    text = source.read_text(encoding="utf-8")
    used = [*USED_KEY.findall(text)]
    # tn("game.pages", n) reads game.pages.one and game.pages.other.
    for key in COUNTED_KEY.findall(text):
        used.remove(key)
        used += [f"{key}.one", f"{key}.other"]
    missing = [
        key
        for key in used
        if key not in CATALOGS[EN]
        # "js.flow.unit." + unit: some key must start with it.
        and not (key.endswith(".") and any(k.startswith(key) for k in CATALOGS[EN]))
    ]
    assert missing == []


@pytest.mark.parametrize("path", sorted(SCREEN_HEADINGS))
def test_every_script_text_a_screen_uses_is_on_the_page(
    client: FlaskClient, owner: TeamMember, path: str
) -> None:
    # when
    page = client.get(
        path, base_url=HTTPS, headers={"Accept-Language": "zh-TW"}
    ).get_data(as_text=True)

    # then the page carries, in Chinese, every text its scripts ask for
    shipped = _page_texts(page)
    wanted = {
        key
        for script in SCRIPT_SRC.findall(page)
        for key in USED_KEY.findall((SCRIPTS / script).read_text(encoding="utf-8"))
    }
    missing = [
        key
        for key in wanted
        if not (key in shipped or any(k.startswith(key) for k in shipped))
    ]
    assert missing == []
    assert all(shipped[key] == CATALOGS[ZH_TW][key] for key in shipped)


@pytest.mark.parametrize(
    ("family", "members"),
    [
        ("js.flow.unit.", ("minutes", "hours", "days")),
        ("js.flow.channel.", ("any", "line", "messenger")),
        ("js.flow.part.", ("text", "carousel", "image", "buttons")),
        ("inbox.status.", ("open", "pending", "resolved")),
        ("js.inbox.log.", ("assigned", "handed_over", "no_reply", "other")),
    ],
)
def test_keys_scripts_build_from_values_exist(family: str, members: tuple) -> None:
    assert [f"{family}{name}" in CATALOGS[EN] for name in members] == [True] * len(
        members
    )
