// The panel the bubble opens: one section per feature the app turned on for
// this shop, each filled by that feature's own chunk. Opening it is the
// shopper's doing, so focus moves into it; closing returns focus to the bubble.

import { addStyles } from '../frame.js';
import { panelTexts, pick } from '../i18n.js';

/* global __REVISIT_PANEL_CSS__ */
// Each feature's chunk, fetched only when its section is first shown.
const FEATURES = {
  chat: () => import('./chat.js'),
  game: () => import('./game.js'),
  binding: () => import('./binding.js'),
};

let panel = null;

function close(button) {
  panel.hidden = true;
  button.setAttribute('aria-expanded', 'false');
  button.focus();
}

function build(frame, context, button) {
  const texts = pick(panelTexts, context.config.locale);
  addStyles(frame, __REVISIT_PANEL_CSS__);

  panel = document.createElement('section');
  panel.className = 'p';
  panel.id = 'revisit-panel';
  panel.tabIndex = -1;
  panel.setAttribute('role', 'dialog');
  panel.setAttribute('aria-modal', 'false');
  panel.setAttribute('aria-label', texts.label);
  button.setAttribute('aria-controls', panel.id);

  const closer = document.createElement('button');
  closer.type = 'button';
  closer.className = 'x';
  closer.textContent = texts.close;
  closer.addEventListener('click', context.guard(() => close(button)));
  panel.append(closer);
  panel.addEventListener('keydown', context.guard((event) => {
    if (event.key != 'Escape') return;
    // Ours alone: an on-site message listening on the document must not
    // take the same key press as its own "close for good".
    event.stopPropagation();
    close(button);
  }));

  for (const [name, load] of Object.entries(FEATURES)) {
    if (!context.features[name]) continue;
    const slot = document.createElement('div');
    panel.append(slot);
    load().then(context.guard((chunk) => chunk.mount(slot, context)), () => {});
  }
  frame.append(panel);
}

export function toggle(frame, context, button) {
  if (!panel) build(frame, context, button);
  else if (!panel.hidden) return close(button);
  else panel.hidden = false;
  button.setAttribute('aria-expanded', 'true');
  panel.focus();
}
