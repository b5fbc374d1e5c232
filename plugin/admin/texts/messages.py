"""The On-site messages screen.

Each key maps to its English and its Traditional Chinese (Taiwan) text.
"""

from __future__ import annotations

TEXTS: dict[str, tuple[str, str]] = {
    "messages.intro": (
        "At most one message shows on a page: a specific page wins over a broad"
        " one, then the higher visit number, then the newest. A closed message"
        " stays closed for that visitor.",
        "每個頁面最多顯示一則訊息：指定頁面的訊息優先於大範圍的訊息，其次是造訪次數較高的，"
        "再來是最新的。訪客關閉後，該則訊息就不會再對他顯示。",
    ),
    "messages.kind": ("Kind", "類型"),
    "messages.kind.text": ("Text", "文字"),
    "messages.kind.image": ("Image with a link", "圖片（含連結）"),
    "messages.kind.button": ("Text with a button", "文字加按鈕"),
    "messages.kind.bonus": ("Bonus", "紅利"),
    "messages.button_label": ("Button label", "按鈕文字"),
    "messages.image_url": ("Image address", "圖片網址"),
    "messages.link_url": ("Link (address or /path)", "連結（網址或 /路徑）"),
    "messages.show_on": ("Show on", "顯示頁面"),
    "messages.match.any": ("Every page", "所有頁面"),
    "messages.match.is": ("The page address is", "網址等於"),
    "messages.match.contains": ("The address contains", "網址包含"),
    "messages.match.not_contains": ("The address does not contain", "網址不包含"),
    "messages.match.wildcard": (
        "The address matches (use * as a wildcard)",
        "網址符合（可用 * 當萬用字元）",
    ),
    "messages.url_value": ("…this address", "…這個網址"),
    "messages.delay": (
        "After this many seconds on the page",
        "停留頁面幾秒後顯示",
    ),
    "messages.visit_number": ("On visit number", "第幾次造訪"),
    "messages.visit_mode": ("Visit rule", "造訪條件"),
    "messages.visit_mode.exactly": ("exactly that visit", "僅限該次造訪"),
    "messages.visit_mode.at_least": ("that visit and later", "該次及之後的造訪"),
    "messages.cart_over": ("When the cart is over", "購物車金額超過"),
    "messages.audience": ("For", "顯示對象"),
    "messages.audience.all": ("Everyone", "所有人"),
    "messages.audience.new": ("New visitors", "新訪客"),
    "messages.audience.returning": ("Returning visitors", "回訪訪客"),
    "messages.audience.first_time_buyer": ("First-time buyers", "首購顧客"),
    "messages.cap": (
        "At most this many times per visitor",
        "每位訪客最多顯示幾次",
    ),
    "messages.excluded": (
        "Never on these pages (one pattern a line)",
        "不在這些頁面顯示（每行一個規則）",
    ),
    "messages.exit_intent": (
        "Show when the visitor is about to leave instead",
        "改為在訪客準備離開時顯示",
    ),
    "messages.active": ("Active", "啟用"),
    "messages.paused": ("paused", "已暫停"),
    "messages.counts": (
        "{views} views, {clicks} clicks, {closed} closed",
        "{views} 次瀏覽、{clicks} 次點擊、{closed} 次關閉",
    ),
    "messages.delete_confirm": (
        "Delete {name} and its counts?",
        "確定要刪除「{name}」及其統計數字嗎？",
    ),
    "messages.none": ("No messages yet.", "目前還沒有訊息。"),
    "messages.new_heading": ("New message", "新增訊息"),
}
