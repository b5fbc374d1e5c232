// The chat's texts, in English and Traditional Chinese. A module of their own
// so they travel in the chat's chunk only, like game_texts.js: the chat is
// loaded when the shopper opens the panel, never before.

export const chatTexts = {
  en: {
    heading: 'Chat with the store',
    label: 'Your message',
    send: 'Send',
    attach: 'Send an image',
    you: 'You:',
    team: 'Store',
    image: 'Image',
    empty: 'Ask us anything. We reply right here.',
    sending: 'Sending…',
    failed: 'Not sent. Tap to retry.',
    offline: 'Cannot reach the chat right now. Trying again…',
    too_big: 'Images can be at most 5 MB.',
    wrong_type: 'Send a JPEG, PNG, GIF or WebP image.',
    rate: 'How did we do?',
    score: '{score} out of 5',
    thanks: 'Thank you for your rating!',
    not_rated: 'Your rating was not sent. Please try again.',
  },
  zh: {
    heading: '與商店聊聊',
    label: '您的訊息',
    send: '送出',
    attach: '傳送圖片',
    you: '您：',
    team: '商店',
    image: '圖片',
    empty: '有任何問題都可以問我們，我們會在這裡回覆。',
    sending: '傳送中…',
    failed: '未送出，點一下重試。',
    offline: '暫時連不上聊天室，正在重試…',
    too_big: '圖片不能超過 5 MB。',
    wrong_type: '請傳送 JPEG、PNG、GIF 或 WebP 圖片。',
    rate: '您對這次服務滿意嗎？',
    score: '{score} 分（滿分 5 分）',
    thanks: '感謝您的評分！',
    not_rated: '評分沒有送出，請再試一次。',
  },
};
