"""The Channels screen and its script, ``channels.js``.

Each key maps to its English and its Traditional Chinese (Taiwan) text.
LINE's and Meta's own field names (Channel ID, Channel secret) stay as
their consoles show them, so a merchant finds the same words there.
"""

from __future__ import annotations

TEXTS: dict[str, tuple[str, str]] = {
    "channels.connected": ("connected", "已串接"),
    "channels.stored": ("Stored; leave empty to keep it", "已儲存；留白即維持不變"),
    "channels.never_shown": ("Never shown again once saved.", "儲存後不會再顯示。"),
    "channels.check_and_save": ("Check and save", "檢查並儲存"),
    "channels.disconnect": ("Disconnect", "中斷串接"),
    # --- LINE -------------------------------------------------------------------
    "channels.line_heading": ("LINE Official Account", "LINE 官方帳號"),
    "channels.line_quota": (
        "LINE's monthly message quota is used up; LINE reminders wait until {day}.",
        "LINE 本月訊息額度已用完；LINE 提醒將暫停到 {day}。",
    ),
    "channels.line_connected": ("LINE is connected.", "LINE 已串接。"),
    "channels.channel_id": ("Channel ID", "Channel ID"),
    "channels.channel_secret": ("Channel secret", "Channel secret"),
    "channels.secret_placeholder": (
        "32 characters from the LINE Developers console",
        "LINE Developers 後台上的 32 個字元",
    ),
    "channels.access_token": (
        "Channel access token (long-lived)",
        "Channel access token（長期）",
    ),
    "channels.token_placeholder": (
        "From the Messaging API tab",
        "在「Messaging API」分頁取得",
    ),
    "channels.line_me": (
        "Your own LINE user ID, for tests",
        "您自己的 LINE 使用者 ID（測試用）",
    ),
    "channels.line_binding": ("Binding shoppers to LINE", "顧客綁定 LINE"),
    "channels.line_binding_hint": (
        "The LINE Login channel (of the same provider, linked to this Official"
        " Account) binds a shopper in one tap and adds your account as a friend;"
        " the basic ID lets a desktop shopper bind by QR code. Either is enough;"
        " leave a field empty to remove it.",
        "LINE Login channel（同一個提供者，且已連結此官方帳號）可讓顧客一鍵綁定，"
        "並同時加入您的好友；基本 ID 則讓使用電腦的顧客掃描 QR Code 綁定。"
        "兩者設定其一即可；欄位留白即移除。",
    ),
    "channels.login_id": ("LINE Login channel ID", "LINE Login Channel ID"),
    "channels.login_secret": ("LINE Login channel secret", "LINE Login Channel secret"),
    "channels.login_secret_placeholder": (
        "32 characters from the LINE Login channel",
        "LINE Login channel 上的 32 個字元",
    ),
    "channels.basic_id": ("Basic ID", "基本 ID"),
    "channels.register_line": (
        "Register these with LINE",
        "請到 LINE 後台登錄以下網址",
    ),
    "channels.line_callback": (
        "LINE Login channel → LINE Login → Callback URL",
        "LINE Login channel → LINE Login → Callback URL",
    ),
    "channels.line_webhook": (
        'Messaging API channel → Messaging API → Webhook URL (turn on "Use webhook")',
        "Messaging API channel → Messaging API → Webhook URL（並開啟「Use webhook」）",
    ),
    "channels.save_first": (
        "Save the channel first: its two addresses appear here.",
        "請先儲存 channel，兩個網址就會顯示在這裡。",
    ),
    "channels.line_disconnect_confirm": (
        "Stop sending reminders on LINE?",
        "確定要停止透過 LINE 發送提醒嗎？",
    ),
    "channels.line_disconnected": ("LINE is disconnected.", "已中斷 LINE 串接。"),
    # --- Messenger --------------------------------------------------------------
    "channels.messenger_heading": (
        "Facebook Page (Messenger)",
        "Facebook 粉絲專頁（Messenger）",
    ),
    "channels.messenger_connected": ("Messenger is connected.", "Messenger 已串接。"),
    "channels.page_id": ("Page ID", "粉絲專頁 ID"),
    "channels.page_token": ("Page access token", "粉絲專頁存取權杖"),
    "channels.page_token_placeholder": (
        "From Meta for Developers",
        "在 Meta for Developers 取得",
    ),
    "channels.page_me": (
        "Your own page-scoped ID (PSID), for tests",
        "您自己的粉絲專頁範圍 ID（PSID，測試用）",
    ),
    "channels.messenger_webhook_heading": ("Messenger's webhook", "Messenger Webhook"),
    "channels.messenger_webhook_hint": (
        "One webhook serves every store: Revisit's Meta app receives the messages"
        " of the Pages subscribed to it at the address below. Its verify token is"
        " set once, for the whole app, by whoever runs Revisit; you never enter it.",
        "所有商店共用同一個 Webhook：Revisit 的 Meta 應用程式"
        "會在下方網址接收已訂閱粉絲專頁的訊息。"
        "驗證權杖由 Revisit 的營運者為整個應用程式統一設定，您不需要填寫。",
    ),
    "channels.webhook_url": ("Webhook (callback URL)", "Webhook（回呼網址）"),
    "channels.verify_token": ("Verify token", "驗證權杖"),
    "channels.verify_set": ("Set on this Revisit server", "已在此 Revisit 伺服器設定"),
    "channels.verify_not_set": ("Not set", "未設定"),
    "channels.messenger_not_ready": (
        "This Revisit server has no Meta app secret or verify token, so it cannot"
        " take Messenger's webhooks: binding shoppers on Messenger is off until they"
        " are set.",
        "此 Revisit 伺服器尚未設定 Meta 應用程式密鑰或驗證權杖，無法接收 Messenger 的"
        " Webhook；設定完成前，無法透過 Messenger 綁定顧客。",
    ),
    "channels.messenger_disconnect_confirm": (
        "Stop sending reminders on Messenger?",
        "確定要停止透過 Messenger 發送提醒嗎？",
    ),
    "channels.messenger_disconnected": (
        "Messenger is disconnected.",
        "已中斷 Messenger 串接。",
    ),
    # --- opening hours ----------------------------------------------------------
    "channels.hours_heading": ("Opening hours", "營業時間"),
    "channels.hours_hint": (
        "When your team answers chats. Reminders' quiet hours follow the same time"
        " zone.",
        "團隊回覆聊天的時段。購物車提醒的勿擾時段也使用同一個時區。",
    ),
    "channels.hours_saved": ("Opening hours saved.", "營業時間已儲存。"),
    "channels.timezone": ("Time zone", "時區"),
    "channels.day.monday": ("Monday", "星期一"),
    "channels.day.tuesday": ("Tuesday", "星期二"),
    "channels.day.wednesday": ("Wednesday", "星期三"),
    "channels.day.thursday": ("Thursday", "星期四"),
    "channels.day.friday": ("Friday", "星期五"),
    "channels.day.saturday": ("Saturday", "星期六"),
    "channels.day.sunday": ("Sunday", "星期日"),
    "channels.opens": ("{day} opens", "{day}開始營業"),
    "channels.closes": ("{day} closes", "{day}結束營業"),
    "channels.closed": ("Closed", "公休"),
    "channels.save_hours": ("Save opening hours", "儲存營業時間"),
    # --- storefront addresses ---------------------------------------------------
    "channels.storefronts_heading": ("Storefront addresses", "商店網址"),
    "channels.storefronts_hint": (
        "The widget runs only on your store's own addresses. These come from your"
        " store and are always allowed:",
        "小工具只會在您商店自己的網址上運作。以下網址來自您的商店，一律允許：",
    ),
    "channels.storefronts_saved": ("Storefront addresses saved.", "商店網址已儲存。"),
    "channels.storefronts_other": (
        "Other addresses your storefront runs on, one per line (https only, up to 20)",
        "商店使用的其他網址，每行一個（限 https，最多 20 個）",
    ),
    "channels.save_storefronts": ("Save addresses", "儲存網址"),
}
