// The page-visit bonus game. collectible() runs on a target page (the bubble
// calls it when the page answer carries a collectible): once the shopper has
// stayed the campaign's time, a coin appears; tapping it asks the app to
// credit the wallet. The app decides by its own clock, from the token the
// page answer carried; this side only waits so the tap is not refused.
// mount() is the wallet's section of the panel: balance, what expires when,
// history, and turning the balance into a code (with a link that applies it
// to the cart) or into store credit.
//
// Keyboard and screen readers: the coin is a labelled button that never
// takes focus by itself, and a polite live region says when it appears and
// what a tap did. Nothing here may throw into the page: every handler runs
// in context.guard, and failed requests only show a sentence.

import { addStyles, widgetFrame } from '../frame.js';
import { gameTexts } from '../game_texts.js';
import { pick } from '../i18n.js';

/* global __REVISIT_GAME_CSS__ */
// A little more than the campaign's time: the app counts from the page view
// it saw, a moment before this page could start counting.
const MARGIN_MS = 800;
const POLL_MS = 1500;
const POLLS = 40;
const TOAST_MS = 8000;
const ICONS = {
  coin: '<circle cx="12" cy="12" r="9" fill="none" stroke="currentColor" stroke-width="2"/><path d="M12 7v10M9.5 9.5h4a1.5 1.5 0 0 1 0 3h-3a1.5 1.5 0 0 0 0 3h4" fill="none" stroke="currentColor" stroke-width="1.6"/>',
  gift: '<path d="M4 10h16v10H4zM3 7h18v3H3zM12 7v13M12 7c-2-4-6-3-5 0M12 7c2-4 6-3 5 0" fill="none" stroke="currentColor" stroke-width="1.8"/>',
  star: '<path d="M12 3l2.7 5.6 6.1.9-4.4 4.3 1 6.1L12 17l-5.4 2.9 1-6.1-4.4-4.3 6.1-.9z" fill="currentColor"/>',
  heart: '<path d="M12 20s-7-4.4-7-10a4 4 0 0 1 7-2.6A4 4 0 0 1 19 10c0 5.6-7 10-7 10z" fill="currentColor"/>',
};

let styled = false;
let announcer = null;
// The panel's wallet section, once mounted, redrawn by every answer.
let walletView = null;

function texts(context) {
  return pick(gameTexts, context.config.locale);
}

function fill(text, values) {
  return text.replace(/\{(\w+)\}/g, (_, name) => values[name]);
}

function money(context, amount, currency) {
  try {
    return new Intl.NumberFormat(context.config.locale || 'en', {
      style: 'currency',
      currency,
      minimumFractionDigits: 0,
      maximumFractionDigits: 2,
    }).format(Number(amount));
  } catch (error) {
    return amount + ' ' + currency;
  }
}

function day(context, iso) {
  return new Date(iso).toLocaleDateString(context.config.locale || 'en');
}

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text) node.textContent = text;
  return node;
}

function frameOf(context) {
  const frame = widgetFrame(context);
  if (!styled) {
    styled = true;
    addStyles(frame, __REVISIT_GAME_CSS__);
    announcer = element('div', 'sr');
    announcer.setAttribute('aria-live', 'polite');
    frame.append(announcer);
  }
  return frame;
}

function announce(text) {
  if (announcer) announcer.textContent = text;
}

// Resolves with the answer's JSON; rejects with it (or {}) when refused.
function api(context, action, body) {
  const base = context.config.app_url.replace(/\/+$/, '');
  const payload = Object.assign(
    { widget_key: context.config.widget_key, visitor_token: context.answer.visitor_token },
    body,
  );
  return fetch(base + '/api/widget/v1/game/' + action, {
    method: 'POST',
    body: JSON.stringify(payload),
  }).then((response) =>
    response.json().then(
      (data) => {
        data.retryAfter = Number(response.headers.get('Retry-After')) || 0;
        return response.ok ? data : Promise.reject(data);
      },
      () => Promise.reject({}),
    ),
  );
}

// A status message (role=status is itself a polite live region).
function toast(context, frame, text) {
  const note = element('p', 'q', text);
  note.setAttribute('role', 'status');
  frame.append(note);
  setTimeout(context.guard(() => note.remove()), TOAST_MS);
}

// Runs show() after `ms` of the page being visible.
function afterVisibleTime(context, ms, show) {
  let left = ms;
  let started = document.hidden ? 0 : performance.now();
  let timer = 0;
  const arm = () => {
    timer = setTimeout(
      context.guard(() => {
        document.removeEventListener('visibilitychange', onVisibility);
        show();
      }),
      left,
    );
  };
  const onVisibility = context.guard(() => {
    if (document.hidden) {
      clearTimeout(timer);
      if (started) left -= performance.now() - started;
      started = 0;
    } else {
      started = performance.now();
      arm();
    }
  });
  document.addEventListener('visibilitychange', onVisibility);
  if (!document.hidden) arm();
}

