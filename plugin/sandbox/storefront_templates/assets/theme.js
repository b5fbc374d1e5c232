// Demo Pet Supply theme script. Updates the cart without reloading the page,
// the way most themes do: fetch() for "Add to cart" on product pages,
// XMLHttpRequest for the quantity buttons on the cart page (older themes
// still use jQuery's XHR). Collection pages keep plain form posts.
(function () {
  'use strict';
  var root = window.Shopify.routes.root;

  function money(cents) {
    return window.Shopify.currency.active + ' ' + Math.round(cents / 100).toLocaleString('en');
  }

  function showCount(count) {
    document.querySelectorAll('[data-cart-count]').forEach(function (node) {
      node.textContent = count;
    });
  }

  function readJson(response) {
    return response.json().then(function (body) {
      if (!response.ok) throw new Error(body.description || 'Cart error');
      return body;
    });
  }

  document.addEventListener('submit', function (event) {
    var form = event.target.closest('[data-product-form]');
    if (!form) return;
    event.preventDefault();
    var fields = new FormData(form);
    var status = form.querySelector('[data-cart-status]');
    var item = { id: Number(fields.get('id')), quantity: Number(fields.get('quantity') || 1) };
    fetch(root + 'cart/add.js', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify({ items: [item] })
    })
      .then(readJson)
      .then(function () {
        return fetch(root + 'cart.js').then(readJson);
      })
      .then(function (cart) {
        showCount(cart.item_count);
        status.textContent = 'Added to your cart.';
      })
      .catch(function (error) {
        status.textContent = 'Could not add to your cart: ' + error.message;
      });
  });

  function showCart(cart) {
    showCount(cart.item_count);
    var byKey = {};
    cart.items.forEach(function (line) {
      byKey[line.key] = line;
    });
    document.querySelectorAll('[data-line]').forEach(function (row) {
      var line = byKey[row.getAttribute('data-line')];
      if (!line) {
        row.remove();
        return;
      }
      row.querySelector('[data-quantity]').textContent = line.quantity;
      row.querySelector('[data-line-price]').textContent = money(line.line_price);
      var buttons = row.querySelectorAll('[data-line-quantity]');
      buttons[0].setAttribute('data-line-quantity', line.quantity - 1);
      buttons[1].setAttribute('data-line-quantity', line.quantity + 1);
    });
    var total = document.querySelector('[data-cart-total]');
    if (total) total.textContent = money(cart.total_price);
    document.querySelector('[data-cart-empty]').hidden = cart.item_count > 0;
  }

  document.addEventListener('click', function (event) {
    var button = event.target.closest('[data-line-quantity]');
    if (!button) return;
    var key = button.closest('[data-line]').getAttribute('data-line');
    var request = new XMLHttpRequest();
    request.open('POST', root + 'cart/change.js');
    request.setRequestHeader('Content-Type', 'application/x-www-form-urlencoded');
    request.onload = function () {
      if (request.status === 200) showCart(JSON.parse(request.responseText));
    };
    request.send(
      'id=' + encodeURIComponent(key) + '&quantity=' + button.getAttribute('data-line-quantity')
    );
  });
})();
