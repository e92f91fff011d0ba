// The ticket form of the side panel: the draft the call calls for (GET /v1/calls/{id}/ticket), fetched again
// after every turn. Each value shows the turn it came from; required fields still empty are highlighted, so
// the agent knows what to ask; the agent edits, then submits (POST /v1/tickets). The form's labels are in
// the call's script (the draft's language), not the page's: the agent reads them to the customer.
import { LABELS } from "./i18n.js";
import { announce, api, clear, content, detailText, h } from "./common.js";

const $ = (id) => document.getElementById(id);

const form = {
  callId: null,
  draft: null, // the last TicketDraft
  values: {}, // field name -> what the input holds
  edited: new Set(), // fields the agent typed in: a later draft does not overwrite them
  submitted: null, // the stored ticket, once submitted
  inflight: false,
  again: false, // a turn came while a draft was being fetched: fetch once more
  onTurn: null, // (n) => void: show turn n of the transcript
};

/** A label of the form in the call's language (the draft's), with `{name}` placeholders filled. */
function tc(key, vars = {}) {
  const lang = (form.draft && form.draft.language) || "en";
  let s = (LABELS[lang] || LABELS.en)[key] ?? LABELS.en[key] ?? key;
  for (const [k, v] of Object.entries(vars)) s = s.replaceAll(`{${k}}`, String(v));
  return s;
}

/** Start with no call; `onTurn(n)` is called when the agent clicks the turn a value came from. */
export function initTicket({ onTurn } = {}) {
  form.onTurn = onTurn || null;
  resetTicket(null);
}

/** A new call (or none): the form is emptied and hidden until the call calls for a ticket. */
export function resetTicket(callId) {
  form.callId = callId;
  form.draft = null;
  form.values = {};
  form.edited = new Set();
  form.submitted = null;
  form.again = false;
  render();
}

/** Fetch the draft again (after a turn); calls made while one is on its way make one more fetch. */
export async function refreshTicket(callId) {
  if (!callId) return;
  if (callId !== form.callId) resetTicket(callId);
  if (form.inflight) {
    form.again = true;
    return;
  }
  form.inflight = true;
  try {
    do {
      form.again = false;
      await load();
    } while (form.again && form.callId === callId);
  } finally {
    form.inflight = false;
  }
}

async function load() {
  const callId = form.callId;
  let draft = null;
  try {
    draft = await api(`/v1/calls/${encodeURIComponent(callId)}/ticket`);
  } catch (err) {
    if (err.status !== 404) console.warn("ticket draft", err.status, detailText(err.detail));
    draft = null; // 404: no topic of the call calls for a ticket (yet)
  }
  if (callId !== form.callId) return; // another call began meanwhile
  if (draft && form.draft && draft.template !== form.draft.template) {
    form.values = {};
    form.edited = new Set();
  }
  const before = form.draft;
  form.draft = draft;
  if (draft) {
    for (const f of draft.fields) {
      if (!form.edited.has(f.name)) form.values[f.name] = f.value ?? "";
    }
  }
  render();
  if (draft && !before) announce(tc("ticket.appeared", { template: draft.template_label }));
}

function missingNow() {
  if (!form.draft) return [];
  return form.draft.fields.filter((f) => f.required && !String(form.values[f.name] ?? "").trim()).map((f) => f.name);
}

