// What the widget shows before any interaction, in one file: the closed
// bubble and the on-site message. The loader imports it under both of its
// names for them ("bubble", "messages"; the manifest maps both here), so a
// page that shows both fetches, compiles and runs one module instead of three
// (bubble, message and the code they share), each costing the shopper's main
// thread a request and a module to instantiate.

import { mountBubble } from './bubble.js';
import { mountMessage } from './messages.js';

// Called once per name; each part mounts once (a second call finds it there).
// The message goes first: the frame it creates holds its styles in the one
// style sheet, and the card appears later, beside the bubble.
export function mount(context) {
  const features = context.features;
  if (context.message) mountMessage(context);
  if (features.chat || features.game || features.binding) mountBubble(context);
}
