// The compliance page: the review queue (confirm / false positive, note, exception), the rules with
// their versions (edit, test the draft, publish), and the figures (false positives, alerts, acceptance).
import {
  allowed, announce, api, appendAll, clear, content, contentLang, detailText, fmtDate, getKey, h, onLangChange, startPage,
  statusBadge, t, toast,
} from "./common.js";

const $ = (id) => document.getElementById(id);
const state = {
  role: "unknown",
  events: [],
  rules: [],
  rule: null, // RuleDetail being edited
  testedDraft: null, // the draft text that was last tested
  stats: null,
};

// ------------------------------------------------------------------ tabs (WAI-ARIA tabs pattern)

const TAB_LOADERS = { queue: loadQueue, rules: loadRules, figures: loadFigures };

function selectTab(name, focus = false) {
  for (const tab of document.querySelectorAll('[role="tab"]')) {
    const on = tab.id === `tab-${name}`;
    tab.setAttribute("aria-selected", String(on));
    tab.tabIndex = on ? 0 : -1;
    $(tab.getAttribute("aria-controls")).hidden = !on;
    if (on && focus) tab.focus();
  }
  history.replaceState(null, "", `#${name}`);
  TAB_LOADERS[name]();
}

function wireTabs() {
  const tabs = [...document.querySelectorAll('[role="tab"]')];
  tabs.forEach((tab, i) => {
    const name = tab.id.replace("tab-", "");
    tab.addEventListener("click", () => selectTab(name));
    tab.addEventListener("keydown", (e) => {
      let j = null;
      if (e.key === "ArrowRight") j = (i + 1) % tabs.length;
      else if (e.key === "ArrowLeft") j = (i - 1 + tabs.length) % tabs.length;
      else if (e.key === "Home") j = 0;
      else if (e.key === "End") j = tabs.length - 1;
      if (j !== null) {
        e.preventDefault();
        selectTab(tabs[j].id.replace("tab-", ""), true);
      }
    });
  });
}

// ------------------------------------------------------------------ review queue

async function loadQueue() {
  const box = clear($("queue"));
  box.append(h("p", { class: "muted" }, t("common.loading")));
  try {
    state.events = await api(`/v1/guard/events?${queueQuery({ status: "pending", limit: 200 })}`);
  } catch (ex) {
    clear(box).append(h("p", { class: "form-error" }, t("common.error", { detail: detailText(ex.detail) })));
    return;
  }
  renderQueue();
}

/** The queue filters as a query string, with `extra` parameters. */
function queueQuery(extra = {}) {
  const form = $("queue-filters");
  const q = new URLSearchParams(extra);
  for (const name of ["rule", "kind", "agent", "from", "to"]) {
    const v = form.elements[name].value.trim();
    if (v) q.set(name, v);
  }
  return q.toString();
}

async function fillRuleFilter() {
  const select = $("qf-rule");
  if (select.options.length > 1) return;
  try {
    const rules = await api("/v1/rules");
    const ids = rules.map((r) => r.rule_id);
    // the claim model's matches (model.<category>) are not rules: offer the ones events carry
    const stats = await api("/v1/guard/stats").catch(() => ({ rules: [] }));
    for (const r of stats.rules || []) if (!ids.includes(r.rule_id)) ids.push(r.rule_id);
    for (const id of ids) select.append(h("option", { value: id }, id));
  } catch { /* the filter just offers "all" */ }
}

/** Download the events of the chosen dates as CSV (fetched with the key, then saved from a blob). */
async function exportCsv() {
  const q = new URLSearchParams();
  for (const name of ["from", "to"]) {
    const v = $("queue-filters").elements[name].value;
    if (v) q.set(name, v);
  }
  try {
    const res = await fetch(`/v1/guard/events/export.csv?${q}`, { headers: { Authorization: `Bearer ${getKey()}` } });
    if (!res.ok) throw new Error(`${res.status} ${res.statusText}`);
    const url = URL.createObjectURL(await res.blob());
    const a = h("a", { href: url, download: `guard-events-${q.get("from") || "start"}-${q.get("to") || "now"}.csv` });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  } catch (ex) {
    toast(t("common.error", { detail: ex.message }), "error");
  }
}

