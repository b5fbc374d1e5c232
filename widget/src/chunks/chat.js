// The shopper's live chat with the store: the panel's chat section. mount()
// runs when the shopper first opens the panel, and only from then on does the
// widget keep a connection open: the EventSource on the stream the app names
// in each history answer (an address valid for 10 minutes).
//
// Messages are keyed by their per-conversation seq and shown once each, in
// seq order: history answers, stream events and answers to sends all go
// through take(), which holds back a message that arrives past a gap and asks
// history for what is missing. History has the last word on gaps: a seq it
// skips (a note for the team only) stays skipped.
//
// One stream per browser, however many tabs: the tabs elect a leader with
// the Web Locks API. The leader holds the lock as long as it lives, owns the
// EventSource and relays each event to the other tabs on a BroadcastChannel;
// when it goes, the lock passes to another tab, which catches up from
// history and opens the stream. Without either API each tab has its own.
//
// Shopper and agent texts are untrusted: every text is set as textContent,
// and links stay plain text. Every handler runs in context.guard.

import { addStyles, widgetFrame } from '../frame.js';
import { chatTexts } from '../chat_texts.js';
import { pick } from '../i18n.js';

/* global __REVISIT_CHAT_CSS__ */
const MAX_TEXT = 2000;
const MAX_IMAGE = 5 * 1024 * 1024;
const IMAGE_TYPES = 'image/jpeg,image/png,image/gif,image/webp';
// History sends at most this many messages; a full page means more follow.
const PAGE = 200;
const FIRST_RETRY_MS = 1000;
const LAST_RETRY_MS = 30000;
// A stream address lives 10 minutes; one this young is used without asking.
const FRESH_MS = 5 * 60 * 1000;
// How close to the bottom the shopper must be for new messages to scroll in.
const STICK_PX = 80;
const CLIP =
  '<svg viewBox="0 0 24 24" width="20" height="20" aria-hidden="true" focusable="false">' +
  '<path d="M4 5h16v14H4zM4 16l5-5 4 4 2-2 5 5M15 9.5a1.5 1.5 0 1 0 0-.01" fill="none" stroke="currentColor" stroke-width="1.8"/></svg>';

let context;
let t;
let list;
let hint;
let teamNote;
let input;
let status;
let ratingRow;
// The highest seq shown, and messages that came past a gap, by seq.
let last = 0;
const ahead = new Map();
// Sent from this tab and not confirmed yet, by client_id.
const pending = new Map();
let catching = null;
let conversation = null;
let streamUrl = '';
let streamAt = 0;
let channel = null;
// The leader's EventSource, while open.
let source = null;
let retryMs = FIRST_RETRY_MS;

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text) node.textContent = text;
  return node;
}

function button(className, text, onClick) {
  const node = el('button', className, text);
  node.type = 'button';
  node.addEventListener('click', context.guard(onClick));
  return node;
}

function say(text) {
  status.textContent = text;
}

// crypto.randomUUID exists in secure contexts only; the fallback is as random.
function newId() {
  if (crypto.randomUUID) return crypto.randomUUID();
  return '10000000-1000-4000-8000-100000000000'.replace(/[018]/g, (digit) =>
    (digit ^ (crypto.getRandomValues(new Uint8Array(1))[0] & (15 >> (digit / 4)))).toString(16),
  );
}

function endpoint(action) {
  return context.config.app_url.replace(/\/+$/, '') + '/api/widget/v1/chat/' + action;
}

// Resolves with the answer's JSON; rejects with the status when refused.
function answerOf(response) {
  return response.ok ? response.json().catch(() => ({})) : Promise.reject(response.status);
}

// A string body goes as text/plain, which needs no CORS preflight. The
// locale picks the language of the team's closed-hours note.
function api(action, fields) {
  const body = {
    widget_key: context.config.widget_key,
    visitor_token: context.answer.visitor_token,
    locale: context.config.locale,
  };
  return fetch(endpoint(action), { method: 'POST', body: JSON.stringify({ ...body, ...fields }) }).then(answerOf);
}

