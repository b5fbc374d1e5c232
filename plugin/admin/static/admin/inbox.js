// The Inbox: the queues and their list, one conversation with its reply box,
// the shopper's sidebar, kept live by the shop's chat events.
//
// Names, messages, pages and carts come from shoppers: every text goes into
// the page as text (el() makes text nodes, or textContent), never as markup,
// and only http(s) addresses become links.
"use strict";

(function () {
  const API = "/api/admin/v1/inbox";
  const t = Revisit.t;
  const REASONS = ["assigned", "handed_over", "no_reply"];
  const RECONNECT_MS = 2000;
  const LIST_DELAY_MS = 250;

  let boot;
  const state = {
    queue: "team",
    status: "open",
    rows: [],
    nextCursor: null,
    open: null, // the open conversation (ConversationSchema)
    lastSeq: 0,
    readSeq: 0,
    reminders: new Set(),
    clientId: null,
    stream: null,
    streamFailures: 0,
  };
  let listTicket = 0;
  let openTicket = 0;
  let listTimer = null;
  let countdown = null;

  const $ = (id) => document.getElementById(id);

  // --- building the page from untrusted text -------------------------------

  function el(tag, props, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "dataset") Object.assign(node.dataset, value);
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children.flat(Infinity)) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function safeUrl(address) {
    try {
      const url = new URL(address, window.location.href);
      return url.protocol === "https:" || url.protocol === "http:" ? url.href : null;
    } catch (failure) {
      return null;
    }
  }

  function link(address, text) {
    const href = safeUrl(address);
    return href ? el("a", { href, target: "_blank", rel: "noopener noreferrer" }, text) : text;
  }

  function pad(number) {
    return String(number).padStart(2, "0");
  }

  // Today's times as 14:05, older ones with their date.
  function when(moment) {
    if (!moment) return "";
    const date = new Date(moment);
    const clock = pad(date.getHours()) + ":" + pad(date.getMinutes());
    if (date.toDateString() === new Date().toDateString()) return clock;
    return date.getFullYear() + "-" + pad(date.getMonth() + 1) + "-" + pad(date.getDate()) + " " + clock;
  }

  function time(moment) {
    return moment ? el("time", { datetime: moment }, when(moment)) : null;
  }

  function channelName(channel) {
    return boot.channels[channel] || channel;
  }

  function badge(channel) {
    return el("span", { class: "badge " + channel }, channelName(channel));
  }

  function statusName(status) {
    return t("inbox.status." + status);
  }

  function tagChip(tag) {
    const chip = el("span", { class: "tag" }, tag.name);
    chip.style.setProperty("--tag", tag.color);
    return chip;
  }

  function uuid() {
    const bytes = crypto.getRandomValues(new Uint8Array(16));
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    const hex = Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
    return hex.slice(0, 8) + "-" + hex.slice(8, 12) + "-" + hex.slice(12, 16) + "-" +
      hex.slice(16, 20) + "-" + hex.slice(20);
  }

  async function call(method, path, body) {
    const result = await Revisit.api(method, API + path, body);
    if (!result.ok && result.status !== 409 && result.status !== 422) {
      Revisit.say((result.data && result.data.detail) || t("js.inbox.failed", { status: result.status }), true);
    }
    return result;
  }

  // --- the list ---------------------------------------------------------------

  function listQuery(before) {
    const query = new URLSearchParams({ queue: state.queue });
    if (state.status) query.set("status", state.status);
    for (const [name, id] of [["tag", "filter-tag"], ["channel", "filter-channel"], ["assignee", "filter-assignee"]]) {
      if ($(id).value) query.set(name, $(id).value);
    }
    if (before) query.set("before", before);
    return query.toString();
  }

  async function loadList(more) {
    const ticket = ++listTicket;
    const result = await call("GET", "/conversations?" + listQuery(more ? state.nextCursor : null));
    if (ticket !== listTicket || !result.ok) return;
    state.rows = more ? state.rows.concat(result.data.conversations) : result.data.conversations;
    state.nextCursor = result.data.next_cursor;
    showCounts(result.data.unread);
    renderList();
  }

  // Events come in bursts (a message, then the case it changed): one reload.
  function refreshListSoon() {
    clearTimeout(listTimer);
    listTimer = setTimeout(() => loadList(false), LIST_DELAY_MS);
  }

  function showCounts(unread) {
    for (const node of document.querySelectorAll("[data-count]")) {
      const count = unread[node.dataset.count] || 0;
      node.textContent = count ? String(count) : "";
      node.setAttribute("aria-label", t("js.inbox.unread", { n: count }));
    }
  }

  function renderList() {
    const list = $("conversation-list");
    list.replaceChildren(...state.rows.map(rowItem));
    if (!state.rows.length) list.append(el("li", { class: "muted empty" }, t("js.inbox.no_conversations")));
    $("more-conversations").hidden = !state.nextCursor;
    for (const button of document.querySelectorAll("[data-queue]")) {
      button.setAttribute("aria-pressed", String(button.dataset.queue === state.queue));
    }
    for (const button of document.querySelectorAll("[data-status]")) {
      button.setAttribute("aria-pressed", String(button.dataset.status === state.status));
    }
  }

  function rowItem(row) {
    const selected = state.open && state.open.id === row.id;
    const classes = "conversation-row" + (selected ? " selected" : "") + (row.unread ? " unread" : "");
    return el("li", { class: classes },
      el("button", {
        type: "button",
        class: "row-button",
        "aria-current": selected ? "true" : null,
        dataset: { conversation: row.id },
        onclick: () => openConversation(row.id, true),
      },
        el("span", { class: "row-top" },
          el("span", { class: "row-name" }, row.shopper_name),
          badge(row.channel),
          row.unread ? el("span", { class: "unread-dot", title: t("js.inbox.unread", { n: row.unread }) }, String(row.unread)) : null,
          el("span", { class: "row-time" }, time(row.last_message_at))),
        el("span", { class: "row-preview" }, row.preview || ""),
        el("span", { class: "row-meta" },
          statusName(row.status) + " · " + (row.assignee ? row.assignee.name : t("js.inbox.unassigned"))),
        row.tags.length ? el("span", { class: "row-tags" }, row.tags.map(tagChip)) : null));
  }

  // --- one conversation ---------------------------------------------------------

  async function openConversation(id, scroll) {
    const ticket = ++openTicket;
    const result = await call("GET", "/conversations/" + encodeURIComponent(id));
    if (ticket !== openTicket || !result.ok) return;
    // The same conversation drawn again keeps the draft and the sidebar.
    const another = !state.open || state.open.id !== id;
    state.open = result.data.conversation;
    state.lastSeq = 0;
    state.reminders = new Set();
    $("timeline").replaceChildren();
    if (another) {
      state.readSeq = 0;
      state.clientId = null;
      $("reply-text").value = "";
      Revisit.clearErrors($("reply-form"));
      loadSidebar(id);
    }
    addItems(result.data.timeline);
    renderConversation();
    renderList();
    markRead();
    const url = new URL(window.location.href);
    url.searchParams.set("conversation", id);
    url.searchParams.delete("id_token");
    window.history.replaceState(null, "", url.toString());
    if (scroll && window.matchMedia("(max-width: 799px)").matches) {
      $("conversation").scrollIntoView({ block: "start" });
    }
  }

  // New messages of the open conversation, after the last one shown.
  async function refreshOpen() {
    if (!state.open) return;
    const id = state.open.id;
    let more = true;
    while (more) {
      const result = await call("GET", "/conversations/" + encodeURIComponent(id) + "?after=" + state.lastSeq);
      if (!result.ok || !state.open || state.open.id !== id) return;
      state.open = result.data.conversation;
      addItems(result.data.timeline);
      more = result.data.has_more;
    }
    renderConversation();
    markRead();
  }

  function addItems(items) {
    const timeline = $("timeline");
    const fresh = items.filter((item) => {
      if (item.seq !== null && item.seq !== undefined) return item.seq > state.lastSeq;
      return !state.reminders.has(item.reminder_id);
    });
    for (const item of fresh) {
      if (item.seq) state.lastSeq = Math.max(state.lastSeq, item.seq);
      if (item.reminder_id) state.reminders.add(item.reminder_id);
      timeline.append(itemNode(item));
    }
    if (fresh.length) timeline.scrollTop = timeline.scrollHeight;
  }

  function itemNode(item) {
    const stamp = time(item.sent_at);
    if (item.kind === "reminder") {
      return el("li", { class: "item reminder", dataset: { reminder: item.reminder_id } },
        el("span", { class: "reminder-card" },
          el("span", { class: "reminder-text" }, reminderText(item)),
          " · ", stamp, item.clicked ? el("span", { class: "muted" }, " · " + t("js.inbox.clicked")) : null));
    }
    if (item.author === "system" || item.kind === "event") {
      const text = item.kind === "rating_request" ? t("js.inbox.rating_asked") : item.text;
      return el("li", { class: "item event", dataset: { seq: item.seq } }, el("span", {}, text, " · ", stamp));
    }
    if (item.kind === "note") {
      return el("li", { class: "item note", dataset: { seq: item.seq } },
        el("div", { class: "bubble" },
          el("span", { class: "who" }, t("js.inbox.note_by", { name: item.name || t("js.inbox.team") })),
          el("p", { class: "text" }, item.text || ""),
          el("span", { class: "stamp" }, stamp)));
    }
    const mine = item.author === "agent";
    const who = mine ? item.name || t("js.inbox.team") : state.open.shopper_name;
    return el("li", { class: "item " + (mine ? "agent" : "shopper"), dataset: { seq: item.seq } },
      el("div", { class: "bubble" },
        el("span", { class: "who" }, who),
        body(item, who),
        el("span", { class: "stamp" }, stamp, item.channel !== "web" ? " · " + channelName(item.channel) : "",
          delivery(item))));
  }

  // The reminder's line, in the panel's language: the API's sentence is English.
  function reminderText(item) {
    const channel = channelName(item.channel);
    return item.reminder_text
      ? t("js.inbox.reminder_sent_text", { channel, text: item.reminder_text })
      : t("js.inbox.reminder_sent", { channel });
  }

  function body(item, who) {
    if (item.kind === "image" && item.image_url && item.image_url.startsWith("/chat/images/")) {
      return el("img", { src: item.image_url, alt: t("js.inbox.image_from", { name: who }), loading: "lazy" });
    }
    return el("p", { class: "text" }, item.text || "");
  }

  function delivery(item) {
    if (item.delivery === "queued") return " · " + t("js.inbox.sending");
    if (item.delivery === "failed") return el("span", { class: "failed" }, " · " + t("js.inbox.not_delivered", { error: item.delivery_error || "" }));
    return null;
  }

  function renderConversation() {
    const open = state.open;
    $("no-conversation").hidden = true;
    $("conversation-body").hidden = false;
    $("conversation-heading").textContent = open.shopper_name;
    $("conversation-channel").replaceChildren(badge(open.channel));
    const status = $("conversation-status");
    status.textContent = statusName(open.status);
    status.className = "state " + open.status;
    $("conversation-assignee").textContent = open.assignee ? t("js.inbox.assigned_to", { name: open.assignee.name }) : t("js.inbox.unassigned");
    $("conversation-follow-up").textContent = open.follow_up_at ? t("js.inbox.follow_up", { when: when(open.follow_up_at) }) : "";
    $("conversation-tags").replaceChildren(...open.tags.map(tagChip));
    $("resolve").disabled = open.status === "resolved";
    $("reopen").disabled = open.status === "open";
    renderAssignMenu();
    renderTagChoices();
    renderLog();
    renderReplyState();
  }

  function renderAssignMenu() {
    const select = $("assign-to");
    const current = state.open.assignee ? state.open.assignee.id : null;
    select.replaceChildren(
      el("option", { value: "" }, t("js.inbox.nobody")),
      ...boot.members.map((member) => el("option", { value: member.id, selected: member.id === current },
        member.name + (member.id === boot.me.id ? " " + t("js.inbox.me") : "") + (member.on_shift ? "" : " · " + t("js.inbox.off_shift")))));
  }

  function renderTagChoices() {
    const box = $("tag-choices");
    const chosen = new Set(state.open.tags.map((tag) => tag.id));
    box.replaceChildren(el("legend", {}, t("js.inbox.tags")), ...boot.tags.map((tag) =>
      el("label", { class: "check" },
        el("input", { type: "checkbox", value: tag.id, checked: chosen.has(tag.id) }), tagChip(tag))));
  }

  function renderLog() {
    const entries = state.open.assignment_log.map((entry) => el("li", {},
      time(entry.at), " ", logLine(entry)));
    $("assignment-log").replaceChildren(...(entries.length ? entries : [el("li", { class: "muted" }, t("js.inbox.log_empty"))]));
  }

  function logLine(entry) {
    const values = {
      by: entry.by || t("js.inbox.log_timer"),
      to: entry.to || t("js.inbox.log_queue"),
      reason: entry.reason,
    };
    const line = REASONS.includes(entry.reason)
      ? t("js.inbox.log." + entry.reason, values)
      : t("js.inbox.log.other", values);
    return entry.from ? line + " " + t("js.inbox.log_from", { name: entry.from }) : line;
  }

  // --- the reply box ------------------------------------------------------------

  function secondsLeft(until) {
    return Math.max(0, Math.round((new Date(until).getTime() - Date.now()) / 1000));
  }

  function duration(seconds) {
    if (seconds < 120) return t("js.inbox.seconds", { n: seconds });
    if (seconds < 7200) return t("js.inbox.minutes", { n: Math.round(seconds / 60) });
    return t("js.inbox.hours", { n: Math.round(seconds / 3600) });
  }

  function replyStateText(reply) {
    const name = channelName(reply.channel);
    if (!reply.open) {
      // The engine's reason may start with the channel's name already.
      const reason = (reply.reason || "").replace(new RegExp("^" + name + " closed: "), "");
      return t("js.inbox.reply_closed", { channel: name, reason });
    }
    const left = reply.until ? t("js.inbox.time_left", { time: duration(secondsLeft(reply.until)) }) : "";
    switch (reply.how) {
      case "reply_token": return t("js.inbox.reply_token") + left;
      case "push": return t("js.inbox.reply_push");
      case "response": return t("js.inbox.reply_window") + left;
      case "human_agent": return t("js.inbox.reply_human_agent") + left;
      default: return t("js.inbox.reply_web");
    }
  }

  function renderReplyState() {
    const reply = state.open.reply_state;
    const asNote = $("note-toggle").checked;
    const closed = !reply.open && !asNote;
    $("reply-state").textContent = asNote ? t("js.inbox.note_state") : replyStateText(reply);
    $("reply-state").classList.toggle("closed", !reply.open && !asNote);
    $("reply-text").disabled = closed;
    $("send-reply").disabled = closed;
    $("send-reply").textContent = asNote ? t("js.inbox.add_note") : t("js.inbox.send");
    $("reply-text").classList.toggle("as-note", asNote);
    $("reply-text").placeholder = asNote ? t("js.inbox.write_note") : t("js.inbox.write_reply");
    clearInterval(countdown);
    if (reply.open && reply.until && !asNote) {
      countdown = setInterval(() => {
        if (secondsLeft(reply.until) > 0) {
          $("reply-state").textContent = replyStateText(reply);
        } else {
          clearInterval(countdown);
          refreshOpen();
        }
      }, 1000);
    }
  }

  async function send(event) {
    event.preventDefault();
    const form = $("reply-form");
    const text = $("reply-text").value;
    if (!state.open || !text.trim()) return;
    const asNote = $("note-toggle").checked;
    // The same text sent again after a lost answer keeps its client id.
    state.clientId = state.clientId || uuid();
    const path = "/conversations/" + encodeURIComponent(state.open.id) + (asNote ? "/notes" : "/replies");
    $("send-reply").disabled = true;
    const result = await call("POST", path, asNote ? { text } : { text, client_id: state.clientId });
    $("send-reply").disabled = false;
    if (!result.ok) {
      Revisit.refused(form, result);
      if (result.status === 409) refreshOpen();
      return;
    }
    Revisit.clearErrors(form);
    state.clientId = null;
    $("reply-text").value = "";
    addItems([result.data.message]);
    if (result.data.reply_state) {
      state.open.reply_state = result.data.reply_state;
      renderReplyState();
    }
  }

  async function insertSavedReply() {
    const select = $("saved-reply");
    if (!select.value || !state.open) return;
    const result = await call("GET", "/conversations/" + encodeURIComponent(state.open.id) + "/saved-replies/" + select.value);
    select.value = "";
    if (!result.ok) return;
    const box = $("reply-text");
    const start = box.selectionStart || 0;
    box.setRangeText(result.data.text, start, box.selectionEnd || start, "end");
    state.clientId = null;
    box.focus();
  }

  function markRead() {
    if (!state.open || state.lastSeq <= state.readSeq || document.visibilityState !== "visible") return;
    const id = state.open.id;
    state.readSeq = state.lastSeq;
    call("POST", "/conversations/" + encodeURIComponent(id) + "/read", { seq: state.lastSeq }).then((result) => {
      if (!result.ok) return;
      showCounts(result.data);
      const row = state.rows.find((item) => item.id === id);
      if (row && row.unread) {
        row.unread = 0;
        renderList();
      }
    });
  }

  // --- the case: status, assignee, tags -------------------------------------------

  async function changeCase(method, path, body, form) {
    if (!state.open) return false;
    const result = await call(method, "/conversations/" + encodeURIComponent(state.open.id) + path, body);
    if (!result.ok) {
      if (form) Revisit.refused(form, result);
      else if (result.status === 409 || result.status === 422) Revisit.say(result.data.detail, true);
      return false;
    }
    if (form) Revisit.clearErrors(form);
    return result.data;
  }

  async function setStatus(status, followUp, form) {
    const data = await changeCase("PUT", "/status", { status, follow_up_at: followUp }, form);
    if (!data) return;
    state.open = data;
    renderConversation();
    refreshOpen();
    refreshListSoon();
    Revisit.say(t("js.inbox.status_done", { status: statusName(status) }));
  }

  async function pending(event) {
    event.preventDefault();
    const value = $("follow-up-at").value;
    await setStatus("pending", value ? new Date(value).toISOString() : null, $("pending-form"));
    $("pending-menu").open = false;
  }

  async function assignTo(event) {
    event.preventDefault();
    const form = $("assign-form");
    const action = event.submitter && event.submitter.dataset.action === "hand-over" ? "/hand-over" : "/assign";
    const value = $("assign-to").value;
    const data = await changeCase("POST", action, {
      assignee: value === "" ? null : Number(value),
      note: $("assign-note").value.trim() || null,
    }, form);
    if (!data) return;
    state.open = data;
    $("assign-note").value = "";
    $("assign-menu").open = false;
    renderConversation();
    refreshOpen();
    refreshListSoon();
    Revisit.say(data.assignee ? t("js.inbox.now_with", { name: data.assignee.name }) : t("js.inbox.back_in_queue"));
  }

  async function saveTags(event) {
    event.preventDefault();
    const ids = Array.from($("tag-choices").querySelectorAll("input:checked"), (box) => Number(box.value));
    const data = await changeCase("PUT", "/tags", { tags: ids }, $("tags-form"));
    if (!data) return;
    state.open.tags = data.tags;
    $("tags-menu").open = false;
    renderConversation();
    refreshListSoon();
    Revisit.say(t("js.inbox.tags_saved"));
  }

  // --- the sidebar ----------------------------------------------------------------

  async function loadSidebar(id) {
    const box = $("sidebar-body");
    box.replaceChildren(el("p", { class: "muted" }, t("js.inbox.loading")));
    const result = await call("GET", "/conversations/" + encodeURIComponent(id) + "/sidebar");
    if (!result.ok || !state.open || state.open.id !== id) return;
    box.replaceChildren(...sidebarParts(result.data));
  }

  function part(title, ...children) {
    return el("section", { class: "side-part" }, el("h3", {}, title), ...children);
  }

  function facts(pairs) {
    const shown = pairs.filter(([, value]) => value !== null && value !== undefined && value !== "");
    return el("dl", { class: "facts" }, shown.map(([name, value]) => [el("dt", {}, name), el("dd", {}, value)]));
  }

  function sidebarParts(data) {
    const parts = [];
    const visitor = data.visitor;
    parts.push(part(t("js.inbox.side.who"), facts([
      [t("js.inbox.side.name"), state.open.shopper_name],
      [t("js.inbox.side.email"), visitor && visitor.email],
      [t("js.inbox.side.phone"), visitor && visitor.phone],
      [t("js.inbox.side.customer"), visitor && visitor.customer_id],
    ])));
    const footprint = data.footprint;
    if (footprint) {
      parts.push(part(t("js.inbox.side.footprint"),
        facts([
          [t("js.inbox.side.last_page"), footprint.last_page ? link(footprint.last_page.url, footprint.last_page.url) : null],
          [t("js.inbox.side.visits"), footprint.visit_count],
          [t("js.inbox.side.page_views"), footprint.page_views],
          [t("js.inbox.side.first_seen"), when(footprint.first_seen_at)],
          [t("js.inbox.side.last_seen"), when(footprint.last_seen_at)],
        ]),
        footprint.recent_pages.length ? el("ul", { class: "side-list" },
          footprint.recent_pages.map((page) => el("li", {}, link(page.url, page.url), " ", time(page.at)))) : null,
        footprint.products_viewed.length ? el("p", { class: "hint" }, t("js.inbox.side.products_viewed", {
          products: footprint.products_viewed.map((item) => (item.handle || item.product_id) + " ×" + item.views).join(", "),
        })) : null));
    }
    const cart = data.cart;
    if (cart) {
      parts.push(part(cart.source === "checkout" ? t("js.inbox.side.checkout") : t("js.inbox.side.cart"),
        el("ul", { class: "side-list" }, cart.items.map((item) => el("li", {},
          item.quantity + " × " + (item.title || "") + (item.variant_title ? " (" + item.variant_title + ")" : "") +
            (item.price ? " · " + item.price : "")))),
        el("p", {}, t("js.inbox.side.total", { total: cart.total || "–", currency: cart.currency || "" }), " · ", time(cart.updated_at)),
        cart.checkout_url && safeUrl(cart.checkout_url) ? el("p", {}, link(cart.checkout_url, t("js.inbox.side.open_checkout"))) : null));
    }
    parts.push(part(t("js.inbox.side.orders"), data.orders.length
      ? el("ul", { class: "side-list" }, data.orders.map((order) => el("li", {},
        (order.name || t("js.inbox.side.order")) + " · " + (order.total || "") + " " + (order.currency || "") +
          (order.financial_status ? " · " + order.financial_status : ""), " ", time(order.created_at))))
      : el("p", { class: "muted" }, t("js.inbox.side.no_orders"))));
    if (data.wallet) {
      parts.push(part(t("js.inbox.side.wallet"), el("p", {}, data.wallet.balance + " " + (data.wallet.currency || "")),
        data.wallet.expiring.map((lot) => el("p", { class: "hint" }, t("js.inbox.side.expires", { amount: lot.amount, when: when(lot.expires_at) })))));
    }
    parts.push(part(t("js.inbox.side.bindings"), data.bindings.length
      ? el("ul", { class: "side-list" }, data.bindings.map((binding) => el("li", {},
        channelName(binding.channel) + t("js.inbox.side.colon") +
          (binding.bound ? t("js.inbox.side.bound") : t("js.inbox.side.not_bound_account")) +
          (binding.reachable === false ? t("js.inbox.side.unreachable") : "") +
          (binding.marketing_consent === false ? t("js.inbox.side.no_marketing") : ""))))
      : el("p", { class: "muted" }, t("js.inbox.side.not_bound"))));
    parts.push(part(t("js.inbox.side.reminders"), data.reminders.length
      ? el("ul", { class: "side-list" }, data.reminders.map((reminder) => el("li", {},
        t("js.inbox.side.reminder_step", { n: reminder.step, channel: channelName(reminder.channel) }) + " ", time(reminder.sent_at),
        reminder.clicked ? " · " + t("js.inbox.clicked") : "")))
      : el("p", { class: "muted" }, t("js.inbox.side.none"))));
    return parts;
  }

  // --- my shift ---------------------------------------------------------------------

  async function setShift() {
    const box = $("on-shift");
    const result = await call("PUT", "/shift", { on_shift: box.checked });
    if (!result.ok) {
      box.checked = !box.checked;
      return;
    }
    boot.me = result.data;
    Revisit.say(result.data.on_shift ? t("js.inbox.shift_on") : t("js.inbox.shift_off"));
  }

  async function handOverAll(event) {
    event.preventDefault();
    const form = $("hand-over-all-form");
    const value = $("hand-over-all-to").value;
    const result = await call("POST", "/hand-over-all", {
      assignee: value === "" ? null : Number(value),
      note: $("hand-over-all-note").value.trim() || null,
    });
    if (!result.ok) return Revisit.refused(form, result);
    Revisit.clearErrors(form);
    $("hand-over-all-note").value = "";
    form.closest("details").open = false;
    Revisit.say(t("js.inbox.handed_over", { n: result.data.handed_over }));
    refreshListSoon();
    if (state.open) openConversation(state.open.id, false);
  }

  // --- live -------------------------------------------------------------------------

  async function connect() {
    const result = await Revisit.api("POST", API + "/stream-token");
    if (!result.ok) {
      setTimeout(connect, RECONNECT_MS * Math.min(++state.streamFailures, 15));
      return;
    }
    const source = new EventSource(result.data.url);
    state.stream = source;
    source.addEventListener("open", () => {
      // Anything said while we were away is read from the database.
      if (state.streamFailures) refreshAll();
      state.streamFailures = 0;
    });
    source.addEventListener("message", notice);
    source.addEventListener("conversation", notice);
    source.addEventListener("resync", refreshAll);
    // A dropped stream or an expired token: a new token, a new stream.
    source.addEventListener("error", () => {
      source.close();
      if (state.stream !== source) return;
      state.stream = null;
      state.streamFailures += 1;
      setTimeout(connect, RECONNECT_MS);
    });
  }

  function notice(event) {
    let data;
    try {
      data = JSON.parse(event.data);
    } catch (failure) {
      return;
    }
    refreshListSoon();
    if (!state.open || data.conversation !== state.open.id) return;
    if (event.type === "message") refreshOpen();
    else reloadOpen();
  }

  // A change of the case (status, owner, tags, a delivery's outcome) redraws it.
  function reloadOpen() {
    if (state.open) openConversation(state.open.id, false);
  }

  function refreshAll() {
    refreshListSoon();
    reloadOpen();
  }

  // --- start ------------------------------------------------------------------------

  function fillFilters() {
    $("filter-tag").append(...boot.tags.map((tag) => el("option", { value: tag.id }, tag.name)));
    $("filter-channel").append(...Object.entries(boot.channels).map(([value, name]) => el("option", { value }, name)));
    $("filter-assignee").append(...boot.members.map((member) => el("option", { value: member.id }, member.name)));
    $("saved-reply").append(...boot.saved_replies.map((reply) => el("option", { value: reply.id }, reply.title)));
    $("hand-over-all-to").replaceChildren(
      el("option", { value: "" }, t("js.inbox.unassigned_queue")),
      ...boot.members.filter((member) => member.id !== boot.me.id)
        .map((member) => el("option", { value: member.id }, member.name + (member.on_shift ? "" : " · " + t("js.inbox.off_shift")))));
    $("on-shift").checked = boot.me.on_shift;
  }

  function bind() {
    for (const button of document.querySelectorAll("[data-queue]")) {
      button.addEventListener("click", () => { state.queue = button.dataset.queue; loadList(false); });
    }
    for (const button of document.querySelectorAll("[data-status]")) {
      button.addEventListener("click", () => {
        // The pressed tab again shows every status.
        state.status = state.status === button.dataset.status ? "" : button.dataset.status;
        loadList(false);
      });
    }
    for (const id of ["filter-tag", "filter-channel", "filter-assignee"]) {
      $(id).addEventListener("change", () => loadList(false));
    }
    $("more-conversations").addEventListener("click", () => loadList(true));
    $("reply-form").addEventListener("submit", send);
    $("reply-text").addEventListener("input", () => { state.clientId = null; });
    $("reply-text").addEventListener("keydown", (event) => {
      if (event.key === "Enter" && (event.metaKey || event.ctrlKey)) $("reply-form").requestSubmit();
    });
    $("note-toggle").addEventListener("change", () => state.open && renderReplyState());
    $("saved-reply").addEventListener("change", insertSavedReply);
    $("resolve").addEventListener("click", () => setStatus("resolved", null, null));
    $("reopen").addEventListener("click", () => setStatus("open", null, null));
    $("pending-form").addEventListener("submit", pending);
    $("assign-form").addEventListener("submit", assignTo);
    $("tags-form").addEventListener("submit", saveTags);
    $("on-shift").addEventListener("change", setShift);
    $("hand-over-all-form").addEventListener("submit", handOverAll);
    document.addEventListener("visibilitychange", markRead);
  }

  document.addEventListener("DOMContentLoaded", () => {
    const data = $("inbox-boot");
    if (!data) return;
    boot = JSON.parse(data.textContent);
    state.rows = boot.list.conversations;
    state.nextCursor = boot.list.next_cursor;
    fillFilters();
    bind();
    showCounts(boot.list.unread);
    renderList();
    const wanted = new URL(window.location.href).searchParams.get("conversation");
    if (wanted) openConversation(wanted, false);
    connect();
  });
})();
