// What a feature's slot in the panel shows while that feature cannot be used
// here: its name and a plain statement that it is not available.

import { panelTexts, pick } from './i18n.js';

export function showUnavailable(root, context, feature) {
  if (!context.features[feature]) return;
  const texts = pick(panelTexts, context.config.locale);
  const heading = document.createElement('h2');
  heading.textContent = texts[feature];
  const note = document.createElement('p');
  note.textContent = texts.unavailable;
  root.append(heading, note);
}
