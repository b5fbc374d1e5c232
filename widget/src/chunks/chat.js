// Live chat with the store plugs in here: its mount() will open the chat
// connection (the widget's only long-lived one, and only from this point) and
// render the conversation. Until then it states that chat is not available.

import { showUnavailable } from '../unavailable.js';

export function mount(root, context) {
  showUnavailable(root, context, 'chat');
}
