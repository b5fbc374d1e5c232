// The Channels screen: the weekly opening hours, sent as one list of
// [opens, closes] per day, and the storefront addresses, the store's own
// listed and the others in the form.
"use strict";

(function () {
  async function saveOpeningHours(event) {
    event.preventDefault();
    const form = event.target;
    const weekly = [0, 1, 2, 3, 4, 5, 6].map((day) => {
      if (form.querySelector('[data-closed="' + day + '"]').checked) return [];
      const edge = (n) => form.querySelector('[data-day="' + day + '"][data-edge="' + n + '"]').value;
      return [[edge(0), edge(1)]];
    });
    const timezone = document.getElementById("timezone").value.trim() || null;
    const result = await Revisit.api("PUT", "/api/admin/v1/channels/schedule", { timezone, opening_hours: weekly });
    if (!result.ok) return Revisit.refused(form, result);
    Revisit.clearErrors(form);
    Revisit.say(form.dataset.done);
  }

  async function loadStorefronts() {
    const result = await Revisit.api("GET", "/api/admin/v1/storefront-origins");
    if (!result.ok) return;
    const list = document.getElementById("store-origins");
    for (const origin of [result.data.shop_origin, ...result.data.store_origins]) {
      const item = document.createElement("li");
      item.appendChild(document.createElement("code")).textContent = origin;
      list.appendChild(item);
    }
    document.getElementById("storefront-origins").value = result.data.origins.join("\n");
  }

  document.addEventListener("DOMContentLoaded", () => {
    document.getElementById("schedule-form").addEventListener("submit", saveOpeningHours);
    document.getElementById("storefronts-form").addEventListener("api:done", (event) => {
      document.getElementById("storefront-origins").value = event.detail.origins.join("\n");
    });
    loadStorefronts();
  });
})();