function marked(text, matches) {
  const spans = (matches || [])
    .filter((m) => Number.isInteger(m.start) && Number.isInteger(m.end) && m.end > m.start && m.end <= text.length)
    .sort((a, b) => a.start - b.start);
  const out = h("span", { lang: contentLang(text) });
  let at = 0;
  for (const m of spans) {
    if (m.start < at) continue;
    out.append(text.slice(at, m.start), h("mark", {}, text.slice(m.start, m.end)));
    at = m.end;
  }
  out.append(text.slice(at));
  return out;
}

function renderQueue() {
  const box = clear($("queue"));
  $("queue-count").textContent = `${t("status.pending")}: ${state.events.length}`;
  if (!state.events.length) {
    box.append(h("p", { class: "empty" }, t("q.empty")));
    return;
  }
  for (const ev of state.events) box.append(eventCard(ev));
}

function eventCard(ev) {
  const headingId = `ev-${ev.id}-h`;
  const phrase = (ev.matches || []).map((m) => m.text).find(Boolean) || "";
  const rules = ev.rule_ids || [];
  const noteId = `ev-${ev.id}-note`;
  const excId = `ev-${ev.id}-exc`;
  const phraseId = `ev-${ev.id}-phrase`;
  const ruleSelId = `ev-${ev.id}-rule`;
  const phraseInput = h("input", { id: phraseId, type: "text", value: phrase, maxlength: 200, disabled: true });
  const excBox = h("input", { id: excId, type: "checkbox" });
  excBox.addEventListener("change", () => {
    phraseInput.disabled = !excBox.checked;
    if (ruleSelect) ruleSelect.disabled = !excBox.checked;
  });
  const ruleSelect = rules.length > 1
    ? h("select", { id: ruleSelId, disabled: true }, rules.map((r) => h("option", { value: r }, r)))
    : null;
  const note = h("textarea", { id: noteId, rows: 2, maxlength: 2000, placeholder: t("q.notePh") });

  const ctx = h("ol", { class: "ctx", "aria-label": t("q.context") });
  const context = Array.isArray(ev.context) ? ev.context : [];
  for (const c of context) {
    const here = c.turn != null && c.turn === ev.turn;
    const who = c.speaker === "agent" ? t("tr.agent") : c.speaker === "customer" ? t("tr.customer") : (c.speaker || "");
    ctx.append(h("li", { class: here ? "here" : "" },
      h("span", { class: "who" }, `${who}${c.turn != null ? ` ${c.turn}` : ""}`),
      content(c.text ?? "")));
  }

  const card = h(
    "article",
    { class: "card event", "aria-labelledby": headingId, dataset: { eventId: ev.id } },
    h("div", { class: "row" },
      h("span", { class: `badge ${ev.action === "block" ? "block" : "warn"}` }, ev.action),
      h("h3", { id: headingId, class: "grow" }, `#${ev.id} · ${rules.join(", ") || "—"}`,
        rules.length && ev.rule_versions
          ? h("span", { class: "small muted" }, ` (${rules.map((r) => `${r} v${ev.rule_versions[r] ?? "?"}`).join(", ")})`)
          : null),
      statusBadge(ev.status)),
    h("p", { class: "quote" }, marked(ev.text || "", ev.matches)),
    h("dl", { class: "meta small" },
      h("dt", {}, t("q.kind")), h("dd", {}, `${ev.kind || "utterance"}${ev.speaker ? ` · ${ev.speaker}` : ""}`),
      (ev.categories || []).length ? [h("dt", {}, t("rules.col.category")), h("dd", {}, ev.categories.join(", "))] : null,
      ev.call_id ? [h("dt", {}, t("q.call")), h("dd", {}, `${ev.call_id}${ev.turn != null ? ` · ${t("sugg.turn", { n: ev.turn })}` : ""}`)] : null,
      ev.agent_name ? [h("dt", {}, t("q.agent")), h("dd", {}, ev.agent_name)] : null,
      h("dt", {}, t("q.when")), h("dd", {}, fmtDate(ev.created_at))),
    context.length ? h("details", { open: true }, h("summary", {}, t("q.context")), ctx) : null,
    h(
      "form",
      { class: "review-form", onsubmit: (e) => e.preventDefault() },
      h("div", { class: "field" }, h("label", { for: noteId }, t("q.note")), note),
      h("div", { class: "row" }, excBox, h("label", { for: excId }, t("q.exception"))),
      h("div", { class: "row" },
        h("label", { for: phraseId }, t("q.phrase")), phraseInput,
        ruleSelect ? [h("label", { for: ruleSelId }, t("q.rule")), ruleSelect] : null),
      h("div", { class: "row end" },
        h("button", { type: "button", class: "btn", "data-decision": "confirmed",
          onclick: () => review(ev, "confirmed", card) }, t("q.confirm")),
        h("button", { type: "button", class: "btn primary", "data-decision": "false_positive",
          onclick: () => review(ev, "false_positive", card) }, t("q.fp"))),
      h("p", { class: "form-error", role: "alert" }),
    ),
  );
  card._fields = { note, excBox, phraseInput, ruleSelect };
  return card;
}

