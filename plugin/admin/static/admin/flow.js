// The reminder flow editor: steps and their message parts, a live preview
// rendered by the server's own renderers, save, and "send a test to me".
"use strict";

(function () {
  const R = window.Revisit;
  const t = R.t;
  const PARTS = ["text", "carousel", "image", "buttons"];
  const CHANNELS = ["any", "line", "messenger"];
  const UNITS = ["minutes", "hours", "days"];
  const NO_THANKS = "revisit.reminders.no_thanks";
  let saved = null;
  let state = null;
  let previewIndex = 0;
  let previewTimer = null;
  let previewRun = 0;

  const $ = (id) => document.getElementById(id);
  const el = (tag, attrs, ...children) => {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (key === "text") node.textContent = value;
      else if (key in node && key !== "list") node[key] = value;
      else node.setAttribute(key, value === true ? "" : value);
    }
    children.flat().forEach((child) => child && node.append(child));
    return node;
  };

  function load(flow) {
    saved = JSON.parse(JSON.stringify(flow));
    state = JSON.parse(JSON.stringify(flow));
    state.steps = state.steps.map((step) => ({
      enabled: step.enabled, delay: step.delay, unit: step.unit, channel: step.channel,
      message: step.message, latest_minutes: step.latest_minutes,
    }));
    previewIndex = Math.min(previewIndex, state.steps.length - 1);
    renderSettings();
    renderSteps();
  }

  // --- settings ---------------------------------------------------------------
  function renderSettings() {
    $("flow-enabled").checked = state.enabled;
    $("abandonment").value = state.abandonment_minutes;
    $("attribution").value = state.attribution_days;
    $("cap").value = state.frequency_cap;
    $("cap-window").value = state.frequency_window_hours;
    $("quiet-on").checked = state.quiet_hours !== null;
    $("quiet-start").value = state.quiet_hours ? state.quiet_hours.start : "22:00";
    $("quiet-end").value = state.quiet_hours ? state.quiet_hours.end : "09:00";
    $("cost-line").value = state.message_costs.line || "0";
    $("cost-messenger").value = state.message_costs.messenger || "0";
    $("channel-order").value = state.channel_order.join(",");
    syncQuiet();
  }

  function syncQuiet() {
    const on = $("quiet-on").checked;
    $("quiet-start").disabled = !on;
    $("quiet-end").disabled = !on;
  }

  function number(value) {
    return value === "" ? null : Number(value);
  }

  function readSettings() {
    state.enabled = $("flow-enabled").checked;
    state.abandonment_minutes = number($("abandonment").value);
    state.attribution_days = number($("attribution").value);
    state.frequency_cap = number($("cap").value);
    state.frequency_window_hours = number($("cap-window").value);
    state.quiet_hours = $("quiet-on").checked ? { start: $("quiet-start").value, end: $("quiet-end").value } : null;
    state.message_costs = { line: $("cost-line").value.trim(), messenger: $("cost-messenger").value.trim() };
    state.channel_order = $("channel-order").value.split(",");
  }

  // --- steps ------------------------------------------------------------------
  function renderSteps() {
    const list = $("steps");
    list.replaceChildren(...state.steps.map(stepNode));
    $("add-step").disabled = state.steps.length >= saved.max_steps;
    const picker = $("preview-step");
    picker.replaceChildren(...state.steps.map((_, i) => el("option", { value: String(i), text: t("js.flow.step", { n: i + 1 }) })));
    picker.value = String(previewIndex);
    updateTimings();
    schedulePreview();
  }

  function stepNode(step, i) {
    const f = (name) => "steps[" + i + "]." + name;
    const node = el("li", { className: "step" + (step.enabled ? "" : " off"), "data-index": String(i), "data-field": "steps[" + i + "]" },
      el("header", {},
        el("h3", { text: t("js.flow.step", { n: i + 1 }) }),
        el("label", { className: "check" }, el("input", { type: "checkbox", checked: step.enabled, "data-bind": "enabled", "aria-label": t("js.flow.step_on", { n: i + 1 }) }), t("js.flow.on")),
        el("button", { type: "button", className: "secondary", "data-act": "up", disabled: i === 0, "aria-label": t("js.flow.step_up", { n: i + 1 }), text: "↑" }),
        el("button", { type: "button", className: "secondary", "data-act": "down", disabled: i === state.steps.length - 1, "aria-label": t("js.flow.step_down", { n: i + 1 }), text: "↓" }),
        el("button", { type: "button", className: "secondary", "data-act": "remove", disabled: state.steps.length === 1, text: t("js.flow.remove") })),
      el("div", { className: "row" },
        el("div", { className: "field" }, el("label", { for: "delay-" + i, text: i === 0 ? t("js.flow.wait_first") : t("js.flow.wait_after", { n: i }) }),
          el("input", { type: "number", id: "delay-" + i, value: String(step.delay), "data-bind": "delay", "data-field": f("delay") })),
        el("div", { className: "field" }, el("label", { for: "unit-" + i, text: t("js.flow.unit") }),
          el("select", { id: "unit-" + i, "data-bind": "unit", "data-field": f("unit") },
            UNITS.map((unit) => el("option", { value: unit, text: t("js.flow.unit." + unit), selected: unit === step.unit })))),
        el("div", { className: "field" }, el("label", { for: "channel-" + i, text: t("js.flow.channel") }),
          el("select", { id: "channel-" + i, "data-bind": "channel", "data-field": f("channel") },
            CHANNELS.map((value) => el("option", { value, text: t("js.flow.channel." + value), selected: value === step.channel }))))),
      el("p", { className: "hint", "data-timing": String(i) }),
      el("ol", { className: "parts", "data-field": f("message") }, step.message.map((part, j) => partNode(part, i, j, step.message.length))),
      el("div", { className: "row" },
        el("div", { className: "field" }, el("label", { for: "add-part-" + i, text: t("js.flow.add_part") }),
          el("select", { id: "add-part-" + i, "data-act": "add-part", disabled: step.message.length >= 5 },
            el("option", { value: "", text: t("js.flow.choose") }),
            PARTS.map((value) => el("option", { value, text: t("js.flow.part." + value) })))),
        el("div", {}, el("button", { type: "button", className: "secondary", "data-act": "preview", text: t("js.flow.preview_step") }))));
    return node;
  }

  function partNode(part, i, j, count) {
    const f = (name) => "steps[" + i + "].message[" + j + "]" + (name ? "." + name : "");
    const input = (name, label, attrs) => {
      const multiline = Boolean(attrs && attrs.multiline);
      const props = Object.assign({ id: "p-" + i + "-" + j + "-" + name, value: part[name] || "", "data-part": name, "data-field": f(name) },
        multiline ? {} : { type: "text" }, attrs || {}, { multiline: undefined });
      return el("div", { className: "field" },
        el("label", { for: "p-" + i + "-" + j + "-" + name, text: label }),
        el(multiline ? "textarea" : "input", props));
    };
    const body = [];
    if (part.type === "text") {
      body.push(input("text", t("js.flow.part.text"), { multiline: true }), variablesHint());
    } else if (part.type === "carousel") {
      body.push(el("p", { className: "hint", text: t("js.flow.carousel_hint") }),
        el("div", { className: "row" }, input("button_label", t("js.flow.button_label"), { placeholder: t("js.flow.default_button") }), input("alt_text", t("js.flow.alt_text"), { placeholder: t("js.flow.alt_text_placeholder") })));
    } else if (part.type === "image") {
      body.push(input("url", t("js.flow.image_url"), { type: "url", placeholder: "https://…/picture.jpg" }));
    } else if (part.type === "buttons") {
      body.push(input("text", t("js.flow.question"), { multiline: true }), variablesHint(), el("div", { "data-field": f("options") },
        (part.options || []).map((option, k) => optionNode(option, i, j, k)),
        el("button", { type: "button", className: "secondary", "data-act": "add-option", text: t("js.flow.add_button") })));
    }
    return el("li", { className: "part", "data-part-index": String(j), "data-field": f("") },
      el("header", {},
        el("strong", { text: PARTS.includes(part.type) ? t("js.flow.part." + part.type) : part.type }),
        el("button", { type: "button", className: "secondary", "data-act": "part-up", disabled: j === 0, "aria-label": t("js.flow.part_up"), text: "↑" }),
        el("button", { type: "button", className: "secondary", "data-act": "part-down", disabled: j === count - 1, "aria-label": t("js.flow.part_down"), text: "↓" }),
        el("button", { type: "button", className: "secondary", "data-act": "part-remove", disabled: count === 1, text: t("js.flow.remove") })),
      body);
  }

  function optionNode(option, i, j, k) {
    const f = "steps[" + i + "].message[" + j + "].options[" + k + "]";
    const kind = option.postback === NO_THANKS ? "no_thanks" : option.postback ? "reply" : "link";
    return el("div", { className: "option", "data-option": String(k), "data-field": f },
      el("input", { type: "text", value: option.label || "", "data-option-part": "label", "aria-label": t("js.flow.button_label"), placeholder: t("js.flow.label"), "data-field": f + ".label" }),
      el("select", { "data-option-part": "kind", "aria-label": t("js.flow.button_kind") },
        el("option", { value: "link", text: t("js.flow.opens_checkout"), selected: kind === "link" }),
        el("option", { value: "no_thanks", text: t("js.flow.no_thanks"), selected: kind === "no_thanks" })),
      el("button", { type: "button", className: "secondary", "data-act": "remove-option", text: "×", "aria-label": t("js.flow.remove_button") }));
  }

  function variablesHint() {
    const names = JSON.parse($("flow-variables").textContent);
    return el("p", { className: "hint", text: t("js.flow.variables", { names: names.map((n) => "{" + n + "}").join(" ") }) });
  }

  function newPart(type) {
    if (type === "text") return { type: "text", text: "" };
    if (type === "image") return { type: "image", url: "", preview_url: null };
    if (type === "buttons") return { type: "buttons", text: "", options: [{ label: t("js.flow.default_button"), url: "{checkout_url}", postback: null }] };
    return { type: "carousel" };
  }

  function minutesOf(step) {
    return step.delay * { minutes: 1, hours: 60, days: 1440 }[step.unit];
  }

  function updateTimings() {
    let elapsed = state.abandonment_minutes || 0;
    state.steps.forEach((step, i) => {
      const hint = document.querySelector('[data-timing="' + i + '"]');
      if (!hint) return;
      if (!step.enabled) { hint.textContent = t("js.flow.skipped"); return; }
      elapsed += minutesOf(step) || 0;
      const hours = elapsed / 60;
      const after = hours >= 48 ? t("js.flow.days", { n: (hours / 24).toFixed(1) }) : t("js.flow.hours", { n: hours.toFixed(1) });
      hint.textContent = t("js.flow.goes_out", { after });
    });
  }

  // --- editing ----------------------------------------------------------------
  function onInput(event) {
    const target = event.target;
    if (target.closest("#flow-settings")) {
      if (target.id === "quiet-on") syncQuiet();
      readSettings();
      updateTimings();
      return;
    }
    const stepNodeEl = target.closest(".step");
    if (!stepNodeEl) return;
    const i = Number(stepNodeEl.dataset.index);
    const step = state.steps[i];
    if (target.dataset.bind) {
      const bind = target.dataset.bind;
      step[bind] = bind === "enabled" ? target.checked : bind === "delay" ? number(target.value) : target.value;
      if (bind === "enabled") stepNodeEl.classList.toggle("off", !target.checked);
    }
    const partEl = target.closest(".part");
    if (partEl) {
      const part = step.message[Number(partEl.dataset.partIndex)];
      if (target.dataset.part) {
        part[target.dataset.part] = target.value;
        if (target.dataset.part !== "text" && target.value === "") delete part[target.dataset.part];
      }
      const optionEl = target.closest("[data-option]");
      if (optionEl) {
        const option = part.options[Number(optionEl.dataset.option)];
        if (target.dataset.optionPart === "label") option.label = target.value;
        if (target.dataset.optionPart === "kind") {
          option.url = target.value === "link" ? "{checkout_url}" : null;
          option.postback = target.value === "no_thanks" ? NO_THANKS : null;
        }
      }
    }
    if (target.dataset.act === "add-part") {
      if (event.type === "change" && target.value) {
        step.message.push(newPart(target.value));
        renderSteps();
      }
      return;
    }
    if (i === previewIndex || target.dataset.bind) previewIndex = i;
    updateTimings();
    schedulePreview();
  }

  function move(list, from, to) {
    const [item] = list.splice(from, 1);
    list.splice(to, 0, item);
  }

  function onClick(event) {
    const button = event.target.closest("button[data-act]");
    if (!button) return;
    const stepEl = button.closest(".step");
    const i = Number(stepEl.dataset.index);
    const step = state.steps[i];
    const partEl = button.closest(".part");
    const j = partEl ? Number(partEl.dataset.partIndex) : -1;
    const act = button.dataset.act;
    if (act === "up") { move(state.steps, i, i - 1); previewIndex = i - 1; }
    if (act === "down") { move(state.steps, i, i + 1); previewIndex = i + 1; }
    if (act === "remove") { state.steps.splice(i, 1); previewIndex = Math.max(0, Math.min(previewIndex, state.steps.length - 1)); }
    if (act === "preview") { previewIndex = i; }
    if (act === "part-up") move(step.message, j, j - 1);
    if (act === "part-down") move(step.message, j, j + 1);
    if (act === "part-remove") step.message.splice(j, 1);
    if (act === "add-option") step.message[j].options.push({ label: "", url: "{checkout_url}", postback: null });
    if (act === "remove-option") step.message[j].options.splice(Number(button.closest("[data-option]").dataset.option), 1);
    renderSteps();
  }

  function addStep() {
    const last = state.steps[state.steps.length - 1];
    state.steps.push({
      enabled: true, delay: 1, unit: "hours", channel: last ? last.channel : "any",
      message: [{ type: "text", text: t("js.flow.default_text") }, { type: "carousel" }],
      latest_minutes: null,
    });
    previewIndex = state.steps.length - 1;
    renderSteps();
  }

  function cleanStep(step) {
    return {
      enabled: step.enabled, delay: step.delay, unit: step.unit, channel: step.channel,
      latest_minutes: step.latest_minutes === undefined ? null : step.latest_minutes,
      message: step.message.map((part) => {
        const copy = { type: part.type };
        for (const key of ["text", "url", "preview_url", "button_label", "alt_text"]) {
          if (part[key] !== undefined && (part[key] !== null || key === "preview_url")) copy[key] = part[key];
        }
        if (part.type === "image" && copy.preview_url === undefined) copy.preview_url = null;
        if (part.type !== "image") delete copy.preview_url;
        if (part.type === "buttons") copy.options = (part.options || []).map((o) => ({ label: o.label, url: o.url, postback: o.postback }));
        return copy;
      }),
    };
  }

  async function save() {
    readSettings();
    const editor = $("flow-editor");
    R.clearErrors(editor);
    const body = {
      enabled: state.enabled, abandonment_minutes: state.abandonment_minutes, attribution_days: state.attribution_days,
      frequency_cap: state.frequency_cap, frequency_window_hours: state.frequency_window_hours,
      quiet_hours: state.quiet_hours, message_costs: state.message_costs, channel_order: state.channel_order,
      steps: state.steps.map(cleanStep),
    };
    $("save-flow").disabled = true;
    const result = await R.api("PUT", "/api/admin/v1/flow", body);
    $("save-flow").disabled = false;
    if (!result.ok) return R.refused(editor, result);
    load(result.data);
    R.say(t("js.flow.saved"));
  }

  // --- preview and test -------------------------------------------------------
  function schedulePreview() {
    clearTimeout(previewTimer);
    previewTimer = setTimeout(preview, 350);
  }

  function previewBody() {
    const cart = $("preview-cart").value;
    return { step: cleanStep(state.steps[previewIndex]), cart_id: cart === "" ? null : Number(cart) };
  }

  async function preview() {
    if (!state.steps.length) return;
    const run = ++previewRun;
    $("preview-step").value = String(previewIndex);
    const result = await R.api("POST", "/api/admin/v1/flow/preview", previewBody());
    if (run !== previewRun) return;
    const box = $("preview");
    const editor = $("steps");
    editor.querySelectorAll('.field-error[data-error-for^="steps[' + previewIndex + ']"]').forEach((n) => n.remove());
    if (!result.ok) {
      box.replaceChildren(el("p", { className: "refused", text: (result.data && result.data.detail) || t("js.flow.no_preview") }));
      if (result.data && result.data.field) R.showError(editor, stepField(result.data.field), result.data.detail);
      return;
    }
    $("preview-note").textContent = t("js.flow.rendered_with", { cart: result.data.cart_label });
    box.replaceChildren(...result.data.renderings.map((rendering) => {
      const title = rendering.channel === "line" ? "LINE" : "Messenger";
      if (rendering.error) {
        R.showError(editor, stepField(rendering.field || "step.message"), rendering.error);
        return el("div", { "data-rendering": rendering.channel }, el("h3", { text: title }), el("p", { className: "refused", text: rendering.error }));
      }
      return el("div", { "data-rendering": rendering.channel }, el("h3", { text: title }),
        el("iframe", { title: t("js.flow.preview_of", { channel: title }), src: rendering.url, sandbox: "" }));
    }));
  }

  function stepField(field) {
    return field.replace(/^step\./, "steps[" + previewIndex + "].");
  }

  async function sendTest() {
    const button = $("send-test");
    button.disabled = true;
    const result = await R.api("POST", "/api/admin/v1/flow/test", previewBody());
    button.disabled = false;
    if (!result.ok) {
      R.say((result.data && result.data.detail) || t("js.flow.test_failed"), true);
      return;
    }
    const channel = result.data.channel === "line" ? "LINE" : "Messenger";
    const key = result.data.delivered_to === "sandbox" ? "js.flow.test_sandbox" : "js.flow.test_sent";
    R.say(t(key, { n: previewIndex + 1, channel }));
  }

  document.addEventListener("DOMContentLoaded", () => {
    load(JSON.parse($("flow-data").textContent));
    const editor = $("flow-editor");
    editor.addEventListener("input", onInput);
    editor.addEventListener("change", onInput);
    $("steps").addEventListener("click", onClick);
    $("add-step").addEventListener("click", addStep);
    $("save-flow").addEventListener("click", save);
    $("reset-flow").addEventListener("click", () => { load(saved); R.clearErrors(editor); R.say(t("js.flow.undone")); });
    $("preview-step").addEventListener("change", (e) => { previewIndex = Number(e.target.value); schedulePreview(); });
    $("preview-cart").addEventListener("change", schedulePreview);
    $("send-test").addEventListener("click", sendTest);
  });
})();
