// Shopper-facing texts, in English and Traditional Chinese. One table per part
// of the widget, so each bundle carries only the strings it shows: esbuild
// drops the tables a bundle does not import.

// Any Chinese locale reads Traditional Chinese (the only Chinese we ship);
// everything else falls back to English.
export function pick(table, locale) {
  return String(locale).slice(0, 2).toLowerCase() == 'zh' ? table.zh : table.en;
}

export const bubbleTexts = {
  en: { open: 'Open the store assistant', close: 'Close the store assistant' },
  zh: { open: '開啟商店小幫手', close: '關閉商店小幫手' },
};

export const messageTexts = {
  en: {
    label: 'Message from the store',
    dismiss: 'Close message',
    more: 'Learn more',
    announce: 'New message from the store:',
  },
  zh: {
    label: '商店訊息',
    dismiss: '關閉訊息',
    more: '了解更多',
    announce: '商店的新訊息：',
  },
};

export const panelTexts = {
  en: {
    label: 'Store assistant',
    close: 'Close',
    chat: 'Chat with the store',
    game: 'Bonus game',
    binding: 'Get updates on LINE or Messenger',
    unavailable: 'Not available at the moment.',
  },
  zh: {
    label: '商店小幫手',
    close: '關閉',
    chat: '與商店聊聊',
    game: '紅利小遊戲',
    binding: '透過 LINE 或 Messenger 接收通知',
    unavailable: '目前無法使用。',
  },
};

export const bindingTexts = {
  en: {
    heading: 'Get updates on LINE or Messenger',
    line: 'LINE',
    messenger: 'Messenger',
    consent: 'Send me cart reminders and offers',
    waiting: 'Finish in the window that opened; we will notice here.',
    failed: 'That did not work. Please try again.',
    scan: 'Scan with your phone, then send the message. Code:',
    qr_alt: 'QR code that opens our LINE account',
    login_instead: 'Log in with LINE instead',
    close: 'Close',
    bound_on: 'Connected:',
    unbind: 'Disconnect',
    link_title: 'Link your LINE account to this store',
    link: 'Link my LINE account',
  },
  zh: {
    heading: '透過 LINE 或 Messenger 接收通知',
    line: 'LINE',
    messenger: 'Messenger',
    consent: '我願意收到購物車提醒與優惠',
    waiting: '請在新開的視窗完成，這裡會自動更新。',
    failed: '沒有成功，請再試一次。',
    scan: '用手機掃描後送出訊息。代碼：',
    qr_alt: '開啟我們 LINE 官方帳號的 QR Code',
    login_instead: '改用 LINE 登入',
    close: '關閉',
    bound_on: '已連結：',
    unbind: '取消連結',
    link_title: '將 LINE 帳號連結到這家商店',
    link: '連結我的 LINE 帳號',
  },
};
