// The compliance page's QA part: scores per agent, topic or team and week with first-contact resolution and
// the auto/human agreement (GET /v1/qa/summary), the scorecards worst first (GET /v1/qa/scorecards), and a
// call's scorecard beside its transcript, where a reviewer overrides a criterion with a note.
import {
  announce, api, appendAll, clear, content, detailText, fmtDate, getKey, getLang, h, t, toast,
} from "./common.js";

const $ = (id) => document.getElementById(id);
const qa = { cards: [], summary: null, open: null, call: null, wired: false };

function filters() {
  const f = $("qa-filters").elements;
  const q = new URLSearchParams();
  for (const name of ["from", "to"]) if (f[name].value) q.set(name, f[name].value);
  return { q, group: f.group.value || "agent" };
}

/** Load (or reload) the QA tab. */
export async function loadQa() {
  wire();
  const { q, group } = filters();
  const sq = new URLSearchParams(q);
  sq.set("group", group);
  try {
    [qa.summary, qa.cards] = await Promise.all([api(`/v1/qa/summary?${sq}`), api(`/v1/qa/scorecards?${q}`)]);
  } catch (err) {
    toast(t("common.error", { detail: detailText(err.detail) }), "error");
    return;
  }
  renderQa();
}

function wire() {
  if (qa.wired) return;
  qa.wired = true;
  $("qa-filters").addEventListener("submit", (e) => {
    e.preventDefault();
    loadQa();
  });
  $("qa-filters").addEventListener("change", () => loadQa());
  $("qa-export").addEventListener("click", exportQa);
}

/** Labels in the page's language; the rubric's criteria carry their own label per language. */
export function renderQa() {
  if (!qa.summary) return;
  renderSummary();
  renderCards();
  if (qa.open) renderCall();
}

function pct(v) {
  return v == null ? "—" : `${Math.round(v * 1000) / 10}%`;
}

function table(caption, head, rows) {
  return h("div", { class: "scroll-x" }, h("table", {},
    h("caption", {}, caption),
    h("thead", {}, h("tr", {}, head.map((x) => h("th", { scope: "col" }, x)))),
    h("tbody", {}, rows.length ? rows : h("tr", {}, h("td", { colspan: head.length, class: "empty" }, t("common.none"))))));
}

function renderSummary() {
  const s = qa.summary;
  const box = clear($("qa-summary"));
  const agreement = s.agreement || {};
  appendAll(
    box,
    h("p", { id: "qa-agreement", class: "small" }, t("qa.agreement", {
      rate: pct(agreement.rate), reviewed: agreement.reviewed ?? 0, agreed: agreement.agreed ?? 0 })),
    table(t("qa.scores"), [t(`qa.group.${s.group}`), t("qa.week"), t("qa.calls"), t("qa.average"), t("qa.lowest")],
      (s.scores || []).map((r) => h("tr", {}, h("td", {}, content(r.group)), h("td", {}, r.week), h("td", {}, String(r.calls)),
        h("td", {}, String(r.average_score)), h("td", {}, String(r.lowest))))),
    table(t("qa.fcr"), [t(`qa.group.${s.group}`), t("qa.week"), t("qa.calls"), t("qa.resolved"), t("qa.fcr.rate")],
      (s.fcr || []).map((r) => h("tr", {}, h("td", {}, content(r.group)), h("td", {}, r.week), h("td", {}, String(r.calls)),
        h("td", {}, String(r.resolved)), h("td", {}, pct(r.fcr))))),
  );
}

function scoreClass(score) {
  return score < 60 ? "bad" : score < 85 ? "meh" : "good";
}

function renderCards() {
  const body = clear($("qa-cards"));
  if (!qa.cards.length) {
    body.append(h("tr", {}, h("td", { colspan: 6, class: "empty" }, t("qa.none"))));
    return;
  }
  for (const c of qa.cards) {
    const failed = c.criteria.filter((v) => v.passed === false).length;
    body.append(h("tr", { dataset: { callId: c.call_id }, class: qa.open === c.call_id ? "selected" : "" },
      h("td", {}, h("span", { class: `score ${scoreClass(c.score)}` }, String(c.score))),
      h("td", {}, content(c.agent_name || "—")),
      h("td", {}, content(c.team || "—")),
      h("td", {}, (c.topics || []).join(" · ") || "—"),
      h("td", {}, String(failed)),
      h("td", {}, h("button", { type: "button", class: "btn", onclick: () => openCall(c.call_id),
        "aria-label": t("qa.open.call", { id: c.call_id }) }, t("qa.open")))));
  }
}

async function openCall(callId) {
  qa.open = callId;
  try {
    qa.call = await api(`/v1/calls/${encodeURIComponent(callId)}`);
  } catch (err) {
    toast(t("common.error", { detail: detailText(err.detail) }), "error");
    return;
  }
  renderCards();
  renderCall();
  $("qa-call").focus();
}

function verdictText(v) {
  return v === true ? t("qa.passed") : v === false ? t("qa.failed") : t("qa.na");
}

function verdictClass(v) {
  return v === true ? "pass" : v === false ? "fail" : "na";
}

