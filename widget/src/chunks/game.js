// The page-visit bonus game plugs in here: its mount() will render the game
// and claim the visitor's bonus. Until then it states that the game is not
// available.

import { showUnavailable } from '../unavailable.js';

export function mount(root, context) {
  showUnavailable(root, context, 'game');
}