function upload(item) {
  const query = new URLSearchParams({
    widget_key: context.config.widget_key,
    visitor_token: context.answer.visitor_token,
    client_id: item.id,
  });
  return fetch(endpoint('images') + '?' + query, {
    method: 'POST',
    body: item.file,
    headers: { 'Content-Type': item.file.type },
  }).then(answerOf);
}

// Runs fn after the current wait, and doubles the wait for next time.
function later(fn) {
  setTimeout(context.guard(fn), retryMs);
  retryMs = Math.min(retryMs * 2, LAST_RETRY_MS);
}

// Focus inside a node about to go moves to the text box, not to the page.
function keepFocus(node) {
  if (node.contains(node.getRootNode().activeElement)) input.focus();
}

function atBottom() {
  return list.scrollHeight - list.scrollTop - list.clientHeight < STICK_PX;
}

function scrollDown() {
  list.scrollTop = list.scrollHeight;
}

function bubble(message) {
  const author = message.author;
  const row = el('div', 'hm ' + (author == 'shopper' ? 'hs' : author == 'agent' ? 'ha' : 'hy'));
  if (author == 'shopper') row.append(el('span', 'sr', t.you));
  if (author == 'agent') row.append(el('span', 'hn', message.name || t.team));
  if (message.image_url) {
    const image = el('img');
    image.alt = message.text || t.image;
    // Taller than the log's slack once loaded: keep the newest in view.
    const stick = atBottom();
    image.addEventListener('load', context.guard(() => stick && scrollDown()));
    image.src = message.image_url;
    row.append(image);
  } else {
    row.append(el('p', '', message.text));
  }
  return row;
}

// The one sent from this tab that a confirmed message is, if any: by the seq
// its send was answered with, else by client_id (should the message carry
// one), else by kind and text.
function pendingFor(message) {
  if (message.author != 'shopper') return null;
  const items = [...pending.values()];
  return (
    items.find((item) => item.seq == message.seq) ||
    items.find((item) =>
      message.client_id
        ? item.id == message.client_id
        : item.kind == message.kind && (item.kind != 'text' || item.text == message.text),
    )
  );
}

function drop(item) {
  pending.delete(item.id);
  keepFocus(item.node);
  item.node.remove();
}

// Confirmed messages go before those still on their way, which stay last. A
// confirmed message that is the first of those on their way becomes it, in
// place, so the live region does not read it a second time.
function show(message) {
  last = message.seq;
  if (message.kind == 'note') return;
  const mine = pendingFor(message);
  const firstWaiting = list.querySelector('.hw');
  const stick = atBottom();
  if (mine && mine.node == firstWaiting) {
    pending.delete(mine.id);
    keepFocus(mine.state);
    mine.state.remove();
    mine.node.classList.remove('hw', 'hf');
  } else {
    if (mine) drop(mine);
    list.insertBefore(bubble(message), list.querySelector('.hw'));
  }
  if (stick || mine) scrollDown();
}

// Shows what can be shown in seq order, holds back what came past a gap and
// asks history for the rest. Up to `through` history has spoken, so a seq
// missing below it is not coming.
function take(messages, through = 0) {
  for (const message of messages) {
    if (message.seq > last) ahead.set(message.seq, message);
  }
  for (const seq of [...ahead.keys()].sort((a, b) => a - b)) {
    if (seq > last + 1 && seq > through) break;
    if (seq > last) show(ahead.get(seq));
    ahead.delete(seq);
  }
  if (ahead.size) sync();
  // "Ask us anything" once history has said there is nothing yet.
  hint.hidden = !!(catching || list.querySelector('.hm'));
}

function drawRating() {
  const wanted = conversation && conversation.rating_requested && conversation.rating == null;
  const asking = ratingRow.querySelector('button');
  if (wanted && !asking) {
    const scores = [1, 2, 3, 4, 5].map((score) => {
      const choice = button('', String(score), () => rate(score));
      choice.setAttribute('aria-label', t.score.replace('{score}', score));
      return choice;
    });
    ratingRow.replaceChildren(el('p', '', t.rate), ...scores);
  } else if (!wanted && asking) {
    keepFocus(ratingRow);
    ratingRow.replaceChildren();
  }
}

function rate(score) {
  api('rating', { score }).then(
    context.guard(() => {
      conversation.rating = score;
      keepFocus(ratingRow);
      ratingRow.replaceChildren(el('p', '', t.thanks));
    }),
    context.guard(() => say(t.not_rated)),
  );
}

