// The loader every storefront page runs (deferred, after the theme's own
// markup). It reads #revisit-config, tells the app about the page view, keeps
// the visitor's first-party token (in a cookie), measures visible time on the
// page, notices cart changes, and sends events in small batches. Whatever is
// visible (the bubble, a message, the panel) lives in chunks fetched with import() only
// when there is something to show, so a page with nothing for this visitor
// loads nothing else.
//
// Ground rules, because this runs inside someone else's shop:
// - nothing may throw into the page: every entry point is wrapped in guard();
// - nothing may shift the layout: visible parts are fixed-position, inside a
//   shadow root, added after the page has loaded (see frame.js);
// - no long-lived connection: one fetch per page view, then batched posts.

// Written in by widget/build.mjs: where the chunks are, relative to app_url.
// Their names come with the app's answer to the page view, not from here:
// this file ships with the theme app extension and may be older or newer than
// the app, so it must not name the app's files.
/* global __REVISIT_CHUNK_PATH__ */

// The visitor token lives in a first-party cookie, not in localStorage: the
// page's first localStorage access makes it wait while the browser loads the
// site's whole storage, several times longer than reading a cookie.
const TOKEN_COOKIE = 'revisit_visitor';
const CART_KEY = 'revisit:cart';
const FORM_KEY = 'revisit:cart-form';
// Shopify's Ajax Cart API and the classic cart form, under any locale prefix.
const CART_PATH = /\/cart\/(add|change|update|clear)(\.js)?$/;
// The events endpoint takes at most this many events per request.
const BATCH = 50;

const win = window;
const doc = document;
const nativeFetch = win.fetch;
const noop = () => {};

let config;
let base;
let token;
let answer = {};
let answered;
const answerArrived = new Promise((resolve) => (answered = resolve));
let pageEventId;
let queue = [];
let timer = 0;
let tokenRetried;
let visibleMs = 0;
// When the page last became visible (ms since navigation), or -1 while hidden.
let visibleSince = 0;
// Whether this browser may hold anything of ours in localStorage. The token
// cookie is set with the first answer, before anything is stored, so a
// browser without it has nothing there, and reading would only make the page
// wait for the storage to load.
let stored;

function guard(fn) {
  return function () {
    try {
      return fn.apply(this, arguments);
    } catch (error) {
      // Swallowed on purpose: a fault of ours must never reach the shop's console.
    }
  };
}

function read(key) {
  try {
    return stored ? localStorage.getItem(key) : null;
  } catch (error) {
    // Storage switched off: the widget works without it.
  }
}

function write(key, value) {
  stored = 1;
  try {
    if (value == null) localStorage.removeItem(key);
    else localStorage.setItem(key, value);
  } catch (error) {
    // Storage full or switched off: the widget works without it.
  }
}

function whenIdle(fn) {
  fn = guard(fn);
  const later = () =>
    win.requestIdleCallback ? requestIdleCallback(fn, { timeout: 2000 }) : setTimeout(fn, 9);
  // A document loads once: the listener needs no removing.
  if (doc.readyState == 'complete') later();
  else win.addEventListener('load', later);
}

// A string body goes as text/plain, which needs no CORS preflight; a beacon
// outlives the page while it is being torn down (and answers nothing: null).
function post(path, body, beacon) {
  const url = base + '/api/widget/v1/' + path;
  body = JSON.stringify(body);
  return beacon && navigator.sendBeacon(url, body)
    ? null
    : nativeFetch(url, { method: 'POST', body, keepalive: true }).then(
        // Only the page view's answer has a body (events: 202, none).
        (response) =>
          response.ok ? path == 'page' && response.json() : Promise.reject(response.status),
      );
}

// Loads a chunk, once the app has said which file it is, and hands it what it
// needs from here.
function run(name, method, ...args) {
  answerArrived
    .then(() => import(base + __REVISIT_CHUNK_PATH__ + answer.chunks[name] + '.js'))
    .then(
      guard((chunk) =>
        chunk[method](...args, {
          config,
          answer,
          message: answer.message,
          features: answer.features,
          track,
          guard,
          read,
          write,
        }),
      ),
      noop,
    );
}

function track(type, fields) {
  queue.push({ id: crypto.randomUUID(), type, at: new Date().toISOString(), url: location.href, ...fields });
  if (queue.length >= BATCH) flush();
  else timer = timer || setTimeout(guard(flush), 1000);
}

function flush(beacon) {
  clearTimeout(timer);
  timer = 0;
  // Events need the visitor's token; the answer to the page view brings it.
  while (token && queue.length) {
    const events = queue.splice(0, BATCH);
    post('events', { widget_key: config.widget_key, visitor_token: token, events }, beacon)?.catch(
      guard((status) => {
        // The token no longer verifies: get a fresh one, then send again (once).
        // The page view goes again under its first id, so it is counted once.
        if (status == 401 && !tokenRetried) {
          token = null;
          tokenRetried = true;
          queue = events.concat(queue);
          sendPage();
        }
      }),
    );
  }
}