async function review(ev, decision, card) {
  const { note, excBox, phraseInput, ruleSelect } = card._fields;
  const body = { decision, note: note.value.trim() || null };
  if (decision === "false_positive" && excBox.checked && phraseInput.value.trim()) {
    body.add_exception = phraseInput.value.trim();
    if (ruleSelect) body.rule_id = ruleSelect.value;
    else if ((ev.rule_ids || []).length === 1) body.rule_id = ev.rule_ids[0];
  }
  const buttons = card.querySelectorAll("button");
  buttons.forEach((b) => { b.disabled = true; });
  try {
    const res = await api(`/v1/guard/events/${encodeURIComponent(ev.id)}/review`, { method: "POST", body });
    const msg = t("q.reviewed", { id: ev.id, decision: t(`status.${decision}`) })
      + (res && res.rule ? ` ${res.rule.rule_id} → v${res.rule.version}` : "");
    toast(msg, "ok");
    announce(msg);
    state.events = state.events.filter((x) => x.id !== ev.id);
    const next = card.nextElementSibling;
    renderQueue();
    // Keep the keyboard user in the queue: focus the next event's first control.
    const target = next && next.dataset.eventId
      ? document.querySelector(`[data-event-id="${next.dataset.eventId}"] textarea`)
      : $("refresh-queue");
    if (target) target.focus();
  } catch (ex) {
    card.querySelector(".form-error").textContent = t("common.error", { detail: detailText(ex.detail) });
    buttons.forEach((b) => { b.disabled = false; });
  }
}

// ------------------------------------------------------------------ rules

async function loadRules() {
  const body = clear($("rules-body"));
  body.append(h("tr", {}, h("td", { colspan: 4, class: "muted" }, t("common.loading"))));
  try {
    state.rules = await api("/v1/rules");
  } catch (ex) {
    clear(body).append(h("tr", {}, h("td", { colspan: 4 }, t("common.error", { detail: detailText(ex.detail) }))));
    return;
  }
  renderRules();
}

function renderRules() {
  const body = clear($("rules-body"));
  if (!state.rules.length) {
    body.append(h("tr", {}, h("td", { colspan: 4, class: "empty" }, t("rules.empty"))));
    return;
  }
  for (const r of state.rules) {
    const b = r.body || {};
    body.append(h("tr", { dataset: { ruleId: r.rule_id } },
      h("td", {}, h("code", {}, r.rule_id), b.category && b.category !== r.rule_id
        ? h("div", { class: "small muted" }, b.category) : null),
      h("td", {}, `v${r.version}`),
      h("td", {}, b.severity || b.action || "—"),
      h("td", {}, h("button", { type: "button", class: "btn", onclick: () => openRule(r.rule_id),
        "aria-label": `${t("rules.open")}: ${r.rule_id}` }, t("rules.open")))));
  }
}