function renderCall() {
  const card = qa.cards.find((c) => c.call_id === qa.open);
  const box = clear($("qa-call"));
  box.hidden = !card;
  if (!card) return;
  const lang = getLang();
  const criteria = h("ol", { class: "criteria", id: "qa-criteria" });
  for (const v of card.criteria) {
    const label = (v.label && typeof v.label === "object") ? (v.label[lang] || v.label.en || v.id) : (v.label || v.id);
    const turns = (v.turns || []).map((n) => h("button", { type: "button", class: "turn-link", dataset: { turn: n },
      onclick: () => markTurns(v.turns) }, `#${n}`));
    criteria.append(h("li", { class: `criterion ${verdictClass(v.passed)}`, dataset: { criterion: v.id } },
      h("div", { class: "row" },
        h("strong", { class: "grow" }, content(label)),
        v.critical ? h("span", { class: "badge critical" }, t("qa.critical")) : null,
        h("span", { class: `verdict ${verdictClass(v.passed)}` }, verdictText(v.passed)),
        v.override_note != null
          ? h("span", { class: "badge overridden" }, t("qa.overridden", { auto: verdictText(v.auto_passed) })) : null),
      v.reason ? content(v.reason, "p", { class: "small muted reason" }) : null,
      v.override_note != null ? content(v.override_note, "p", { class: "small override-note" }) : null,
      turns.length ? h("p", { class: "small" }, t("qa.turns"), " ", turns) : null,
      overrideForm(card, v)));
  }
  const transcript = h("ol", { class: "transcript", id: "qa-transcript", tabindex: "0", "aria-label": t("tr.title") });
  for (const x of (qa.call && qa.call.turns) || []) {
    transcript.append(h("li", { class: `turn ${x.speaker}`, dataset: { turn: x.turn } },
      h("span", { class: "who" }, t(`tr.${x.speaker}`), ` · ${x.turn}`), content(x.text)));
  }
  appendAll(
    box,
    h("h3", {}, t("qa.call", { id: card.call_id }), " · ",
      h("span", { class: `score ${scoreClass(card.score)}`, id: "qa-score" }, String(card.score)),
      card.auto_score !== card.score ? h("span", { class: "small muted" }, ` (${t("qa.auto", { score: card.auto_score })})`) : null),
    h("p", { class: "small muted" }, fmtDate(card.created_at)),
    h("div", { class: "qa-side" },
      h("section", { "aria-label": t("qa.scorecard") }, h("h4", {}, t("qa.scorecard")), criteria),
      h("section", { "aria-label": t("tr.title") }, h("h4", {}, t("tr.title")), transcript)),
  );
}

function markTurns(turns) {
  const wanted = new Set((turns || []).map(String));
  let first = null;
  for (const li of document.querySelectorAll("#qa-transcript li")) {
    const on = wanted.has(li.dataset.turn);
    li.classList.toggle("source", on);
    if (on && !first) first = li;
  }
  if (first) first.scrollIntoView({ block: "nearest" });
}

function overrideForm(card, v) {
  const id = `ov-${v.id}`;
  const form = h("form", { class: "override row", novalidate: true, dataset: { criterion: v.id } });
  const select = h("select", { id: `${id}-v`, name: "passed" },
    h("option", { value: "true" }, t("qa.passed")),
    h("option", { value: "false" }, t("qa.failed")),
    h("option", { value: "null" }, t("qa.na")));
  select.value = String(v.passed === true ? true : v.passed === false ? false : null);
  const note = h("input", { id: `${id}-n`, name: "note", maxlength: 2000, required: true, class: "grow" });
  appendAll(form,
    h("label", { for: `${id}-v` }, t("qa.override.verdict")), select,
    h("label", { for: `${id}-n` }, t("qa.override.note")), note,
    h("button", { type: "submit", class: "btn" }, t("qa.override")));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    if (!note.value.trim()) {
      note.setAttribute("aria-invalid", "true");
      toast(t("qa.override.needsnote"), "error");
      note.focus();
      return;
    }
    const passed = select.value === "null" ? null : select.value === "true";
    try {
      const updated = await api(`/v1/calls/${encodeURIComponent(card.call_id)}/scorecard/overrides`, {
        method: "POST", body: { criterion: v.id, passed, note: note.value.trim() } });
      qa.cards = qa.cards.map((c) => (c.call_id === updated.call_id ? updated : c));
      renderCards();
      renderCall();
      toast(t("qa.override.saved", { criterion: v.id }), "ok");
      announce(t("qa.override.saved", { criterion: v.id }));
    } catch (err) {
      toast(t("common.error", { detail: detailText(err.detail) }), "error");
    }
  });
  return form;
}

async function exportQa() {
  const { q } = filters();
  try {
    const res = await fetch(`/v1/qa/export?${q}`, { headers: { Authorization: `Bearer ${getKey()}` } });
    if (!res.ok) throw new Error(`${res.status} ${res.statusText}`);
    const url = URL.createObjectURL(await res.blob());
    const a = h("a", { href: url, download: "scorecards.csv" });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  } catch (ex) {
    toast(t("common.error", { detail: ex.message }), "error");
  }
}

/** For tests. */
export const qaState = qa;