// What every history answer says besides messages.
function learn(answer) {
  streamUrl = answer.stream_url;
  streamAt = Date.now();
  conversation = answer.conversation;
  const team = answer.team || {};
  teamNote.hidden = team.open || !team.note;
  teamNote.textContent = team.note || '';
  if (status.textContent == t.offline) say('');
  drawRating();
}

// Asks history for what follows the last message shown, as many pages as it
// takes. One request at a time: callers share the one in flight.
function catchUp() {
  if (!catching) {
    const through = Math.max(0, ...ahead.keys());
    const fields = last ? { after: last } : {};
    catching = api('history', fields).then(
      (answer) => {
        catching = null;
        learn(answer);
        const page = answer.messages;
        const newest = page.length ? page[page.length - 1].seq : 0;
        const full = page.length >= PAGE;
        take(page, full ? newest : Math.max(through, newest));
        if (full) return catchUp();
      },
      (error) => {
        catching = null;
        throw error;
      },
    );
  }
  return catching;
}

// catchUp() until it works, saying so while it does not.
function sync() {
  catchUp().catch(
    context.guard(() => {
      say(t.offline);
      later(sync);
    }),
  );
}

// What the leader's stream brought. A live rating request is the moment to
// ask (the conversation's own flag comes with the next history answer).
function receive(data) {
  const message = data.message;
  if (message) {
    if (message.kind == 'rating_request' && message.seq > last && conversation) {
      conversation.rating_requested = conversation.rating == null;
    }
    take([message]);
  }
  if (data.conversation) conversation = Object.assign(conversation || {}, data.conversation);
  if (data.started) restart();
  drawRating();
}

// The leader's stream: each event shown here and relayed to the other tabs.
// On any error it is closed and opened again later with a fresh address from
// history (a 401 stream_token_expired looks like any error to EventSource),
// from just after the last message shown.
function connect() {
  if (Date.now() - streamAt > FRESH_MS) {
    return catchUp().then(context.guard(connect), context.guard(() => later(connect)));
  }
  const opened = (source = new EventSource(streamUrl + (streamUrl.includes('?') ? '&' : '?') + 'after=' + last));
  const relay = (data) => {
    receive(data);
    if (channel) channel.postMessage(data);
  };
  opened.addEventListener('open', () => (retryMs = FIRST_RETRY_MS));
  opened.addEventListener('message', context.guard((event) => relay({ message: JSON.parse(event.data) })));
  opened.addEventListener(
    'conversation',
    context.guard((event) => relay({ conversation: JSON.parse(event.data) })),
  );
  opened.addEventListener(
    'error',
    context.guard(() => {
      opened.close();
      if (source == opened) source = null;
      streamAt = 0;
      later(connect);
    }),
  );
}

// The app's stream follows the conversation it found when it opened, so a
// stream opened before the shopper's first message would hear nothing of
// the conversation that message starts: the leader opens a new one.
function restart() {
  if (!source) return;
  source.close();
  source = null;
  connect();
}

function started(answer) {
  if (conversation || !answer.conversation) return;
  conversation = answer.conversation;
  if (answer.stream_url) {
    streamUrl = answer.stream_url;
    streamAt = Date.now();
  }
  if (channel) channel.postMessage({ started: true });
  restart();
}

// Holds the lock for the tab's lifetime, leading from `start`.
function hold(start) {
  context.guard(start)();
  return new Promise(() => {});
}

// Another tab led until now: history first, so nothing it missed or had not
// relayed yet is lost, then the stream.
function takeOver() {
  streamAt = 0;
  connect();
}

// A free lock makes this tab the leader at once (its stream address comes
// with the first history answer, on its way); a held one is waited for while
// this tab listens to the leader.
function join() {
  const name = 'revisit-chat-' + context.config.widget_key;
  const locks = navigator.locks;
  if (!locks || !window.BroadcastChannel) return connect();
  channel = new BroadcastChannel(name);
  channel.onmessage = context.guard((event) => receive(event.data));
  locks
    .request(name, { ifAvailable: true }, (lock) =>
      lock ? hold(connect) : locks.request(name, () => hold(takeOver)),
    )
    .catch(context.guard(takeOver));
}