function draftText(body) {
  return JSON.stringify(body, null, 2);
}

// The form edits the common fields; the JSON below it holds the whole rule. Each follows the other as it is
// typed, so that what is tested and published is always exactly what both show.
const LIST_FIELDS = ["phrases", "regexes", "exceptions"];
const TEXT_FIELDS = ["advice", "description"];

async function openRule(ruleId) {
  const pane = clear($("rule-editor"));
  pane.append(h("p", { class: "muted" }, t("common.loading")));
  try {
    state.rule = await api(`/v1/rules/${encodeURIComponent(ruleId)}`);
  } catch (ex) {
    clear(pane).append(h("p", { class: "form-error" }, t("common.error", { detail: detailText(ex.detail) })));
    return;
  }
  state.testedDraft = null;
  renderRuleEditor();
  $("rule-f-severity").focus();
}

function ruleField(name, control) {
  return h("div", { class: "field" }, h("label", { for: `rule-f-${name}` }, t(`rules.f.${name}`)), control);
}

function renderRuleEditor() {
  const pane = clear($("rule-editor"));
  const r = state.rule;
  if (!r) return;
  const body = r.current.body || {};
  const area = h("textarea", { id: "rule-draft", spellcheck: "false", rows: 12 });
  area.value = draftText(body);
  area.addEventListener("input", () => {
    const parsed = parseDraft(true);
    if (parsed) fillRuleForm(parsed);
    updatePublish();
  });
  const severity = h("select", { id: "rule-f-severity" },
    h("option", { value: "block" }, "block"), h("option", { value: "warn" }, "warn"));
  const enabled = h("input", { id: "rule-f-enabled", type: "checkbox" });
  const fields = [ruleField("severity", severity),
    h("div", { class: "row" }, enabled, h("label", { for: "rule-f-enabled" }, t("rules.f.enabled")))];
  for (const name of LIST_FIELDS) {
    fields.push(ruleField(name, h("textarea", { id: `rule-f-${name}`, rows: name === "phrases" ? 4 : 3, spellcheck: "false" })));
  }
  for (const name of TEXT_FIELDS) {
    fields.push(ruleField(name, h("textarea", { id: `rule-f-${name}`, rows: name === "advice" ? 3 : 2 })));
  }
  const form = h("div", { class: "rule-form" }, fields);
  form.addEventListener("input", () => {
    const draft = draftFromForm();
    if (draft) area.value = draftText(draft);
    updatePublish();
  });
  form.addEventListener("change", () => form.dispatchEvent(new Event("input")));
  pane.append(
    h("h2", {}, h("code", {}, r.rule_id), ` · v${r.current.version}`,
      body.category ? h("span", { class: "small muted" }, ` · ${body.category}`) : null),
    form,
    h("details", { class: "json-details" },
      h("summary", {}, t("rules.body")),
      h("label", { for: "rule-draft", class: "visually-hidden" }, t("rules.body")), area),
    h("p", { id: "rule-error", class: "form-error", role: "alert" }),
    h("div", { class: "row end" },
      h("button", { id: "rule-test", type: "button", class: "btn", onclick: testDraft }, t("rules.test")),
      h("button", { id: "rule-publish", type: "button", class: "btn primary", onclick: publish, disabled: true },
        t("rules.publish"))),
    h("p", { id: "publish-hint", class: "small muted" }, t("rules.needtest")),
    h("div", { id: "test-result", class: "test-result", "aria-live": "polite", hidden: true }),
    h("h3", { class: "history-h" }, t("rules.history")),
    h("table", {},
      h("thead", {}, h("tr", {}, h("th", {}, t("rules.col.version")), h("th", {}, t("rules.change")),
        h("th", {}, t("rules.author")), h("th", {}, t("docs.created")), h("th", {}, t("q.note")))),
      h("tbody", {}, (r.versions || []).map((v) => h("tr", {},
        h("td", {}, `v${v.version}`), h("td", {}, v.deleted ? "delete" : v.change || ""),
        h("td", {}, v.author || ""), h("td", { class: "small" }, fmtDate(v.created_at)),
        h("td", {}, content(v.note || "")))))),
  );
  fillRuleForm(body);
}

