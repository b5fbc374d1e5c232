// The Bonus game screen's campaign form: the shared form reading
// (Revisit.formBody) plus the rows of target pages, added and removed here
// and sent as one list; a refusal lands at its field ("targets[1].reward").
"use strict";

(function () {
  // Rows are numbered as the API names them, so an error finds its input.
  function renumber(list) {
    Array.from(list.children).forEach((row, index) => {
      row.dataset.field = "targets[" + index + "]";
      for (const input of row.querySelectorAll("[data-part]")) {
        input.dataset.field = "targets[" + index + "]." + input.dataset.part;
        input.id = "target-" + index + "-" + input.dataset.part;
        const label = input.closest(".field").querySelector("label");
        if (label) label.htmlFor = input.id;
      }
    });
    const add = document.getElementById("add-target");
    if (add) add.disabled = list.children.length >= Number(list.dataset.max);
  }

  function addRow(list) {
    const template = document.getElementById("target-template");
    const row = template.content.firstElementChild.cloneNode(true);
    list.appendChild(row);
    renumber(list);
    row.querySelector('[data-part="value"]').focus();
  }

  // A saved page is named by its id: only its reward can change.
  function targets(list) {
    return Array.from(list.children).map((row) => {
      const part = (name) => row.querySelector('[data-part="' + name + '"]').value.trim();
      if (row.dataset.targetId) {
        return { id: Number(row.dataset.targetId), reward: part("reward") };
      }
      return { kind: part("kind"), value: part("value"), reward: part("reward") };
    });
  }

  // Inside a narrow row the sentence would wrap word by word: it goes under
  // the whole row instead, still described by the input.
  function underItsRow(form) {
    const error = form.querySelector(".target-row .field .field-error");
    if (error) error.closest(".target-row").appendChild(error);
  }

  // The list's times, shown in this browser's zone like the form's inputs.
  function localTimes() {
    const pad = (number) => String(number).padStart(2, "0");
    for (const node of document.querySelectorAll("time[data-local]")) {
      const moment = new Date(node.dateTime);
      node.textContent = moment.getFullYear() + "-" + pad(moment.getMonth() + 1) + "-" +
        pad(moment.getDate()) + " " + pad(moment.getHours()) + ":" + pad(moment.getMinutes());
    }
  }

  // Each campaign's colour: set through the CSSOM, which the page's
  // Content-Security-Policy allows where a style attribute would be refused.
  function paintSwatches() {
    for (const swatch of document.querySelectorAll(".swatch[data-color]")) {
      swatch.style.backgroundColor = swatch.dataset.color;
    }
  }

  async function save(event) {
    event.preventDefault();
    const form = event.target;
    const body = Revisit.formBody(form);
    body.targets = targets(form.querySelector("#targets"));
    // The look is sent whole: a label left empty is dropped.
    body.look = body.look || {};
    body.look.texts = body.look.texts || {};
    const button = form.querySelector("[type=submit]");
    button.disabled = true;
    const result = await Revisit.api(form.dataset.method, form.dataset.path, body);
    button.disabled = false;
    if (!result.ok) {
      Revisit.refused(form, result);
      return underItsRow(form);
    }
    Revisit.clearErrors(form);
    Revisit.say(form.dataset.done);
    const next = new URL(window.location.href);
    next.searchParams.delete("new");
    next.searchParams.delete("id_token");
    next.searchParams.set("campaign", result.data.id);
    setTimeout(() => Revisit.navigate(next.toString()), 400);
  }

  document.addEventListener("DOMContentLoaded", () => {
    localTimes();
    paintSwatches();
    const form = document.getElementById("campaign-form");
    if (!form) return;
    const list = form.querySelector("#targets");
    form.addEventListener("submit", save);
    document.getElementById("add-target").addEventListener("click", () => addRow(list));
    list.addEventListener("click", (event) => {
      const remove = event.target.closest("[data-remove-target]");
      if (!remove) return;
      remove.closest(".target-row").remove();
      renumber(list);
    });
    renumber(list);
  });
})();
