// The panel's shared script: API calls with the right credentials, errors
// shown at their field, forms sent as JSON, links inside the store admin, and
// the page's texts in the viewer's language.
"use strict";

(function () {
  const embedded = document.body.dataset.embedded === "1";
  let texts = null;

  // The texts the page's scripts use, from its JSON blocks (<script
  // type="application/json" data-texts>): a {name} is filled from values,
  // any other brace ({first_name|there}) stays.
  function t(key, values) {
    if (texts === null) {
      texts = {};
      for (const block of document.querySelectorAll("script[data-texts]")) {
        Object.assign(texts, JSON.parse(block.textContent));
      }
    }
    const text = key in texts ? texts[key] : key;
    return text.replace(/\{([a-z_]+)\}/g, (whole, name) =>
      values && name in values ? String(values[name]) : whole);
  }

  // Inside the store admin every call carries a fresh session token from
  // App Bridge; outside it the session cookie goes along, with the CSRF token.
  async function credentials() {
    if (embedded) {
      return { Authorization: "Bearer " + (await window.shopify.idToken()) };
    }
    const meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? { "X-CSRF-Token": meta.content } : {};
  }

  async function api(method, path, body) {
    // The page's language, so what the API writes for the panel matches it.
    const headers = Object.assign(
      { Accept: "application/json", "Accept-Language": document.documentElement.lang || "en" },
      body === undefined ? {} : { "Content-Type": "application/json" },
      await credentials()
    );
    let response;
    try {
      response = await fetch(path, {
        method,
        headers,
        credentials: "same-origin",
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (failure) {
      return { ok: false, status: 0, data: { detail: t("js.panel.unreachable"), code: "network" } };
    }
    let data = null;
    if (response.status !== 204) {
      const type = response.headers.get("Content-Type") || "";
      data = type.includes("json") ? await response.json() : await response.text();
    }
    if (response.status === 401 && data && data.code === "session_expired") {
      window.location.reload();
    }
    return { ok: response.ok, status: response.status, data };
  }

  function say(text, isError) {
    const status = document.getElementById("status");
    if (!status) return;
    status.textContent = text;
    status.classList.toggle("error", Boolean(isError));
    clearTimeout(say.timer);
    say.timer = setTimeout(() => { status.textContent = ""; }, isError ? 8000 : 3000);
  }

  function clearErrors(root) {
    root.querySelectorAll(".field-error").forEach((node) => node.remove());
    root.querySelectorAll("[aria-invalid]").forEach((node) => node.removeAttribute("aria-invalid"));
  }

  // The element for a field path the API names ("steps[1].delay_minutes"),
  // trying the path, then its shorter parents, so a message always lands near.
  function fieldElement(root, field) {
    const aliases = [field, field.replace(/\.delay_minutes$/, ".delay")];
    let path = field;
    while (path.includes(".") || path.includes("[")) {
      path = path.replace(/(\.[^.[\]]*|\[\d+\])$/, "");
      aliases.push(path);
    }
    for (const name of aliases) {
      const found = root.querySelector('[data-field="' + CSS.escape(name) + '"]');
      if (found) return found;
    }
    return null;
  }

  function showError(root, field, detail) {
    const target = (field && fieldElement(root, field)) || root.querySelector("[data-errors]") || root;
    const message = document.createElement("p");
    message.className = "field-error";
    message.setAttribute("role", "alert");
    message.dataset.errorFor = field || "";
    message.textContent = detail;
    if (target.matches("input,select,textarea")) {
      target.setAttribute("aria-invalid", "true");
      const id = "error-" + Math.random().toString(36).slice(2);
      message.id = id;
      target.setAttribute("aria-describedby", id);
      target.insertAdjacentElement("afterend", message);
      target.focus({ preventScroll: false });
    } else {
      target.appendChild(message);
      target.scrollIntoView({ block: "center" });
    }
  }

  function refused(root, result) {
    clearErrors(root);
    const data = result.data || {};
    showError(root, data.field, data.detail || t("js.panel.refused_status", { status: result.status }));
    say(t("js.panel.not_saved", { detail: data.detail || t("js.panel.refused") }), true);
  }

  // <form data-api="PUT /api/admin/v1/..."> sends its fields as JSON:
  // data-type="int|bool|lines|nullable" on an input shapes its value.
  function formBody(form) {
    const body = {};
    for (const input of form.querySelectorAll("[name]")) {
      if (input.disabled || input.name === "csrf_token") continue;
      const type = input.dataset.type || "";
      let value = input.type === "checkbox" ? input.checked : input.value;
      if (type === "int") value = value === "" ? null : Number(value);
      if (type === "lines") value = value.split("\n").map((line) => line.trim()).filter(Boolean);
      if (type === "nullable" && value === "") value = null;
      if (type === "skip-empty" && value === "") continue;
      if (type === "datetime") value = value === "" ? null : new Date(value).toISOString();
      setPath(body, input.name, value);
    }
    return body;
  }

  function setPath(target, path, value) {
    const keys = path.split(".");
    let node = target;
    keys.slice(0, -1).forEach((key) => { node = node[key] = node[key] || {}; });
    node[keys[keys.length - 1]] = value;
  }

  function bindApiForms() {
    for (const form of document.querySelectorAll("form[data-api]")) {
      form.addEventListener("submit", async (event) => {
        event.preventDefault();
        const [method, path] = form.dataset.api.split(" ");
        if (form.dataset.confirm && !window.confirm(form.dataset.confirm)) return;
        const body = method === "DELETE" ? undefined : formBody(form);
        const button = form.querySelector("[type=submit]");
        if (button) button.disabled = true;
        const result = await api(method, path, body);
        if (button) button.disabled = false;
        if (!result.ok) return refused(form, result);
        clearErrors(form);
        say(form.dataset.done || t("js.panel.saved"));
        form.dispatchEvent(new CustomEvent("api:done", { detail: result.data }));
        if (form.dataset.reload !== undefined) setTimeout(() => navigate(window.location.href), 400);
      });
    }
  }

  // Inside the store admin a page load needs a fresh id_token in its query.
  async function navigate(href) {
    if (!embedded) return window.location.assign(href);
    const url = new URL(href, window.location.href);
    url.searchParams.set("id_token", await window.shopify.idToken());
    window.location.assign(url.toString());
  }

  function bindLinks() {
    if (!embedded) return;
    document.addEventListener("click", (event) => {
      const link = event.target.closest("a[data-panel-link]");
      if (!link || event.metaKey || event.ctrlKey) return;
      event.preventDefault();
      navigate(link.href);
    });
  }

  // Downloads inside the store admin go through fetch, with the token.
  function bindDownloads() {
    document.addEventListener("click", async (event) => {
      const link = event.target.closest("a[data-download]");
      if (!link || !embedded) return;
      event.preventDefault();
      const response = await fetch(link.href, { headers: await credentials() });
      const blob = await response.blob();
      const url = URL.createObjectURL(blob);
      const anchor = document.createElement("a");
      anchor.href = url;
      anchor.download = link.dataset.download;
      anchor.click();
      URL.revokeObjectURL(url);
    });
  }

  // Times are stored in UTC; the browser shows and reads them in its own zone.
  function fillLocalTimes() {
    for (const input of document.querySelectorAll("input[type=datetime-local][data-utc]")) {
      if (!input.dataset.utc) continue;
      const moment = new Date(input.dataset.utc);
      const local = new Date(moment.getTime() - moment.getTimezoneOffset() * 60000);
      input.value = local.toISOString().slice(0, 16);
    }
  }

  window.Revisit = { api, say, clearErrors, showError, refused, formBody, navigate, embedded, t };
  document.addEventListener("DOMContentLoaded", () => {
    fillLocalTimes();
    bindApiForms();
    bindLinks();
    bindDownloads();
  });
})();