function queue(item) {
  item.node = bubble({ author: 'shopper', text: item.text, image_url: item.url });
  item.node.classList.add('hw');
  item.state = button('hx', '', () => item.busy || send(item));
  item.node.append(item.state);
  pending.set(item.id, item);
  list.append(item.node);
  hint.hidden = true;
  if (status.textContent != t.offline) say('');
  scrollDown();
  send(item);
}

// Sends (again) under the same client_id, which the app answers only once.
function send(item) {
  item.busy = true;
  item.state.textContent = t.sending;
  item.node.classList.remove('hf');
  const request = item.file ? upload(item) : api('messages', { text: item.text, client_id: item.id });
  request.then(
    context.guard((answer) => {
      item.seq = answer.message.seq;
      started(answer);
      take([answer.message]);
      // Shown already, from the stream, before this answer came.
      if (pending.has(item.id) && item.seq <= last) drop(item);
    }),
    context.guard((code) => {
      item.busy = false;
      if (code == 413 || code == 415) {
        drop(item);
        return say(code == 413 ? t.too_big : t.wrong_type);
      }
      item.state.textContent = t.failed;
      item.node.classList.add('hf');
    }),
  );
}

function submit() {
  const text = input.value.trim();
  if (!text) return;
  input.value = '';
  queue({ id: newId(), kind: 'text', text });
}

function attach(picker) {
  const file = picker.files[0];
  picker.value = '';
  if (!file) return;
  if (!file.type || !IMAGE_TYPES.includes(file.type)) return say(t.wrong_type);
  if (file.size > MAX_IMAGE) return say(t.too_big);
  queue({ id: newId(), kind: 'image', file, url: URL.createObjectURL(file) });
}

function composer() {
  const form = el('form', 'hc');
  const label = el('label', 'sr', t.label);
  input = el('textarea', 'ht');
  input.id = label.htmlFor = 'revisit-chat-text';
  input.maxLength = MAX_TEXT;
  input.rows = 1;
  // Enter sends, Shift+Enter breaks the line; an input method composing
  // (Chinese, Japanese) keeps its Enter.
  input.addEventListener(
    'keydown',
    context.guard((event) => {
      if (event.key != 'Enter' || event.shiftKey || event.isComposing || event.keyCode == 229) return;
      event.preventDefault();
      submit();
    }),
  );
  const picker = el('input');
  picker.type = 'file';
  picker.accept = IMAGE_TYPES;
  picker.hidden = true;
  picker.addEventListener('change', context.guard(() => attach(picker)));
  const image = button('hb hi', '', () => picker.click());
  image.setAttribute('aria-label', t.attach);
  image.innerHTML = CLIP;
  const sendButton = el('button', 'hb', t.send);
  form.addEventListener(
    'submit',
    context.guard((event) => {
      event.preventDefault();
      submit();
    }),
  );
  form.append(label, input, picker, image, sendButton);
  return form;
}

export function mount(root, ctx) {
  context = ctx;
  t = pick(chatTexts, ctx.config.locale);
  addStyles(widgetFrame(ctx), __REVISIT_CHAT_CSS__);

  const section = el('section', 'h');
  const title = el('h2', '', t.heading);
  title.id = 'revisit-chat-title';
  section.setAttribute('aria-labelledby', title.id);
  list = el('div', 'hl');
  list.setAttribute('role', 'log');
  list.setAttribute('aria-live', 'polite');
  list.setAttribute('aria-labelledby', title.id);
  teamNote = el('p', 'hy');
  hint = el('p', 'hy', t.empty);
  teamNote.hidden = hint.hidden = true;
  list.append(teamNote, hint);
  status = el('p', 'hz');
  status.setAttribute('role', 'status');
  ratingRow = el('div', 'hr');
  ratingRow.setAttribute('role', 'group');
  ratingRow.setAttribute('aria-label', t.rate);
  section.append(title, list, status, composer(), ratingRow);
  root.append(section);

  // Listening first, so nothing sent meanwhile is missed: what comes
  // before the first history answer waits in `ahead`.
  join();
  sync();
}
