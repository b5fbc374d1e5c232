"""The Binding screen: the pop-up that binds shoppers to LINE and Messenger.

Each key maps to its English and its Traditional Chinese (Taiwan) text.
"""

from __future__ import annotations

TEXTS: dict[str, tuple[str, str]] = {
    "binding.heading": (
        "Binding shoppers to LINE and Messenger",
        "顧客綁定 LINE 與 Messenger",
    ),
    "binding.unsaved": (
        "The pop-up does not show yet: check these settings and save them to switch"
        " it on.",
        "彈出視窗尚未上線：請確認以下設定並儲存，即可啟用。",
    ),
    "binding.not_ready": (
        "{channel} cannot bind shoppers yet, so the pop-up leaves it out: set it up"
        " under",
        "{channel} 目前還無法綁定顧客，因此彈出視窗不會提供此選項。請先到",
    ),
    "binding.not_ready_end": (".", "完成設定。"),
    "binding.popup_heading": ("The pop-up", "彈出視窗"),
    "binding.saved": ("Pop-up saved.", "彈出視窗已儲存。"),
    "binding.enabled": ("Show the pop-up", "顯示彈出視窗"),
    "binding.show_on": ("Show it on", "顯示頁面"),
    "binding.page.home": ("Home page", "首頁"),
    "binding.page.product": ("Product pages", "商品頁"),
    "binding.page.collection": ("Collections", "商品系列"),
    "binding.page.cart": ("Cart", "購物車"),
    "binding.page.other": ("Other pages", "其他頁面"),
    "binding.none_ticked": ("None ticked: every page.", "都不勾選：所有頁面都顯示。"),
    "binding.excluded": (
        "Never on these pages (one pattern a line, * as a wildcard)",
        "不在這些頁面顯示（每行一個規則，可用 * 當萬用字元）",
    ),
    "binding.trigger": ("When it shows", "顯示時機"),
    "binding.trigger.add_to_cart": (
        "After this many additions to the cart",
        "加入購物車達指定次數後",
    ),
    "binding.trigger.seconds": (
        "After this many seconds on a page",
        "停留頁面達指定秒數後",
    ),
    "binding.count": ("How many", "次數／秒數"),
    "binding.range": ("{low} to {high} {unit}", "{low} 至 {high} {unit}"),
    "binding.range_separator": ("; ", "；"),
    "binding.range_end": (".", "。"),
    "binding.unit.add_to_cart": ("additions", "次加入購物車"),
    "binding.unit.seconds": ("seconds", "秒"),
    "binding.per_day": (
        "At most this many times a day per shopper",
        "每位顧客每天最多顯示幾次",
    ),
    "binding.per_day_hint": (
        "Once a shopper closes it, not again that day.",
        "顧客關閉後，當天就不會再出現。",
    ),
    "binding.channels": ("Channels it offers", "提供的管道"),
    "binding.channels_hint": (
        "A channel the shopper is already bound to is left out for them.",
        "顧客已綁定的管道不會再顯示給他。",
    ),
    "binding.text.title": ("Title", "標題"),
    "binding.text.body": ("Text", "內文"),
    "binding.text.consent": ("Consent checkbox", "同意勾選框"),
    "binding.text.success": ("Success message", "綁定成功訊息"),
    "binding.up_to": ("Up to {limit} characters.", "最多 {limit} 個字。"),
    "binding.drop_language": (
        "Leave every text of a language empty to drop that language; shoppers then"
        " get the default one.",
        "某個語言的文字全部留白，就會移除該語言；顧客將看到預設語言。",
    ),
    "binding.default_language": ("Default language", "預設語言"),
    "binding.tag": (
        "Tag the shoppers it binds (optional)",
        "為透過此視窗綁定的顧客加上標籤（選填）",
    ),
    "binding.save": ("Save the pop-up", "儲存彈出視窗"),
    "binding.funnel_heading": (
        "The funnel, {since} to {until}",
        "綁定漏斗（{since} 至 {until}）",
    ),
    "binding.shown": ("Shown", "顯示"),
    "binding.bound_rate": ("Bound/shown", "綁定率"),
    "binding.funnel_hint": (
        "Shown: the pop-up appeared; clicked: its channel's button. A pop-up"
        " offering both channels counts as shown on each. Bindings made in the"
        " chat, without the pop-up, count as bound too. Days are UTC days.",
        "顯示：彈出視窗出現的次數；點擊：點了該管道按鈕的次數。同時提供兩種管道的視窗，"
        "會在兩個管道各算一次顯示。未經彈出視窗、直接在聊天中完成的綁定也計入已綁定。"
        "日期以 UTC 計算。",
    ),
    "binding.chart": (
        "{channel}: the pop-up per day (UTC)",
        "{channel}：每日彈出視窗成效（UTC）",
    ),
    "binding.series.shown": ("shown", "顯示"),
    "binding.series.clicked": ("clicked", "點擊"),
    "binding.series.bound": ("bound", "綁定"),
}
