// Binding the visitor to LINE or Messenger plugs in here: its mount() will
// offer the two channels and follow the visitor through the opt-in. Until
// then it states that the binding is not available.

import { showUnavailable } from '../unavailable.js';

export function mount(root, context) {
  showUnavailable(root, context, 'binding');
}