/** Put a rule's fields into the form. A field in a shape the form cannot show is left to the JSON. */
function fillRuleForm(body) {
  $("rule-f-severity").value = body.severity === "warn" ? "warn" : "block";
  $("rule-f-enabled").checked = body.enabled !== false;
  for (const name of LIST_FIELDS) {
    const el = $(`rule-f-${name}`);
    const v = body[name];
    const plain = v === undefined || (Array.isArray(v) && v.every((x) => typeof x === "string"));
    el.disabled = !plain;
    el.value = plain ? (v || []).join("\n") : "";
    el.placeholder = plain ? "" : "(JSON)";
  }
  for (const name of TEXT_FIELDS) $(`rule-f-${name}`).value = body[name] ?? "";
}

/** The JSON draft with the form's fields laid over it (null when the JSON does not parse). */
function draftFromForm() {
  const base = parseDraft(true);
  if (!base) return null;
  base.severity = $("rule-f-severity").value;
  if ($("rule-f-enabled").checked) {
    if (base.enabled === false) delete base.enabled;
  } else base.enabled = false;
  for (const name of LIST_FIELDS) {
    const el = $(`rule-f-${name}`);
    if (el.disabled) continue;
    const lines = el.value.split("\n").map((x) => x.trim()).filter(Boolean);
    if (lines.length) base[name] = lines;
    else delete base[name];
  }
  for (const name of TEXT_FIELDS) {
    const v = $(`rule-f-${name}`).value.trim();
    if (v) base[name] = v;
    else delete base[name];
  }
  return base;
}

function parseDraft(quiet = false) {
  const err = $("rule-error");
  if (err) err.textContent = "";
  try {
    const body = JSON.parse($("rule-draft").value);
    if (!body || typeof body !== "object" || Array.isArray(body)) throw new Error("a JSON object is expected");
    body.id = state.rule.rule_id;
    return body;
  } catch (ex) {
    if (err) err.textContent = t("rules.badjson", { detail: ex.message });
    if (!quiet) $("rule-draft").closest("details").open = true;
    return null;
  }
}

function canonical(body) {
  return body ? JSON.stringify(body) : null;
}

function updatePublish() {
  const ok = state.testedDraft !== null && state.testedDraft === canonical(parseDraft(true));
  $("rule-publish").disabled = !ok;
  $("publish-hint").hidden = ok;
}

function changeList(items) {
  if (!items.length) return h("p", { class: "muted small" }, "—");
  return h("ul", { class: "small" }, items.slice(0, 20).map((c) => h("li", {},
    h("span", { class: "badge" }, c.speaker || ""), " ", content(c.text),
    c.expect ? h("span", { class: "muted" }, ` (${t("rules.expect", { v: c.expect })})`) : null,
    c.event_id != null ? h("span", { class: "muted" }, ` · #${c.event_id}`) : null)),
  items.length > 20 ? h("li", { class: "muted" }, `+${items.length - 20}`) : null);
}

function scores(before, after) {
  const keys = [...new Set([...Object.keys(before || {}), ...Object.keys(after || {})])];
  if (!keys.length) return null;
  const fmt = (v) => (v == null ? "—" : Number(v).toFixed(3));
  return h("table", { class: "small" },
    h("thead", {}, h("tr", {}, h("th", {}, ""), h("th", {}, t("rules.before")), h("th", {}, t("rules.after")))),
    h("tbody", {}, keys.map((k) => h("tr", {}, h("td", {}, k), h("td", {}, fmt(before?.[k])), h("td", {}, fmt(after?.[k]))))));
}

