"""The Reminders screen (the flow editor) and its script, ``flow.js``.

Each key maps to its English and its Traditional Chinese (Taiwan) text. The
``js.flow.default_*`` texts start a new step's message, which shoppers read:
a merchant who works in Chinese starts from Chinese.
"""

from __future__ import annotations

TEXTS: dict[str, tuple[str, str]] = {
    "flow.heading": ("Cart reminders", "購物車提醒"),
    "flow.needs_js": (
        "The reminder editor needs JavaScript.",
        "提醒編輯器需要啟用 JavaScript。",
    ),
    "flow.settings_heading": ("When reminders go out", "提醒的發送時機"),
    "flow.enabled": ("Reminders are on", "啟用購物車提醒"),
    "flow.enabled_hint": (
        "Turning them off stops every reminder still waiting, at once.",
        "關閉後，所有尚未發出的提醒會立即停止。",
    ),
    "flow.abandonment": (
        "A cart counts as left after (minutes)",
        "購物車閒置多久視為放棄（分鐘）",
    ),
    "flow.attribution": (
        "Credit orders placed within (days)",
        "歸因期間：幾天內成立的訂單計入成效",
    ),
    "flow.cap": (
        "At most this many reminders per shopper",
        "每位顧客最多收到幾則提醒",
    ),
    "flow.cap_window": ("…within (hours)", "…在幾小時內"),
    "flow.quiet_hours": ("Quiet hours (your shop's time)", "勿擾時段（商店時區）"),
    "flow.quiet_hint": (
        "A reminder due in quiet hours waits until they end.",
        "遇到勿擾時段的提醒，會等時段結束後再發送。",
    ),
    "flow.cost_line": ("Cost per LINE message", "每則 LINE 訊息成本"),
    "flow.cost_messenger": ("Cost per Messenger message", "每則 Messenger 訊息成本"),
    "flow.channel_order": (
        'For steps on "whichever the shopper uses"',
        "步驟設為「顧客使用的管道」時",
    ),
    "flow.line_first": ("LINE first, then Messenger", "優先 LINE，其次 Messenger"),
    "flow.messenger_first": (
        "Messenger first, then LINE",
        "優先 Messenger，其次 LINE",
    ),
    "flow.steps_heading": ("Steps", "提醒步驟"),
    "flow.steps_hint": (
        "Each step waits its delay after the cart is left (the first) or after the"
        " step before it. Messenger steps must go out within 24 hours of the"
        " cart's last activity.",
        "第一個步驟從購物車被放棄後開始計時，之後每個步驟從上一步發出後開始計時。"
        "Messenger 步驟必須在購物車最後一次異動後 24 小時內發出。",
    ),
    "flow.add_step": ("Add a step", "新增步驟"),
    "flow.undo": ("Undo changes", "復原變更"),
    "flow.preview_heading": ("Preview", "預覽"),
    "flow.preview_step": ("Step", "步驟"),
    "flow.preview_cart": ("Cart", "購物車"),
    "flow.sample_cart": ("Sample cart", "範例購物車"),
    "flow.preview_note": (
        "What the shopper gets, rendered by the same code that sends it.",
        "顧客實際收到的樣子，由實際發送訊息的同一套程式產生。",
    ),
    "flow.send_test": ("Send a test to me", "傳送測試訊息給我"),
    "flow.send_test_hint": (
        "Goes to your own LINE or Messenger account when you set one under"
        " Channels; otherwise to the sandbox outbox.",
        "若已在「訊息管道」設定您自己的 LINE 或 Messenger 帳號，會傳到該帳號；"
        "否則會記錄在沙盒寄件匣。",
    ),
    "flow.phone_title": ("{channel} preview", "{channel} 預覽"),
    "flow.phone_subtitle": (
        "What the shopper's phone shows.",
        "顧客手機上看到的畫面。",
    ),
    # --- flow.js ------------------------------------------------------------------
    "js.flow.step": ("Step {n}", "步驟 {n}"),
    "js.flow.step_on": ("Step {n} on", "啟用步驟 {n}"),
    "js.flow.on": ("On", "啟用"),
    "js.flow.step_up": ("Move step {n} up", "將步驟 {n} 上移"),
    "js.flow.step_down": ("Move step {n} down", "將步驟 {n} 下移"),
    "js.flow.remove": ("Remove", "移除"),
    "js.flow.wait_first": ("Wait after the cart is left", "購物車放棄後等待"),
    "js.flow.wait_after": ("Wait after step {n}", "步驟 {n} 之後等待"),
    "js.flow.unit": ("Unit", "單位"),
    "js.flow.unit.minutes": ("minutes", "分鐘"),
    "js.flow.unit.hours": ("hours", "小時"),
    "js.flow.unit.days": ("days", "天"),
    "js.flow.channel": ("Channel", "管道"),
    "js.flow.channel.any": ("Whichever the shopper uses", "顧客使用的管道"),
    "js.flow.channel.line": ("LINE", "LINE"),
    "js.flow.channel.messenger": ("Messenger", "Messenger"),
    "js.flow.add_part": ("Add to the message", "新增訊息內容"),
    "js.flow.choose": ("Choose…", "請選擇…"),
    "js.flow.part.text": ("Text", "文字"),
    "js.flow.part.carousel": ("Cart carousel", "購物車商品輪播"),
    "js.flow.part.image": ("Image", "圖片"),
    "js.flow.part.buttons": ("Buttons", "按鈕"),
    "js.flow.preview_step": ("Preview this step", "預覽此步驟"),
    "js.flow.carousel_hint": (
        "A card for each item still in the cart and for sale, with a button to the"
        " checkout.",
        "購物車中仍在販售的每項商品各一張卡片，並附上前往結帳的按鈕。",
    ),
    "js.flow.button_label": ("Button label", "按鈕文字"),
    "js.flow.alt_text": ("Notification text", "通知預覽文字"),
    "js.flow.alt_text_placeholder": (
        "Your cart at {shop_name}: {item_count} item(s)",
        "您在 {shop_name} 的購物車：{item_count} 件商品",
    ),
    "js.flow.image_url": (
        "Image address (https, .jpg or .png)",
        "圖片網址（https，.jpg 或 .png）",
    ),
    "js.flow.question": ("Question", "問題"),
    "js.flow.add_button": ("Add a button", "新增按鈕"),
    "js.flow.part_up": ("Move up", "上移"),
    "js.flow.part_down": ("Move down", "下移"),
    "js.flow.label": ("Label", "文字"),
    "js.flow.button_kind": ("What the button does", "按鈕動作"),
    "js.flow.opens_checkout": ("Opens the checkout", "前往結帳"),
    "js.flow.no_thanks": (
        '"No thanks" (pauses reminders)',
        "「不用了，謝謝」（暫停提醒）",
    ),
    "js.flow.remove_button": ("Remove button", "移除按鈕"),
    "js.flow.variables": (
        "Variables: {names} — add a fallback like {first_name|there}.",
        "可用變數：{names}。可加上預設值，例如 {first_name|您好}。",
    ),
    "js.flow.default_button": ("Complete my order", "完成訂購"),
    "js.flow.default_text": (
        "Hi {first_name|there}, your cart at {shop_name} is still waiting.",
        "{first_name|您好}，您在 {shop_name} 的購物車還在等您喔！",
    ),
    "js.flow.skipped": ("Switched off: skipped.", "已停用：略過此步驟。"),
    "js.flow.days": ("{n} days", "{n} 天"),
    "js.flow.hours": ("{n} hours", "{n} 小時"),
    "js.flow.goes_out": (
        "Goes out about {after} after the cart's last activity.",
        "約在購物車最後一次異動後 {after}發出。",
    ),
    "js.flow.saved": ("Saved.", "已儲存。"),
    "js.flow.no_preview": ("No preview.", "無法預覽。"),
    "js.flow.rendered_with": ("Rendered with: {cart}.", "預覽使用：{cart}。"),
    "js.flow.preview_of": ("{channel} preview", "{channel} 預覽"),
    "js.flow.test_failed": ("The test did not go out.", "測試訊息未送出。"),
    "js.flow.test_sandbox": (
        "Step {n} recorded in the sandbox outbox ({channel}).",
        "步驟 {n} 已記錄在沙盒寄件匣（{channel}）。",
    ),
    "js.flow.test_sent": (
        "Step {n} sent to your {channel} account.",
        "步驟 {n} 已傳送到您的 {channel} 帳號。",
    ),
    "js.flow.undone": ("Changes undone.", "已復原變更。"),
}