export function collectible(context) {
  const item = context.answer.collectible;
  if (!item) return;
  const t = texts(context);
  const amount = money(context, item.amount, item.currency);

  afterVisibleTime(context, item.wait_seconds * 1000 + MARGIN_MS, () => {
    const frame = frameOf(context);
    const coin = element('button', 'k');
    coin.type = 'button';
    coin.style.setProperty('--k', item.look.color);
    coin.setAttribute('aria-label', item.look.label || fill(t.collect, { amount }));
    coin.innerHTML =
      '<svg viewBox="0 0 24 24" width="30" height="30" aria-hidden="true" focusable="false">' +
      (ICONS[item.look.icon] || ICONS.coin) +
      '</svg>';
    coin.append(element('span', '', amount));
    frame.append(coin);
    announce(fill(t.ready, { amount }));
    api(context, 'seen', { collect_token: item.token }).catch(() => {});

    const tap = context.guard(() => {
      coin.disabled = true;
      api(context, 'collect', { collect_token: item.token }).then(
        context.guard((answer) => {
          coin.remove();
          toast(context, frame, fill(t.collected, { amount }));
          if (walletView) walletView(answer.wallet);
        }),
        context.guard((refusal) => {
          if (refusal.code == 'too_soon' && refusal.retryAfter) {
            setTimeout(tap, refusal.retryAfter * 1000);
            return;
          }
          coin.remove();
          toast(context, frame, t.refused[refusal.code] || t.refused.other);
        }),
      );
    });
    coin.addEventListener('click', tap);
  });
}

function redemptionNote(context, redemption, t) {
  const box = element('div');
  const amount = money(context, redemption.amount, redemption.currency);
  const date = day(context, redemption.expires_at);
  const status = redemption.status;
  if (status == 'pending' || status == 'unconfirmed') {
    box.append(element('p', '', t.preparing));
  } else if (status == 'failed') {
    box.append(element('p', '', t.failed));
  } else if (status == 'used') {
    box.append(element('p', '', t.used));
  } else if (status == 'issued' && redemption.method == 'store_credit') {
    box.append(element('p', '', fill(t.credit, { amount, date })));
  } else if (status == 'issued' && redemption.code) {
    box.append(element('p', '', fill(t.code, { amount, date })), element('strong', 'z', redemption.code));
    const root = (window.Shopify && window.Shopify.routes && window.Shopify.routes.root) || '/';
    const apply = element('a', 'c', t.apply);
    apply.href = root + 'discount/' + encodeURIComponent(redemption.code) + '?redirect=' + encodeURIComponent(root + 'cart');
    const copy = element('button', 'y', t.copy);
    copy.type = 'button';
    copy.addEventListener(
      'click',
      context.guard(() =>
        navigator.clipboard.writeText(redemption.code).then(() => announce(t.copied), () => {}),
      ),
    );
    box.append(element('br'), apply, copy);
  }
  return box;
}

function historyList(context, wallet, t) {
  const list = element('ul');
  for (const entry of wallet.history) {
    const sign = Number(entry.amount) > 0 ? '+' : '−';
    const parts = [t.kinds[entry.kind] || entry.kind];
    if (entry.campaign) parts.push(entry.campaign);
    parts.push(sign + money(context, Math.abs(Number(entry.amount)), wallet.currency));
    parts.push(day(context, entry.at));
    list.append(element('li', '', parts.join(' · ')));
  }
  return list;
}

export function mount(root, context) {
  const t = texts(context);
  frameOf(context);
  const section = element('section');
  section.setAttribute('aria-labelledby', 'revisit-wallet-title');
  const title = element('h2', '', t.wallet);
  title.id = 'revisit-wallet-title';
  const body = element('div');
  body.setAttribute('aria-live', 'polite');
  section.append(title, body);
  root.append(section);

  let polls = 0;
  const poll = () => {
    if (polls++ < POLLS) setTimeout(context.guard(refresh), POLL_MS);
  };
  const refresh = () => api(context, 'wallet', {}).then(context.guard((answer) => draw(answer.wallet)), () => {});

  const draw = (wallet) => {
    body.replaceChildren();
    const currency = wallet.currency || 'USD';
    body.append(element('p', '', t.balance), element('p', 'v', money(context, wallet.balance, currency)));
    for (const lot of wallet.expiring.slice(0, 3)) {
      body.append(element('p', '', fill(t.expires, { amount: money(context, lot.amount, currency), date: day(context, lot.expires_at) })));
    }
    if (!wallet.history.length) body.append(element('p', '', t.empty));

    const redeem = element('button', 'r', t.redeem);
    redeem.type = 'button';
    redeem.disabled = !(Number(wallet.balance) > 0);
    redeem.addEventListener(
      'click',
      context.guard(() => {
        redeem.disabled = true;
        api(context, 'redeem', {}).then(
          context.guard((answer) => {
            polls = 0;
            draw(answer.wallet);
          }),
          context.guard(() => {
            redeem.disabled = false;
            announce(t.failed);
          }),
        );
      }),
    );
    body.append(redeem);

    const redemption = wallet.redemption;
    if (redemption) {
      body.append(redemptionNote(context, redemption, t));
      if (redemption.status == 'pending' || redemption.status == 'unconfirmed') poll();
    }
    if (wallet.history.length) body.append(element('h3', '', t.history), historyList(context, wallet, t));
  };

  walletView = context.guard(draw);
  refresh();
}