function sendPage() {
  post('page', {
    widget_key: config.widget_key,
    // None yet: left out, which the API reads as null.
    visitor_token: token,
    page: {
      url: location.href,
      page_type: config.page_type,
      // A number or null, as the embed writes them; the API takes either.
      product_id: config.product_id,
      product_handle: config.product_handle,
      referrer: doc.referrer || null,
      title: doc.title,
    },
    locale: config.locale,
    event_id: pageEventId,
  }).then(
    guard((reply) => {
      answer = reply;
      answered();
      token = reply.visitor_token;
      // Set again with every answer, so that it lasts 400 days (the longest
      // Chromium keeps a cookie) from the last visit. No SameSite attribute:
      // nothing but this script reads it.
      doc.cookie = TOKEN_COOKIE + '=' + token + ';path=/;max-age=34560000';
      flush();
      // One idle callback for every chunk to show: each callback is a task.
      // (The app sends features with every answer.)
      const features = reply.features;
      whenIdle(() => {
        if (features.chat || features.game || features.binding) run('bubble', 'mount');
        if (features.binding) run('binding', 'start');
        if (reply.message) run('messages', 'mount');
        // A browser seen before may have a form addition to report, or a
        // cart never pictured here (taken then, once). A first visit has
        // neither stored; its first cart change is read from its request.
        if (stored && (read(FORM_KEY) || !read(CART_KEY))) cartChanged('seed');
      });
    }),
    noop,
  );
}

function visibleNow() {
  return visibleSince < 0 ? 0 : performance.now() - visibleSince;
}

function cartKind(url) {
  const match = CART_PATH.exec(new URL(url, location.href).pathname);
  return match?.[1];
}

function cartChanged(kind, body, reply) {
  run('cart', 'record', kind, body, reply);
}

// Themes change the cart by fetch, XMLHttpRequest or a plain form post. The
// wrappers only look: the theme's request, response and errors pass unchanged.
function watchCart() {
  win.fetch = function (input, init) {
    const reply = nativeFetch.apply(this, arguments);
    try {
      const kind = cartKind(input.url || input);
      if (kind && /post/i.test(init?.method || input.method)) {
        reply.then(
          guard((response) => response.ok && cartChanged(kind, init?.body, response.clone().text())),
          noop,
        );
      }
    } catch (error) {
      // Not a URL we understand, so not a cart change.
    }
    return reply;
  };

  const proto = XMLHttpRequest.prototype;
  const open = proto.open;
  const send = proto.send;
  proto.open = function (method, url) {
    this.revisitCart = guard(() => /post/i.test(method) && cartKind(url))();
    return open.apply(this, arguments);
  };
  proto.send = function (body) {
    if (this.revisitCart) {
      this.addEventListener(
        'load',
        guard(() => {
          if (this.status < 300) {
            cartChanged(this.revisitCart, body, this.responseType ? null : this.responseText);
          }
        }),
      );
    }
    return send.apply(this, arguments);
  };

  // A classic form post leaves the page: note the addition for the next page.
  win.addEventListener(
    'submit',
    guard((event) => {
      const form = event.target;
      if (!event.defaultPrevented && cartKind(form.getAttribute('action')) == 'add') {
        const fields = new FormData(form);
        write(FORM_KEY, JSON.stringify({ id: fields.get('id'), quantity: fields.get('quantity') }));
      }
    }),
  );
}

guard(() => {
  config = JSON.parse(doc.getElementById('revisit-config').textContent);
  // In the theme editor the merchant is previewing, not visiting.
  if (!config.app_url || !config.widget_key || config.design_mode) return;

  base = config.app_url.replace(/\/+$/, '');
  if (doc.hidden) visibleSince = -1;
  pageEventId = crypto.randomUUID();
  // Reading document.cookie makes the page wait for the browser; the Cookie
  // Store API, where there is one, does not. (The pattern names TOKEN_COOKIE.)
  (win.cookieStore
    ? cookieStore.get(TOKEN_COOKIE).then((found) => found?.value)
    : Promise.resolve(/(^|; )revisit_visitor=([^;]*)/.exec(doc.cookie)?.[2])
  ).then(
    guard((found) => {
      stored = token = found;
      sendPage();
    }),
    noop,
  );

  doc.addEventListener(
    'visibilitychange',
    guard(() => {
      if (doc.hidden) {
        visibleMs += visibleNow();
        visibleSince = -1;
        flush(true);
      } else {
        visibleSince = performance.now();
      }
    }),
  );
  win.addEventListener(
    'pagehide',
    guard(() => {
      track('page_leave', { seconds_on_page: Math.round((visibleMs + visibleNow()) / 1000) });
      flush(true);
    }),
  );
  // Back from the back/forward cache: the same document, a new page view.
  win.addEventListener(
    'pageshow',
    guard((event) => {
      if (event.persisted) {
        visibleMs = 0;
        visibleSince = performance.now();
        pageEventId = crypto.randomUUID();
        sendPage();
      }
    }),
  );
  watchCart();
})();
