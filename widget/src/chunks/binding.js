// Binding the visitor to LINE or Messenger: the pop-up, the panel's section,
// and the account-link step for shoppers who come from the LINE chat.
//
// start() runs on every page where the app turned binding on. It tells the
// app who a logged-in customer is (through the store's app proxy, which the
// store signs), finishes an account link when the page was opened from the
// LINE chat, and arms the pop-up's trigger (after N additions to the cart,
// or N seconds on the page). Before showing, it asks the app (offer), which
// keeps the daily limit and "closed for today", and hides channels already
// bound. A channel button opens LINE Login or m.me in a new window (on a
// desktop, LINE shows a QR code to scan with the phone first); the app
// learns of the binding by itself, and this page asks until it hears.

import { addStyles, widgetFrame } from '../frame.js';
import { bindingTexts, pick } from '../i18n.js';

/* global __REVISIT_BINDING_CSS__ */
const ADDS_KEY = 'revisit:binding-adds';
const IDENTIFIED_KEY = 'revisit:identified';
const LINK_PARAM = 'revisit_link';
const POLL_MS = 2000;
const POLL_LIMIT = 90;

let context;
let texts;
let card = null;
let styled = false;

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text) node.textContent = text;
  return node;
}

function api(action, fields) {
  const base = context.config.app_url.replace(/\/+$/, '');
  const body = JSON.stringify({
    widget_key: context.config.widget_key,
    visitor_token: context.answer.visitor_token,
    ...fields,
  });
  return fetch(base + '/api/widget/v1/binding/' + action, { method: 'POST', body }).then((response) =>
    response.ok ? response.json() : Promise.reject(response.status),
  );
}

function frame() {
  const root = widgetFrame(context);
  if (!styled) {
    addStyles(root, __REVISIT_BINDING_CSS__);
    styled = true;
  }
  return root;
}

function today() {
  return new Date().toISOString().slice(0, 10);
}

// The buttons, the consent box and what follows a press, in ``root``.
function channelsForm(root, channels, onBound) {
  const consent = el('label', 'k');
  const box = el('input');
  box.type = 'checkbox';
  consent.append(box, ' ' + texts.consent);
  const buttons = el('div', 'r');
  const status = el('p', 's');
  status.setAttribute('aria-live', 'polite');
  for (const channel of channels) {
    const button = el('button', 'c ' + channel, texts[channel]);
    button.type = 'button';
    button.addEventListener('click', context.guard(() => press(channel, box.checked, status, onBound)));
    buttons.append(button);
  }
  root.append(consent, buttons, status);
}

function press(channel, marketing, status, onBound) {
  const desktop = channel == 'line' && matchMedia('(pointer: fine)').matches;
  // Opened now, while the press still counts as the shopper's: a window
  // opened after the answer arrives would be blocked.
  const opened = desktop ? null : window.open('', '_blank');
  api('start', { channel, method: desktop ? 'code' : undefined, marketing }).then(
    context.guard((started) => {
      if (opened) opened.location = started.url;
      else showCode(status, started, marketing, onBound);
      status.textContent = opened ? texts.waiting : status.textContent;
      waitForBinding(channel, onBound);
    }),
    context.guard(() => {
      if (opened) opened.close();
      status.textContent = texts.failed;
    }),
  );
}

function showCode(status, started, marketing, onBound) {
  const box = el('div', 'q');
  const image = el('img');
  image.src = started.qr;
  image.alt = texts.qr_alt;
  const code = el('p', 'n', texts.scan + ' ' + started.code);
  const login = el('button', 'c line', texts.login_instead);
  login.type = 'button';
  login.addEventListener('click', context.guard(() => {
    const opened = window.open('', '_blank');
    api('start', { channel: 'line', method: 'login', marketing }).then(
      context.guard((next) => {
        opened.location = next.url;
        status.textContent = texts.waiting;
      }),
      () => opened.close(),
    );
  }));
  box.append(image, code, login);
  status.before(box);
}

function waitForBinding(channel, onBound) {
  let rounds = 0;
  const ask = context.guard(() => {
    api('status', {}).then(
      context.guard((answer) => {
        if (answer.bound.includes(channel)) return onBound(channel);
        if (++rounds < POLL_LIMIT) setTimeout(ask, POLL_MS);
      }),
      () => {},
    );
  });
  setTimeout(ask, POLL_MS);
}

function closeCard(dismissed) {
  if (!card) return;
  card.remove();
  card = null;
  if (dismissed) api('dismiss', {}).catch(() => {});
}

