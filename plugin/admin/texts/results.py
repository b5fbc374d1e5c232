"""The Results screen: figures, charts and tables of the cart reminders.

Each key maps to its English and its Traditional Chinese (Taiwan) text.
"""

from __future__ import annotations

TEXTS: dict[str, tuple[str, str]] = {
    "results.export": ("Export CSV", "匯出 CSV"),
    "results.notice_until": ("(until {day})", "（至 {day}）"),
    "results.totals_heading": (
        "Cart reminders, {since} to {until}",
        "購物車提醒（{since} 至 {until}）",
    ),
    "results.fig.sent": ("sent", "已發送"),
    "results.fig.clicked": ("clicked", "點擊"),
    "results.fig.orders": ("orders recovered", "挽回訂單"),
    "results.fig.revenue": ("{currency} recovered", "{currency} 挽回營收"),
    "results.fig.conversion": ("conversion", "轉換率"),
    "results.charts": ("Charts", "圖表"),
    "results.per_channel": ("Per channel and step", "各管道與步驟成效"),
    "results.step": ("Step", "步驟"),
    "results.sent": ("Sent", "已發送"),
    "results.failed": ("Failed", "失敗"),
    "results.orders": ("Orders", "訂單"),
    "results.revenue": ("Revenue", "營收"),
    "results.conversion": ("Conversion", "轉換率"),
    "results.all": ("All", "全部"),
    "results.no_reminders": (
        "No reminders in this period.",
        "此期間沒有發送提醒。",
    ),
    "results.roas_hint": (
        "ROAS is recovered revenue over what the messages cost, at the cost per"
        " message set under Reminders.",
        "ROAS（廣告投資報酬率）＝挽回營收 ÷ 訊息成本；"
        "每則訊息成本請在「購物車提醒」設定。",
    ),
    "results.failures": ("Reminders that failed", "發送失敗的提醒"),
    "results.why": ("Why", "原因"),
    "results.count": ("Count", "次數"),
    "results.last_said": ("What the platform said last", "平台最後回應"),
    "results.reason.recipient_unreachable": (
        "The shopper cannot be reached (blocked or unknown)",
        "無法聯繫顧客（已封鎖或查無此人）",
    ),
    "results.reason.invalid_message": (
        "The platform refused the message",
        "平台拒收此訊息",
    ),
    "results.reason.platform_refused": (
        "The platform refused the send",
        "平台拒絕發送",
    ),
    "results.reason.retries_exhausted": (
        "The platform kept failing",
        "平台持續發生錯誤",
    ),
    "results.reason.channel_error": ("The channel failed", "管道發生錯誤"),
    "results.no_failures": ("None in this period.", "此期間沒有失敗紀錄。"),
    "results.message": ("Message", "訊息"),
    "results.views": ("Views", "瀏覽"),
    "results.clicks": ("Clicks", "點擊"),
    "results.closed": ("Closed", "關閉"),
    "results.click_rate": ("Click rate", "點擊率"),
    "results.no_messages": ("No on-site messages yet.", "目前還沒有網站訊息。"),
    # --- the charts, drawn by the view ------------------------------------------
    "results.chart.activity": (
        "Reminders sent and clicked per day",
        "每日提醒發送與點擊",
    ),
    "results.chart.revenue": (
        "Recovered revenue per day ({currency})",
        "每日挽回營收（{currency}）",
    ),
    "results.chart.conversion": (
        "Conversion per channel (orders per reminder sent)",
        "各管道轉換率（每則提醒帶來的訂單）",
    ),
    "results.chart.roas": ("Return on ad spend per step", "各步驟 ROAS"),
    "results.chart.step": ("Step {n} · {channel}", "步驟 {n}・{channel}"),
    "results.chart.no_cost": ("no cost set", "未設定成本"),
    "results.chart.onsite": ("On-site message views", "網站訊息瀏覽次數"),
    "results.chart.views": ("{n} views", "{n} 次瀏覽"),
    "results.series.sent": ("sent", "發送"),
    "results.series.clicked": ("clicked", "點擊"),
    "results.series.revenue": ("revenue", "營收"),
}
