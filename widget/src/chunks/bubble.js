// The closed bubble, shown when the app turned on a feature (chat, bonus
// game, LINE/Messenger binding) for this shop. Pressing it loads the panel;
// on a bonus game's target page it also fetches the game for the collectible.

import { widgetFrame } from '../frame.js';
import { bubbleTexts, pick } from '../i18n.js';

export function mountBubble(context) {
  const frame = widgetFrame(context);
  // A page back from the back/forward cache asks again: it has one already.
  if (frame.querySelector('.b')) return;
  const labels = context.config.labels || {};
  const button = document.createElement('button');
  button.type = 'button';
  button.className = 'b';
  // The theme's translations first (the app embed passes them), then ours.
  button.setAttribute('aria-label', labels.open || pick(bubbleTexts, context.config.locale).open);
  button.setAttribute('aria-expanded', 'false');
  button.addEventListener('click', context.guard(() =>
    import('./panel.js').then(context.guard((chunk) => chunk.toggle(frame, context, button)), () => {}),
  ));
  frame.append(button);
  // A target page of the bonus game: its collectible appears in time.
  if (context.answer && context.answer.collectible) {
    import('./game.js').then(context.guard((chunk) => chunk.collectible(context)), () => {});
  }
}