async function testDraft() {
  const draft = parseDraft();
  if (!draft) return;
  const text = canonical(draft);
  const box = $("test-result");
  box.hidden = false;
  clear(box).append(t("rules.testing"));
  try {
    const rep = await api("/v1/rules/test", { method: "POST", body: { rule: draft } });
    state.testedDraft = text;
    appendAll(
      clear(box),
      h("h3", {}, t("rules.tested"),
        h("span", { class: "small muted" }, ` · ${t("rules.cases", { cases: rep.cases ?? 0, events: rep.events ?? 0 })}`)),
      h("h4", {}, `${t("rules.newblocks")} (${(rep.newly_blocked || []).length})`), changeList(rep.newly_blocked || []),
      h("h4", {}, `${t("rules.unblocks")} (${(rep.stops_blocking || []).length})`), changeList(rep.stops_blocking || []),
      scores(rep.before, rep.after),
    );
  } catch (ex) {
    state.testedDraft = null;
    clear(box).append(h("p", { class: "form-error" }, t("common.error", { detail: detailText(ex.detail) })));
  }
  updatePublish();
}

async function publish() {
  const draft = parseDraft();
  if (!draft) return;
  const current = state.rule.current.body || {};
  // PATCH takes the fields to change; null removes a field.
  const changes = {};
  for (const [k, v] of Object.entries(draft)) {
    if (k !== "id" && JSON.stringify(v) !== JSON.stringify(current[k])) changes[k] = v;
  }
  for (const k of Object.keys(current)) if (!(k in draft)) changes[k] = null;
  if (!Object.keys(changes).length) {
    $("rule-error").textContent = t("common.none");
    return;
  }
  try {
    const rec = await api(`/v1/rules/${encodeURIComponent(state.rule.rule_id)}`, { method: "PATCH", body: changes });
    const msg = t("rules.publishok", { id: rec.rule_id, version: rec.version });
    toast(msg, "ok");
    announce(msg);
    await loadRules();
    await openRule(rec.rule_id);
  } catch (ex) {
    $("rule-error").textContent = t("common.error", { detail: detailText(ex.detail) });
  }
}

// ------------------------------------------------------------------ figures

async function loadFigures() {
  const box = clear($("figures"));
  box.append(h("p", { class: "muted" }, t("common.loading")));
  try {
    state.stats = await api("/v1/guard/stats");
  } catch (ex) {
    clear(box).append(h("p", { class: "muted" }, ex.status === 404 ? t("fig.unavailable")
      : t("common.error", { detail: detailText(ex.detail) })));
    return;
  }
  renderFigures();
}

function pct(v) {
  return v == null ? "—" : `${Math.round(v * 1000) / 10}%`;
}

function barRow(label, value, max, text, cls = "") {
  const width = max > 0 ? Math.max(0, Math.min(100, (value / max) * 100)) : 0;
  return h("div", { class: "bar-row" },
    h("span", {}, label),
    h("span", { class: `bar ${cls}`, role: "img", "aria-label": `${label}: ${text}` }, h("span", { style: { width: `${width}%` } })),
    h("span", { class: "small" }, text));
}

