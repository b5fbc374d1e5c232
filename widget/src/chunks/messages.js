// The on-site message the app chose for this page view: shown on its trigger
// (after a delay, or on exit intent), counted when seen, clicked or closed.
// Closed means closed: the dismissal is sent to the app and also remembered
// in this browser, so the message stays away even before the app hears of it.
//
// It shows as a non-modal dialog that never takes focus: the shopper reaches
// it with Tab, a polite live region announces it, and Escape closes it.

import { widgetFrame } from '../frame.js';
import { messageTexts, pick } from '../i18n.js';

/* global __REVISIT_MESSAGES_CSS__ */
const DISMISSED_KEY = 'revisit:dismissed';
// Enough to cover every message a shop runs at once; the oldest go first.
const DISMISSED_KEPT = 100;

function dismissedIds(context) {
  try {
    const ids = JSON.parse(context.read(DISMISSED_KEY));
    return Array.isArray(ids) ? ids : [];
  } catch (error) {
    return [];
  }
}

function remember(context, id) {
  const ids = dismissedIds(context).filter((kept) => kept !== id);
  ids.push(id);
  context.write(DISMISSED_KEY, JSON.stringify(ids.slice(-DISMISSED_KEPT)));
}

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text) node.textContent = text;
  return node;
}

function link(message, className, content, onClick) {
  const anchor = element('a', className);
  anchor.href = message.link_url;
  anchor.append(content);
  anchor.addEventListener('click', onClick);
  return anchor;
}

// Resolves once the image can be painted at its size (or failed), so the
// card appears whole instead of growing while the picture arrives.
function loadImage(message, alt) {
  const image = element('img');
  image.src = message.image_url;
  image.alt = alt;
  return image.decode().then(
    () => image,
    () => null,
  );
}

function buildCard(message, texts, image, handlers) {
  const card = element('section', 'm');
  card.setAttribute('role', 'dialog');
  card.setAttribute('aria-modal', 'false');

  const close = element('button', 'x');
  close.type = 'button';
  close.setAttribute('aria-label', texts.dismiss);
  close.addEventListener('click', handlers.dismiss);
  card.append(close);

  if (image) {
    card.append(message.link_url ? link(message, 'i', image, handlers.click) : image);
  }

  if (message.title) {
    const title = element('h2', 't', message.title);
    title.id = 'revisit-message-title';
    card.setAttribute('aria-labelledby', title.id);
    card.append(title);
  } else {
    card.setAttribute('aria-label', texts.label);
  }
  if (message.body) {
    const body = element('p', 'd', message.body);
    body.id = 'revisit-message-body';
    card.setAttribute('aria-describedby', body.id);
    card.append(body);
  }

  // A button or a bonus sends the shopper to its link; a text message may
  // carry a link too. An image without a label is its own link.
  const label = message.button_label;
  if (message.link_url && (label || !image)) {
    const className = message.kind == 'bonus' ? 'c g' : 'c';
    card.append(link(message, className, label || texts.more, handlers.click));
  }
  return card;
}

function whenTriggered(message, guard, show) {
  if (message.trigger == 'exit_intent') {
    // Exit intent is the pointer leaving through the top of the window,
    // towards the tabs and the address bar; touch screens have no such move.
    if (!matchMedia('(pointer: fine)').matches) return;
    const onLeave = guard((event) => {
      if (!event.relatedTarget && event.clientY <= 0) {
        document.removeEventListener('mouseout', onLeave);
        show();
      }
    });
    document.addEventListener('mouseout', onLeave);
    return;
  }

  // "After N seconds on the page": counted from the navigation, and shown
  // only while the shopper can see it.
  const wait = Math.max(0, (message.delay_seconds || 0) * 1000 - performance.now());
  setTimeout(guard(() => {
    if (!document.hidden) return show();
    const onVisible = guard(() => {
      if (document.hidden) return;
      document.removeEventListener('visibilitychange', onVisible);
      show();
    });
    document.addEventListener('visibilitychange', onVisible);
  }), wait);
}

// Messages this document has shown or is waiting to show: a page back from
// the back/forward cache asks again, and must not get a second card.
const mounted = new Set();

export function mountMessage(context) {
  const message = context.message;
  if (!message || mounted.has(message.id) || dismissedIds(context).includes(message.id)) return;
  mounted.add(message.id);

  const texts = pick(messageTexts, context.config.locale);
  const frame = widgetFrame(context, __REVISIT_MESSAGES_CSS__);
  const shadow = frame.getRootNode();
  // The live region is in place before the card, so the announcement is heard.
  const announcer = element('div', 'sr');
  announcer.setAttribute('aria-live', 'polite');
  frame.append(announcer);

  const guard = context.guard;
  let card;
  const counted = (type) => context.track(type, { message_id: message.id });
  const onKey = guard((event) => {
    const focused = document.activeElement;
    // Escape is the theme's while focus is somewhere in it (its own drawers).
    if (event.key == 'Escape' && (focused == shadow.host || focused == document.body || !focused)) {
      dismiss();
    }
  });
  const dismiss = guard(() => {
    if (!card) return;
    card.remove();
    card = null;
    document.removeEventListener('keydown', onKey);
    remember(context, message.id);
    counted('message_dismiss');
  });
  const handlers = { dismiss, click: guard(() => counted('message_click')) };

  const show = guard((image) => {
    // Closed in another tab meanwhile: stay closed.
    if (dismissedIds(context).includes(message.id)) return;
    card = buildCard(message, texts, image, handlers);
    if (frame.querySelector('.b')) card.classList.add('a');
    frame.append(card);
    announcer.textContent = texts.announce + ' ' + (message.title || message.body || '');
    document.addEventListener('keydown', onKey);
    counted('message_view');
  });
  // Without a picture there is nothing to wait for: shown in the same task.
  whenTriggered(message, guard, () =>
    message.image_url ? loadImage(message, message.title || message.button_label || texts.label).then(show) : show(),
  );
}
