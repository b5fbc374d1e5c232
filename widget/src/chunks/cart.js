// Turns a cart change the theme made into add_to_cart / remove_from_cart
// events. The loader calls record() after the theme's request succeeded; this
// compares the cart now with the picture of it kept in localStorage (per line:
// product, variant, quantity) and reports each line that grew or shrank.
//
// Without a picture (storage switched off, or it could not be taken yet) only
// what the request itself says is reported: the lines an addition asked for.
// A change made in another tab between two pictures is folded into the next
// difference seen here.

const CART_KEY = 'revisit:cart';
const FORM_KEY = 'revisit:cart-form';

let pending = Promise.resolve();
// The picture for this page when storage is unavailable.
let memory = null;

function storeRoot() {
  const shopify = window.Shopify;
  return (shopify && shopify.routes && shopify.routes.root) || '/';
}

function parse(text) {
  try {
    return JSON.parse(text);
  } catch (error) {
    return null;
  }
}

function picture(cart) {
  const lines = {};
  for (const item of cart.items || []) {
    lines[item.key] = [String(item.product_id), String(item.variant_id), item.quantity];
  }
  return { token: cart.token, lines };
}

function summary(cart) {
  return {
    token: cart.token,
    // The Ajax Cart API counts money in the currency's hundredths.
    total_price: (cart.total_price / 100).toFixed(2),
    item_count: cart.item_count,
    currency: cart.currency,
  };
}

// The cart after the change: change.js, update.js and clear.js answer with it;
// add.js answers with the added lines only, so the cart is read afresh.
function currentCart(kind, replyText) {
  const cart = kind == 'add' || kind == 'seed' ? null : parse(replyText);
  if (cart && Array.isArray(cart.items)) return Promise.resolve(cart);
  return fetch(storeRoot() + 'cart.js', { credentials: 'same-origin' }).then((response) =>
    response.ok ? response.json() : Promise.reject(response.status),
  );
}

// The lines an addition asked for, from a form, URL-encoded or JSON body.
function requestedLines(body) {
  let fields = body;
  if (typeof body == 'string') fields = parse(body) || new URLSearchParams(body);
  if (!fields) return [];
  if (typeof fields.get == 'function') {
    return [{ id: fields.get('id'), quantity: fields.get('quantity') }];
  }
  return Array.isArray(fields.items) ? fields.items : [fields];
}

function differences(before, after) {
  const changes = [];
  const keys = new Set(Object.keys(before.lines).concat(Object.keys(after.lines)));
  for (const key of keys) {
    const [productId, variantId, was] = before.lines[key] || after.lines[key].slice(0, 2).concat(0);
    const now = after.lines[key] ? after.lines[key][2] : 0;
    if (now != was) {
      changes.push({ product_id: productId, variant_id: variantId, quantity: now - was });
    }
  }
  return changes;
}

function fromRequest(lines, after) {
  const changes = [];
  for (const line of lines) {
    const variantId = String(line.id);
    const key = Object.keys(after.lines).find((candidate) => after.lines[candidate][1] == variantId);
    if (key) {
      changes.push({
        product_id: after.lines[key][0],
        variant_id: variantId,
        quantity: Number(line.quantity) || 1,
      });
    }
  }
  return changes;
}

function stored(context) {
  const saved = parse(context.read(CART_KEY));
  return saved && saved.lines ? saved : memory;
}

function apply(kind, body, replyText, context) {
  const formLine = parse(context.read(FORM_KEY));
  context.write(FORM_KEY);

  return currentCart(kind, replyText).then((cart) => {
    const before = stored(context);
    const after = picture(cart);
    memory = after;
    context.write(CART_KEY, JSON.stringify(after));

    let changes;
    if (before && before.token == after.token) changes = differences(before, after);
    // A new cart token means a new cart: it started empty.
    else if (before) changes = differences({ lines: {} }, after);
    else if (kind == 'add') changes = fromRequest(requestedLines(body), after);
    else if (formLine) changes = fromRequest([formLine], after);
    else changes = [];

    // A cart without a token (never created) has nothing to link to.
    const cartFields = cart.token ? { cart: summary(cart) } : {};
    for (const change of changes) {
      const type = change.quantity > 0 ? 'add_to_cart' : 'remove_from_cart';
      change.quantity = Math.abs(change.quantity);
      context.track(type, Object.assign(change, cartFields));
      // The binding pop-up may be waiting for additions to the cart.
      if (type == 'add_to_cart') dispatchEvent(new CustomEvent('revisit:add-to-cart'));
    }
  });
}

// kind: "add", "change", "update" or "clear" after a theme request; "seed"
// to take the first picture, or to report a form addition from the last page.
export function record(kind, body, reply, context) {
  pending = pending
    .then(() => reply)
    .then((replyText) => apply(kind, body, replyText, context))
    .catch(() => {
      // The store answered oddly or went away; the next change tries again.
    });
  return pending;
}