function render() {
  const section = $("ticket");
  if (!section) return;
  const body = clear($("ticket-body"));
  const d = form.draft;
  section.hidden = !d;
  if (!d) return;
  $("ticket-h").textContent = tc("ticket.title");
  $("ticket-h").lang = d.language;
  if (form.submitted) {
    body.append(h("p", { class: "ticket-done", role: "status", id: "ticket-status" },
      tc("ticket.submitted", { id: form.submitted.id, status: tc(`ticket.status.${form.submitted.status}`) })));
    return;
  }
  const missing = new Set(missingNow());
  const el = h("form", { id: "ticket-form", class: "ticket-form", novalidate: true, lang: d.language,
    dataset: { template: d.template } });
  el.append(h("p", { class: "ticket-template" }, content(d.template_label, "strong")));
  const summary = h("p", { id: "ticket-missing", class: "small", role: "status" });
  el.append(summary);
  for (const f of d.fields) el.append(fieldRow(f, missing.has(f.name)));
  const error = h("p", { id: "ticket-error", class: "form-error", role: "alert" });
  const submit = h("button", { type: "submit", class: "btn primary", id: "ticket-submit" }, tc("ticket.submit"));
  el.append(error, h("div", { class: "row end" }, submit));
  el.addEventListener("submit", (e) => {
    e.preventDefault();
    submitTicket(error, submit);
  });
  body.append(el);
  updateMissing();
}

function fieldRow(f, isMissing) {
  const id = `tf-${f.name}`;
  const input = h(f.type === "text" ? "textarea" : "input", {
    id,
    name: f.name,
    class: "ticket-input",
    rows: f.type === "text" ? 2 : null,
    type: f.type === "text" ? null : "text",
    maxlength: 2000,
    "aria-invalid": isMissing ? "true" : null,
    "aria-describedby": `${id}-src`,
    required: f.required,
  });
  input.value = form.values[f.name] ?? "";
  input.addEventListener("input", () => {
    form.values[f.name] = input.value;
    form.edited.add(f.name);
    updateMissing();
  });
  const src = h("span", { id: `${id}-src`, class: "ticket-src small" });
  if (f.turn != null && !form.edited.has(f.name)) {
    src.append(h("button", { type: "button", class: "turn-link", dataset: { turn: f.turn },
      onclick: () => form.onTurn && form.onTurn(f.turn) }, tc("ticket.fromturn", { n: f.turn })));
  } else if (form.edited.has(f.name)) {
    src.append(tc("ticket.typed"));
  } else if (f.required) {
    src.append(tc("ticket.ask"));
  }
  return h("div", { class: `field ticket-field${isMissing ? " missing" : ""}`, dataset: { field: f.name } },
    h("label", { for: id }, content(f.label), f.required ? h("span", { class: "req", "aria-hidden": "true" }, " *") : null,
      f.required ? h("span", { class: "visually-hidden" }, ` (${tc("ticket.required")})`) : null),
    input, src);
}

/** Highlight the required fields still empty, and say how many. */
function updateMissing() {
  const missing = new Set(missingNow());
  for (const row of document.querySelectorAll("#ticket-form .ticket-field")) {
    const name = row.dataset.field;
    const on = missing.has(name);
    row.classList.toggle("missing", on);
    const input = row.querySelector(".ticket-input");
    if (on) input.setAttribute("aria-invalid", "true");
    else input.removeAttribute("aria-invalid");
    const src = row.querySelector(".ticket-src");
    if (on && !src.querySelector("button") && !form.edited.has(name)) src.textContent = tc("ticket.ask");
  }
  const summary = $("ticket-missing");
  if (summary) {
    summary.textContent = missing.size ? tc("ticket.missing", { n: missing.size }) : tc("ticket.complete");
    summary.dataset.missing = String(missing.size);
  }
}

async function submitTicket(error, button) {
  const d = form.draft;
  error.textContent = "";
  const fields = {};
  for (const f of d.fields) {
    const v = String(form.values[f.name] ?? "").trim();
    fields[f.name] = v || null;
  }
  button.disabled = true;
  try {
    const ticket = await api("/v1/tickets", { method: "POST", body: { call_id: form.callId, template: d.template, fields } });
    form.submitted = ticket;
    render();
    announce(tc("ticket.submitted", { id: ticket.id, status: tc(`ticket.status.${ticket.status}`) }));
  } catch (err) {
    error.textContent = tc("ticket.error", { detail: detailText(err.detail) });
    button.disabled = false;
  }
}

/** For tests and an embedding CRM. */
export const ticketState = form;
