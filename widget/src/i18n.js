// Shopper-facing texts, in English and Traditional Chinese. One table per part
// of the widget, so each bundle carries only the strings it shows: esbuild
// drops the tables a bundle does not import.

// Any Chinese locale reads Traditional Chinese (the only Chinese we ship);
// everything else falls back to English.
export function pick(table, locale) {
  return /^zh/i.test(locale || '') ? table.zh : table.en;
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