function showPopup(popup, channels) {
  const popupTexts = popup.texts;
  card = el('section', 'v');
  card.setAttribute('role', 'dialog');
  card.setAttribute('aria-modal', 'false');
  card.setAttribute('aria-label', popupTexts.title);
  const close = el('button', 'x', '×');
  close.type = 'button';
  close.setAttribute('aria-label', texts.close);
  close.addEventListener('click', context.guard(() => closeCard(true)));
  card.append(close, el('h2', 't', popupTexts.title));
  if (popupTexts.body) card.append(el('p', 'd', popupTexts.body));
  if (popupTexts.consent) texts = { ...texts, consent: popupTexts.consent };
  channelsForm(card, channels, () => {
    card.replaceChildren(el('p', 'ok', popupTexts.success));
    setTimeout(context.guard(() => closeCard(false)), 4000);
  });
  frame().append(card);
}

function offer(popup) {
  api('offer', {}).then(
    context.guard((answer) => {
      if (answer.show && !card) showPopup(popup, answer.channels);
    }),
    () => {},
  );
}

function armTrigger(popup) {
  if (popup.trigger == 'seconds') {
    const wait = Math.max(0, popup.trigger_count * 1000 - performance.now());
    return setTimeout(context.guard(() => offer(popup)), wait);
  }
  window.addEventListener('revisit:add-to-cart', context.guard(() => {
    let adds = JSON.parse(context.read(ADDS_KEY) || 'null');
    if (!adds || adds.day != today()) adds = { day: today(), count: 0 };
    adds.count += 1;
    context.write(ADDS_KEY, JSON.stringify(adds));
    if (adds.count >= popup.trigger_count) offer(popup);
  }));
}

// The store vouches for a logged-in customer through its app proxy; asked
// once per customer and browser.
function identify() {
  const customer = context.config.customer_id_hint;
  if (!customer || context.read(IDENTIFIED_KEY) == String(customer)) return;
  const root = (window.Shopify && Shopify.routes && Shopify.routes.root) || '/';
  const query = '?visitor_token=' + encodeURIComponent(context.answer.visitor_token);
  fetch(root + 'apps/revisit/identify' + query, { credentials: 'same-origin' }).then(
    context.guard((response) => response.ok && context.write(IDENTIFIED_KEY, String(customer))),
    () => {},
  );
}

// Opened from the LINE chat's "link my account" button: confirm, then on to
// LINE's account-link screen.
function finishAccountLink(linkToken) {
  card = el('section', 'v');
  card.setAttribute('role', 'dialog');
  card.setAttribute('aria-label', texts.link_title);
  card.append(el('h2', 't', texts.link_title));
  const consent = el('label', 'k');
  const box = el('input');
  box.type = 'checkbox';
  consent.append(box, ' ' + texts.consent);
  const go = el('button', 'c line', texts.link);
  go.type = 'button';
  go.addEventListener('click', context.guard(() =>
    api('link', { link_token: linkToken, marketing: box.checked }).then(
      context.guard((answer) => location.assign(answer.url)),
      () => card.replaceChildren(el('p', 's', texts.failed)),
    ),
  ));
  card.append(consent, go);
  frame().append(card);
}

export function start(ctx) {
  context = ctx;
  texts = pick(bindingTexts, ctx.config.locale);
  identify();
  const linkToken = new URLSearchParams(location.search).get(LINK_PARAM);
  if (linkToken) return finishAccountLink(linkToken);
  const popup = ctx.features.binding && ctx.features.binding.popup;
  if (popup) armTrigger(popup);
}

// The panel's section: the channels not bound yet, or what is bound.
export function mount(root, ctx) {
  context = context || ctx;
  texts = texts || pick(bindingTexts, ctx.config.locale);
  root.append(el('h2', '', texts.heading));
  const body = el('div');
  root.append(body);
  const render = () =>
    api('status', {}).then(
      context.guard((answer) => {
        body.replaceChildren();
        for (const channel of answer.bound) {
          const row = el('p', 'b', texts.bound_on + ' ' + texts[channel]);
          const unbind = el('button', 'u', texts.unbind);
          unbind.type = 'button';
          unbind.addEventListener('click', context.guard(() => api('unbind', { channel }).then(render, () => {})));
          row.append(' ', unbind);
          body.append(row);
        }
        const open = ctx.features.binding.channels.filter((channel) => !answer.bound.includes(channel));
        if (open.length) channelsForm(body, open, render);
      }),
      () => body.replaceChildren(el('p', 's', texts.failed)),
    );
  render();
}
