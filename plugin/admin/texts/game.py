"""The Bonus game screen: campaigns, their results and the campaign form.

Each key maps to its English and its Traditional Chinese (Taiwan) text;
``*.one`` and ``*.other`` are a count's two English forms (``tn``).
"""

from __future__ import annotations

TEXTS: dict[str, tuple[str, str]] = {
    "game.intro": (
        "Put small rewards on pages of the store. A visitor who stays long enough on"
        " one collects it once into their wallet, and turns the wallet into store"
        " credit or a discount code at checkout.",
        "在商店頁面放上小額獎勵。訪客在頁面停留夠久，就能領取一次並存入錢包，"
        "結帳時可把錢包餘額換成購物金或折扣碼。",
    ),
    "game.campaigns": ("Campaigns", "活動"),
    "game.new_campaign": ("New campaign", "新增活動"),
    "game.whole_ledger": ("Whole ledger (CSV)", "完整明細（CSV）"),
    "game.state.scheduled": ("Scheduled", "已排程"),
    "game.state.live": ("Live", "進行中"),
    "game.state.paused": ("Paused", "已暫停"),
    "game.state.ended": ("Ended", "已結束"),
    "game.no_end": ("no end", "無結束日"),
    "game.to": ("to", "至"),
    "game.pages.one": ("{count} page", "{count} 個頁面"),
    "game.pages.other": ("{count} pages", "{count} 個頁面"),
    "game.of_budget": (
        "of {budget} {currency} collected",
        "／{budget} {currency} 已被領取",
    ),
    "game.collectors.one": ("collector", "位領取者"),
    "game.collectors.other": ("collectors", "位領取者"),
    "game.orders.one": ("order", "筆訂單"),
    "game.orders.other": ("orders", "筆訂單"),
    "game.revenue_of": ("{currency} revenue", "{currency} 營收"),
    "game.budget_spent": (
        "The budget is spent: nobody can collect until you raise it.",
        "預算已用完：提高預算前，訪客都無法再領取。",
    ),
    "game.resumed": ("Resumed.", "已恢復。"),
    "game.paused": ("Paused.", "已暫停。"),
    "game.resume": ("Resume", "恢復"),
    "game.pause": ("Pause", "暫停"),
    "game.none": ("No campaigns yet.", "目前還沒有活動。"),
    "game.none_owner": (
        "No campaigns yet: set up the first one below.",
        "目前還沒有活動：請在下方建立第一個活動。",
    ),
    "game.results_of": ("Results of {name}", "「{name}」的成效"),
    "game.download_ledger": ("Download ledger (CSV)", "下載明細（CSV）"),
    "game.fig.shown_to": ("saw a collectible", "看到獎勵的人數"),
    "game.fig.collectors": ("collected ({times} times)", "領取人數（共 {times} 次）"),
    "game.fig.collected": ("{currency} collected", "{currency} 已被領取"),
    "game.fig.issued": (
        "codes / credits issued ({amount} {currency})",
        "折扣碼／購物金已發放（{amount} {currency}）",
    ),
    "game.fig.used": ("used ({amount} {currency})", "已使用（{amount} {currency}）"),
    "game.fig.orders": ("orders", "訂單"),
    "game.fig.revenue": ("{currency} revenue", "{currency} 營收"),
    "game.fig.conversion": ("of collectors bought", "領取者下單比例"),
    "game.fig.cost": ("{currency} cost", "{currency} 成本"),
    "game.fig.cost_share": (", {share} of revenue", "，占營收 {share}"),
    "game.results_hint": (
        "Since the campaign began. Cost is what the shop gave away: discount codes"
        " used plus store credit issued. {expired} {currency} expired unused.",
        "自活動開始起計算。成本是商店送出的金額：已使用的折扣碼加上已發放的購物金。"
        "另有 {expired} {currency} 到期未使用。",
    ),
    "game.edit": ("Edit {name}", "編輯「{name}」"),
    "game.owners_only": (
        "Only the shop's owners can change campaigns.",
        "只有商店擁有者可以變更活動。",
    ),
    "game.saved": ("Campaign saved.", "活動已儲存。"),
    "game.created": ("Campaign created.", "活動已建立。"),
    "game.starts": ("Starts", "開始時間"),
    "game.ends": ("Ends (optional)", "結束時間（選填）"),
    "game.browser_zone": (
        "Dates and times are in this browser's time zone.",
        "日期與時間以此瀏覽器的時區顯示。",
    ),
    "game.targets": ("Pages with a reward", "有獎勵的頁面"),
    "game.target_kind": ("Kind", "類型"),
    "game.target_page": ("Page", "頁面"),
    "game.reward": ("Reward", "獎勵金額"),
    "game.remove_page": ("Remove this page", "移除此頁面"),
    "game.remove": ("Remove", "移除"),
    "game.kind.url": ("Page address", "頁面網址"),
    "game.kind.product": ("Product", "商品"),
    "game.kind.collection": ("Collection", "商品系列"),
    "game.kind_hint.url": (
        "/pages/about, or * for any text: /blogs/*",
        "/pages/about，或用 * 代表任意文字：/blogs/*",
    ),
    "game.kind_hint.product": (
        "its id or handle: chew-toy",
        "填商品 ID 或 handle：chew-toy",
    ),
    "game.kind_hint.collection": (
        "its handle: summer-sale",
        "填系列 handle：summer-sale",
    ),
    "game.hint_separator": (": ", "："),
    "game.hint_end": (". ", "。"),
    "game.targets_hint": (
        "A saved page's kind and address stay; remove it and add another instead.",
        "已儲存頁面的類型與網址無法修改；如需更改，請移除後重新新增。",
    ),
    "game.add_target": ("Add a page", "新增頁面"),
    "game.seconds": (
        "Seconds on the page before collecting",
        "停留幾秒後可領取",
    ),
    "game.cap": ("Most one visitor can collect", "每位訪客領取上限"),
    "game.budget": ("Total budget", "總預算"),
    "game.budget_hint": (
        "At least the {spent} {currency} already collected.",
        "不得低於已被領取的 {spent} {currency}。",
    ),
    "game.expiry": ("Collected credit lasts (days)", "領取的獎勵有效天數"),
    "game.currency": ("Currency", "幣別"),
    "game.shops_currency": ("(the shop's)", "（商店幣別）"),
    "game.currency_hint": (
        "The store has not told us its currency yet; it cannot change later.",
        "商店尚未提供幣別；設定後無法再變更。",
    ),
    "game.look": ("How the collectible looks", "獎勵圖示外觀"),
    "game.icon": ("Icon", "圖示"),
    "game.icon.coin": ("Coin", "金幣"),
    "game.icon.gift": ("Gift", "禮物"),
    "game.icon.star": ("Star", "星星"),
    "game.icon.heart": ("Heart", "愛心"),
    "game.colour": ("Colour", "顏色"),
    "game.label_in": ("Label in {language} (optional)", "{language} 標籤（選填）"),
    "game.save_changes": ("Save changes", "儲存變更"),
    "game.create": ("Create campaign", "建立活動"),
    # --- the results' charts, drawn by the view --------------------------------
    "game.chart.funnel": ("From a collectible seen to an order", "從看到獎勵到下單"),
    "game.chart.saw": ("Saw a collectible", "看到獎勵"),
    "game.chart.collected": ("Collected", "已領取"),
    "game.chart.redeemed": ("Redeemed", "已兌換"),
    "game.chart.used": ("Used", "已使用"),
    "game.chart.orders": ("Orders", "訂單"),
    "game.chart.money": ("Money ({currency})", "金額（{currency}）"),
    "game.chart.cost": ("Cost", "成本"),
    "game.chart.revenue": ("Revenue", "營收"),
}