function renderFigures() {
  const s = state.stats || {};
  const box = clear($("figures"));

  const fp = h("section", { class: "card", "aria-labelledby": "fig-fp-h" }, h("h2", { id: "fig-fp-h" }, t("fig.fp")));
  const rules = (s.rules || []).filter((r) => r.rule_id !== "(none)");
  if (!rules.length) fp.append(h("p", { class: "empty" }, t("common.none")));
  else {
    fp.append(h("table", { class: "small fp-table" },
      h("thead", {}, h("tr", {}, h("th", {}, t("rules.col.id")), h("th", {}, t("fig.rate")),
        h("th", {}, t("fig.reviewed")), h("th", {}, t("fig.count")))),
      h("tbody", {}, rules.map((r) => h("tr", { dataset: { ruleId: r.rule_id } },
        h("td", {}, h("code", {}, r.rule_id)),
        h("td", {}, h("span", { class: "bar fp", role: "img", "aria-label": pct(r.false_positive_rate) },
          h("span", { style: { width: `${Math.round((r.false_positive_rate || 0) * 100)}%` } })),
        " ", pct(r.false_positive_rate)),
        h("td", {}, `${r.false_positive}/${r.reviewed}`),
        h("td", {}, String(r.events)))))));
  }

  const days = s.alerts_per_day || [];
  const perDay = h("section", { class: "card", "aria-labelledby": "fig-day-h" }, h("h2", { id: "fig-day-h" }, t("fig.perday")));
  if (!days.length) perDay.append(h("p", { class: "empty" }, t("common.none")));
  else {
    const shown = days.slice(-14);
    const max = Math.max(...shown.map((d) => d.total || 0), 1);
    perDay.append(
      h("div", { class: "columns", role: "img",
        "aria-label": shown.map((d) => `${d.day}: ${d.total || 0}`).join("; ") },
      shown.map((d) => h("div", { class: "col", title: `${d.day}: ${d.total || 0} (block ${d.block || 0}, warn ${d.warn || 0})`,
        style: { height: `${((d.total || 0) / max) * 100}%` } }))),
      h("div", { class: "col-labels", "aria-hidden": "true" }, shown.map((d) => h("span", {}, String(d.day).slice(5)))),
      h("table", { class: "small" },
        h("thead", {}, h("tr", {}, h("th", {}, t("fig.day")), h("th", {}, "block"), h("th", {}, "warn"), h("th", {}, t("fig.count")))),
        h("tbody", {}, shown.map((d) => h("tr", {}, h("td", {}, d.day), h("td", {}, String(d.block || 0)),
          h("td", {}, String(d.warn || 0)), h("td", {}, String(d.total || 0)))))),
    );
  }

  const fb = s.feedback || {};
  const rated = ["used", "helpful", "wrong"].reduce((n, k) => n + (fb[k] || 0), 0);
  const acc = h("section", { class: "card", "aria-labelledby": "fig-acc-h" },
    h("h2", { id: "fig-acc-h" }, t("fig.accept")),
    h("p", {}, h("strong", { class: "big-figure" }, pct(s.acceptance_rate)),
      h("span", { class: "muted" }, ` · ${rated} ${t("fig.rated")} / ${s.suggestions ?? 0} ${t("fig.shown")}`)));
  for (const k of ["used", "helpful", "wrong"]) {
    acc.append(barRow(t(`fb.${k}`), fb[k] || 0, Math.max(rated, 1), String(fb[k] || 0), k));
  }
  box.append(fp, perDay, acc);
}

// ------------------------------------------------------------------ start

async function main() {
  wireTabs();
  $("queue-filters").addEventListener("submit", (e) => {
    e.preventDefault();
    loadQueue();
  });
  $("queue-filters").addEventListener("change", () => loadQueue());
  $("export-csv").addEventListener("click", exportCsv);
  $("refresh-rules").addEventListener("click", loadRules);
  $("refresh-figures").addEventListener("click", loadFigures);
  onLangChange(() => {
    renderQueue();
    renderRules();
    if (state.rule) renderRuleEditor();
    if (state.stats) renderFigures();
  });
  const who = await startPage();
  state.role = who.role;
  if (!allowed(who.role, ["compliance"])) {
    const f = $("forbidden");
    f.hidden = false;
    f.textContent = t("role.forbidden", { role: t(`role.${who.role}`), need: t("role.compliance") });
    $("tabs").hidden = true;
    for (const p of document.querySelectorAll('[role="tabpanel"]')) p.hidden = true;
    return;
  }
  fillRuleFilter();
  const initial = (location.hash || "#queue").slice(1);
  selectTab(TAB_LOADERS[initial] ? initial : "queue");
}

main();
