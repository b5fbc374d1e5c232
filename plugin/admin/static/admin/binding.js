// The Binding screen's pop-up form: the shared form reading (Revisit.formBody)
// plus the ticked lists, sent as one PUT; a refusal lands at its field.
"use strict";

(function () {
  function ticked(form, list) {
    return Array.from(form.querySelectorAll('[data-list="' + list + '"]:checked')).map((box) => box.value);
  }

  async function save(event) {
    event.preventDefault();
    const form = event.target;
    const body = Revisit.formBody(form);
    body.page_types = ticked(form, "page_types");
    body.channels = ticked(form, "channels");
    // The texts are sent whole: a language left empty is dropped.
    body.texts = body.texts || {};
    const button = form.querySelector("[type=submit]");
    button.disabled = true;
    const result = await Revisit.api("PUT", "/api/admin/v1/binding/popup", body);
    button.disabled = false;
    if (!result.ok) return Revisit.refused(form, result);
    Revisit.clearErrors(form);
    Revisit.say(form.dataset.done);
    setTimeout(() => Revisit.navigate(window.location.href), 400);
  }

  document.addEventListener("DOMContentLoaded", () => {
    const form = document.getElementById("popup-form");
    if (form) form.addEventListener("submit", save);
  });
})();
