"""The panel's frame and its small screens: navigation, sign-in, Home, Team.

Each key maps to its English and its Traditional Chinese (Taiwan) text.
``js.panel.*`` are the shared script's (``panel.js``) texts.
"""

from __future__ import annotations

TEXTS: dict[str, tuple[str, str]] = {
    # --- the navigation, one entry per screen ---------------------------------
    "nav.home": ("Home", "首頁"),
    "nav.inbox": ("Inbox", "客服收件匣"),
    "nav.flow": ("Reminders", "購物車提醒"),
    "nav.messages": ("On-site messages", "網站訊息"),
    "nav.channels": ("Channels", "訊息管道"),
    "nav.binding": ("Binding", "顧客綁定"),
    "nav.game": ("Bonus game", "紅利小遊戲"),
    "nav.results": ("Results", "成效報表"),
    "nav.team": ("Team", "團隊成員"),
    # --- words several screens use --------------------------------------------
    "panel.navigation": ("Panel", "後台選單"),
    "panel.sign_out": ("Sign out", "登出"),
    "panel.email": ("E-mail", "電子郵件"),
    "panel.channel": ("Channel", "管道"),
    "panel.clicked": ("Clicked", "點擊"),
    "panel.bound": ("Bound", "已綁定"),
    "panel.save": ("Save", "儲存"),
    "panel.delete": ("Delete", "刪除"),
    "panel.from": ("From", "起始"),
    "panel.until": ("Until", "結束"),
    "panel.show": ("Show", "查看"),
    "panel.period": ("Period", "期間"),
    "panel.optional": ("(optional)", "（選填）"),
    "panel.title": ("Title", "標題"),
    "panel.text": ("Text", "內文"),
    "panel.name_private": ("Name (only you see it)", "名稱（僅您看得到）"),
    "panel.saved": ("Saved.", "已儲存。"),
    "panel.deleted": ("Deleted.", "已刪除。"),
    "panel.owners_only": (
        "Only the shop's owners can change these.",
        "只有商店擁有者可以變更這些設定。",
    ),
    "role.owner": ("owner", "擁有者"),
    "role.agent": ("agent", "客服人員"),
    "channel.line": ("LINE", "LINE"),
    "channel.messenger": ("Messenger", "Messenger"),
    "channel.any": ("Any channel", "任一管道"),
    "channel.web": ("web chat", "網站聊天"),
    # --- the expired-session page -----------------------------------------------
    "expired.title": ("Session ended", "登入已逾時"),
    "expired.heading": ("Your session has ended", "您的登入已逾時"),
    "expired.body": (
        "For your shop's safety you are signed out after a while without use, and"
        " at the latest half a day after signing in. Nothing you had saved is lost.",
        "為了商店安全，一段時間沒有操作就會自動登出，登入後最長也只維持半天。"
        "已儲存的內容都不會遺失。",
    ),
    "expired.sign_in_again": ("Sign in again", "重新登入"),
    # --- the sign-in page -------------------------------------------------------
    "login.title": ("Sign in", "登入"),
    "login.heading": ("Sign in to Revisit", "登入 Revisit"),
    "login.intro": (
        "For your shop's team. Shop owners can also open Revisit from the store admin.",
        "供商店團隊成員使用。商店擁有者也可以直接從 Shopify 商店管理介面開啟 Revisit。",
    ),
    "login.shop": ("Shop", "商店"),
    "login.password": ("Password", "密碼"),
    "login.submit": ("Sign in", "登入"),
    "login.idle": (
        "You stay signed in while you use the panel; after {hours} hours without"
        " use, sign in again.",
        "使用後台期間會保持登入；超過 {hours} 小時沒有操作，就需要重新登入。",
    ),
    "login.form_expired": (
        "The form had expired; please sign in again.",
        "表單已過期，請重新登入。",
    ),
    "login.refused": (
        "That shop, e-mail and password do not match an account.",
        "商店、電子郵件與密碼不符合任何帳號。",
    ),
    "login.too_many": (
        "Too many failed sign-ins for this account; try again in {minutes} minute(s).",
        "此帳號登入失敗次數過多，請 {minutes} 分鐘後再試。",
    ),
    # --- Home ---------------------------------------------------------------------
    "home.your_store": ("Your store", "您的商店"),
    "home.store": ("Store", "商店"),
    "home.widget_key": ("Widget key", "小工具金鑰"),
    "home.widget_key_hint": (
        "Paste it into the Revisit app embed (Online Store → Themes → Customize →"
        " App embeds).",
        "請貼到 Revisit 的應用程式嵌入設定"
        "（線上商店 → 佈景主題 → 自訂 → 應用程式嵌入）。",
    ),
    "home.installed": ("Installed", "安裝時間"),
    "home.data_heading": ("What your store has told us", "商店目前回傳的資料"),
    "home.carts": ("carts", "購物車"),
    "home.open_checkouts": ("unfinished checkouts", "未完成結帳"),
    "home.orders": ("orders", "訂單"),
    "home.webhooks": ("webhooks received", "已收到的 Webhook"),
    "home.last_webhook": ("Last webhook: {at}", "最近一次 Webhook：{at}"),
    "home.funnel_heading": (
        "Shoppers bound to LINE and Messenger",
        "綁定 LINE 與 Messenger 的顧客",
    ),
    "home.popup_shown": ("Pop-up shown", "彈出視窗顯示"),
    "home.next_steps": ("Next steps", "下一步"),
    "home.next_channels": ("Connect LINE and Messenger", "串接 LINE 與 Messenger"),
    "home.next_flow": ("Set up your cart reminders", "設定購物車提醒"),
    "home.next_results": ("See what came back", "查看挽回成效"),
    # --- Team -----------------------------------------------------------------------
    "team.members": ("Members", "成員"),
    "team.sign_in_at": ("Team members sign in at", "團隊成員請由此登入："),
    "team.roles_hint": (
        ". Owners change settings; agents answer chats and see the results.",
        "。擁有者可以變更設定；客服人員負責回覆對話，也能查看成效。",
    ),
    "team.name": ("Name", "名稱"),
    "team.role": ("Role", "角色"),
    "team.last_signed_in": ("Last signed in", "最近登入"),
    "team.deactivated": ("(deactivated)", "（已停用）"),
    "team.deactivate": ("Deactivate", "停用"),
    "team.deactivate_confirm": ("Deactivate {name}?", "確定要停用 {name} 嗎？"),
    "team.deactivated_done": ("Deactivated.", "已停用。"),
    "team.none": ("No team members yet.", "目前還沒有團隊成員。"),
    "team.add_heading": ("Add a member", "新增成員"),
    "team.added": ("Added.", "已新增。"),
    "team.shown_name": ("Name shoppers see", "顧客看到的名稱"),
    "team.first_password": ("First password", "初始密碼"),
    "team.password_hint": (
        "At least 10 characters; tell it to them yourself.",
        "至少 10 個字元，請親自告知對方。",
    ),
    "team.add_submit": ("Add member", "新增成員"),
    # --- panel.js -------------------------------------------------------------------
    "js.panel.unreachable": (
        "The app could not be reached; check the connection.",
        "無法連線到應用程式，請檢查網路連線。",
    ),
    "js.panel.refused_status": (
        "That was refused ({status}).",
        "操作遭拒（{status}）。",
    ),
    "js.panel.not_saved": ("Not saved: {detail}", "未儲存：{detail}"),
    "js.panel.refused": ("refused", "遭拒"),
    "js.panel.saved": ("Saved.", "已儲存。"),
}
