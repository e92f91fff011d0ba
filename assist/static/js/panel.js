// The agent side panel: live transcript, the current suggestion with citations, the next-step
// checklist, compliance alerts, one-click feedback; WebSocket updates with reconnection; demo replay.
import {
  allowed, announce, api, appendAll, applyLabels, clear, content, contentLang, detailText, getKey, h, keyRefused,
  onLangChange, openModal, startPage, t, toast,
} from "./common.js";
import { initTicket, refreshTicket, resetTicket } from "./ticket.js";

const CALL_STORE = "assist.call";
const params = new URLSearchParams(location.search);
// Pause between replayed turns (ms). ?pace=100 makes a demo fast (the browser tests use it).
const PACE = Math.max(0, Number(params.get("pace") || 1400));

const $ = (id) => document.getElementById(id);

const state = {
  role: "unknown",
  callId: null,
  ws: null,
  connState: "idle",
  everOpened: false,
  closing: false, // we closed the socket on purpose (end of call, new call)
  retries: 0,
  reconnects: 0, // sockets reopened after a drop, over the page's life
  retryTimer: null,
  outbox: [], // utterances typed while the socket was down, sent on reconnect
  transcript: [], // {turn, speaker, text}
  nextTurn: 1, // the server numbers final turns 1, 2, ... per call
  suggestion: null,
  checklist: [],
  alerts: [], // {turn, speaker, action, matches, advice, text, acked}
  feedback: {}, // suggestion id -> rating
  replay: null, // {name, stop}
  waiters: [],
  ended: false,
};

// ------------------------------------------------------------------ connection status

function setConn(s) {
  state.connState = s;
  const el = $("conn");
  el.dataset.state = s;
  el.dataset.i18n = `conn.${s}`;
  el.textContent = t(`conn.${s}`);
  $("end-call").disabled = !state.callId || state.ended;
  $("call-id").textContent = state.callId ? `#${state.callId}` : "";
}

// ------------------------------------------------------------------ transcript

/** A final turn we send: numbered as the server will number it, so that alerts can point at it. */
function addTurn(turn) {
  state.transcript.push({ turn: state.nextTurn, speaker: turn.speaker, text: turn.text ?? "", confirmed: false });
  state.nextTurn += 1;
  renderTranscript();
}

function renderTranscript() {
  const list = clear($("transcript"));
  if (!state.transcript.length) {
    list.append(h("li", { class: "empty" }, t("tr.empty")));
    return;
  }
  const flagged = new Set(state.alerts.map((a) => `${a.turn}`));
  for (const x of state.transcript) {
    const who = x.speaker === "agent" ? "agent" : "customer";
    const isFlagged = who === "agent" && x.turn != null && flagged.has(`${x.turn}`);
    list.append(
      h(
        "li",
        { class: `turn ${who}${isFlagged ? " flagged" : ""}`, dataset: { speaker: who, turn: x.turn ?? "" } },
        h("span", { class: "who" }, t(`tr.${who}`), x.turn != null ? ` · ${x.turn}` : ""),
        content(x.text),
      ),
    );
  }
  list.scrollTop = list.scrollHeight;
}

// ------------------------------------------------------------------ suggestion

/** What the copy button pastes to the customer: the answer without its citation markers, and without the notice
 * line an answer from a document that has ended opens with (that line is for the agent only). */
function plainAnswer(s) {
  const answer = (s.citations || [])[0]?.ended ? (s.answer || "").replace(/^[^\n]*\n/, "") : s.answer || "";
  return answer.replace(/\s?\[\d{1,2}\]/g, "");
}

function citationLabel(c) {
  // a document that has ended is cited only to say so: its last day in force stands beside the version
  const ended = c.ended ? t("sugg.ended", { d: c.ended }) : null;
  return [c.section, c.version != null ? t("sugg.version", { v: c.version }) : null, ended].filter(Boolean).join(" · ");
}

function renderSuggestion(isNew = false) {
  const body = clear($("sugg-body"));
  const s = state.suggestion;
  if (!s) {
    body.append(h("p", { class: "empty" }, t("sugg.empty")));
    return;
  }
  const answer = s.answer && s.answer.trim() ? s.answer : t("sugg.nothing");
  const answerEl = answerWithMarkers(answer, s.citations || [], isNew);
  const copyBtn = h("button", { type: "button", class: "btn", id: "copy-answer" }, t("sugg.copy"));
  copyBtn.addEventListener("click", () => copyText(plainAnswer(s), copyBtn));
  const cites = h("ol", { class: "citations", "aria-label": t("sugg.sources") });
  (s.citations || []).forEach((c, i) => {
    cites.append(
      h(
        "li",
        {},
        h(
          "button",
          { type: "button", class: "cite-btn", onclick: () => openCitation(c, i + 1) },
          h("span", { class: "cite-num" }, `[${i + 1}]`),
          h("span", {}, content(c.title || c.document_id || "", "span", { class: "cite-title" }),
            " ", content(citationLabel(c), "span", { class: "cite-sec" })),
        ),
      ),
    );
  });
  const meta = h("p", { class: "meta" },
    s.turn != null ? t("sugg.turn", { n: s.turn }) : "",
    s.latency_ms != null ? ` · ${t("sugg.latency", { ms: Math.round(s.latency_ms) })}` : "");
  const replaced = s.replaced_reason || (s.source && String(s.source).includes("fallback"))
    ? h("p", { class: "replaced" }, t("sugg.replaced"), s.replaced_reason ? ` (${s.replaced_reason})` : "")
    : null;
  appendAll(
    body,
    replaced,
    answerEl,
    h("div", { class: "row" }, copyBtn, h("span", { class: "small muted" }, t("sugg.sources"), `: ${(s.citations || []).length}`)),
    (s.citations || []).length ? cites : null,
    meta,
    s.id ? feedbackBar(s) : null,
  );
}

/** The answer text, its [n] markers turned into buttons that open citation n. */
function answerWithMarkers(answer, citations, isNew) {
  const el = h("p", { class: `answer${isNew ? " is-new" : ""}`, id: "sugg-answer", lang: contentLang(answer) });
  let at = 0;
  for (const m of answer.matchAll(/\[(\d{1,2})\]/g)) {
    const n = Number(m[1]);
    if (n < 1 || n > citations.length) continue;
    el.append(answer.slice(at, m.index));
    el.append(h("button", {
      type: "button", class: "marker", "aria-label": `${t("cite.title")} ${n}`,
      onclick: () => openCitation(citations[n - 1], n),
    }, `[${n}]`));
    at = m.index + m[0].length;
  }
  el.append(answer.slice(at));
  return el;
}

function feedbackBar(s) {
  const current = state.feedback[s.id];
  const bar = h("div", { class: "feedback", role: "group", "aria-label": t("fb.label") },
    h("span", { class: "label" }, t("fb.label")));
  for (const rating of ["used", "helpful", "wrong"]) {
    bar.append(
      h("button", {
        type: "button",
        class: "btn",
        "data-rating": rating,
        "aria-pressed": String(current === rating),
        onclick: () => sendFeedback(s.id, rating),
      }, t(`fb.${rating}`)),
    );
  }
  return bar;
}

async function sendFeedback(id, rating) {
  try {
    await api(`/v1/suggestions/${encodeURIComponent(id)}/feedback`, { method: "POST", body: { rating } });
    state.feedback[id] = rating;
    const hadFocus = document.activeElement && document.activeElement.dataset.rating;
    renderSuggestion();
    if (hadFocus) document.querySelector(`#sugg-body button[data-rating="${rating}"]`)?.focus(); // keyboard users stay put
    announce(t("fb.thanks", { rating: t(`fb.${rating}`) }));
  } catch (err) {
    toast(t("common.error", { detail: detailText(err.detail) }), "error");
  }
}

async function copyText(text, btn) {
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    const area = h("textarea", { class: "visually-hidden" });
    area.value = text;
    document.body.append(area);
    area.select();
    document.execCommand("copy");
    area.remove();
  }
  btn.textContent = t("sugg.copied");
  announce(t("sugg.copied"));
  setTimeout(() => { btn.textContent = t("sugg.copy"); }, 1500);
}

function openCitation(c, n) {
  openModal(`${t("cite.title")} [${n}]`, (body) => {
    appendAll(
      body,
      h("dl", { class: "meta" },
        h("dt", {}, t("cite.document")), h("dd", {}, content(c.title || c.document_id || "")),
        h("dt", {}, t("cite.section")), h("dd", {}, content(c.section || "—")),
        h("dt", {}, t("cite.version")), h("dd", {}, c.version != null ? String(c.version) : "—"),
        c.score != null ? [h("dt", {}, t("cite.score")), h("dd", {}, Number(c.score).toFixed(2))] : null),
      h("h3", {}, t("cite.snippet")),
      content(c.snippet || "", "blockquote", { class: "passage", id: "cite-snippet" }),
    );
    const full = h("div", { class: "stack" });
    body.append(full);
    loadFullPassage(c, full);
  });
}

async function loadFullPassage(c, el) {
  if (!c.document_id) return;
  if (!["editor", "compliance", "admin", "unknown"].includes(state.role)) {
    el.append(h("p", { class: "small muted" }, t("cite.nofull")));
    return;
  }
  try {
    const doc = await api(`/v1/documents/${encodeURIComponent(c.document_id)}`);
    const chunks = doc.chunks || doc.passages || [];
    const chunk = chunks.find((x) => String(x.id ?? x.chunk_id) === String(c.chunk_id));
    if (chunk && chunk.text) {
      el.append(h("h3", {}, t("cite.full")), content(chunk.text, "blockquote", { class: "passage" }));
    }
  } catch {
    el.append(h("p", { class: "small muted" }, t("cite.nofull")));
  }
}

// ------------------------------------------------------------------ checklist

function setChecklist(steps) {
  if (!Array.isArray(steps)) return;
  const before = new Map(state.checklist.map((s) => [s.id, !!s.done]));
  state.checklist = steps.map((s) => ({ ...s, justDone: !!s.done && before.has(s.id) && !before.get(s.id) }));
  renderChecklist();
  const ticked = state.checklist.filter((s) => s.justDone);
  if (ticked.length) announce(`${t("steps.title")}: ${ticked.map((s) => s.label || s.id).join(", ")} ✓`);
}

function renderChecklist() {
  const list = clear($("checklist"));
  if (!state.checklist.length) {
    list.append(h("li", { class: "empty" }, t("steps.empty")));
    return;
  }
  for (const s of state.checklist) {
    list.append(
      h("li", { class: `${s.done ? "done" : "todo"}${s.justDone ? " just-done" : ""}`, dataset: { step: s.id || "" } },
        h("span", { class: "tick", "aria-hidden": "true" }, s.done ? "✓" : ""),
        h("span", {},
          h("span", { class: "visually-hidden" }, `${t(s.done ? "steps.done" : "steps.todo")}: `),
          content(s.label || s.id, "span", { class: "step-label" }),
          s.reason ? content(s.reason, "span", { class: "reason", title: s.reason }) : null)),
    );
  }
}

// ------------------------------------------------------------------ alerts

function alertKey(a) {
  return `${a.turn ?? ""}|${a.speaker ?? ""}|${a.action ?? ""}|${a.text ?? ""}`;
}

function addAlert(a) {
  const key = alertKey(a);
  if (state.alerts.some((x) => alertKey(x) === key)) return false;
  state.alerts.push({ ...a, acked: false });
  return true;
}

function highlight(text, matches) {
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

function alertBanner(a, live) {
  const action = a.action === "block" ? "block" : "warn";
  const matched = (a.matches || []).map((m) => m.text).filter(Boolean);
  const rules = [...new Set((a.matches || []).map((m) => m.rule_id).filter(Boolean))];
  const text = a.text || transcriptText(a.turn);
  const banner = h(
    "div",
    {
      class: `alert-banner ${action}`,
      role: live ? "alert" : null,
      "aria-live": live ? "assertive" : null,
      dataset: { action, turn: a.turn ?? "" },
    },
    h("div", { class: "alert-title" },
      h("span", { class: "alert-icon", "aria-hidden": "true" }, "!"),
      h("span", { class: "grow" }, t(action === "block" ? "alerts.block" : "alerts.warn")),
      a.turn != null ? h("span", { class: "small" }, t("sugg.turn", { n: a.turn })) : null),
    a.advice ? h("p", { class: "alert-advice" }, `${t("alerts.advice")}: `, content(a.advice)) : null,
    text
      ? h("p", { class: "alert-matched small" }, `${t("alerts.matched")}: `, highlight(text, a.matches))
      : matched.length
        ? h("p", { class: "alert-matched small" }, `${t("alerts.matched")}: `, ...matched.map((m) => h("mark", {}, content(m))))
        : null,
    rules.length ? h("p", { class: "small muted" }, rules.join(", ")) : null,
  );
  if (live) {
    banner.append(h("button", {
      type: "button", class: "btn", onclick: () => { a.acked = true; renderAlerts(); },
    }, t("alerts.ack")));
  }
  return banner;
}

function transcriptText(turn) {
  if (turn == null) return "";
  const x = state.transcript.find((y) => y.turn === turn && y.speaker === "agent");
  return x ? x.text : "";
}

/**
 * Show the alerts. Banners already on screen stay where they are (a re-inserted role="alert" would be
 * announced again); new ones are added, acknowledged ones move into "Earlier alerts". `full` rebuilds
 * everything (a change of label language).
 */
function renderAlerts(full = false) {
  const box = $("alerts");
  if (full) clear(box);
  const open = state.alerts.filter((a) => !a.acked);
  const done = state.alerts.filter((a) => a.acked);
  const keep = new Set(open.map(alertKey));
  for (const el of [...box.querySelectorAll(":scope > .alert-banner")]) {
    if (!keep.has(el.dataset.key)) el.remove();
  }
  const shown = new Set([...box.querySelectorAll(":scope > .alert-banner")].map((el) => el.dataset.key));
  let earlier = box.querySelector(":scope > details.earlier");
  for (const a of open) {
    if (shown.has(alertKey(a))) continue;
    const el = alertBanner(a, true);
    el.dataset.key = alertKey(a);
    box.insertBefore(el, earlier);
  }
  if (earlier) earlier.remove();
  if (done.length) {
    earlier = h("details", { class: "earlier" }, h("summary", {}, t("alerts.earlier", { n: done.length })));
    for (const a of done) earlier.append(alertBanner(a, false));
    box.append(earlier);
  }
  renderTranscript();
}

// ------------------------------------------------------------------ messages from the server

/** The server answers every final turn with its number (ack, checklist, suggestion or alert): align ours. */
function confirmTurn(n) {
  if (!Number.isInteger(n) || state.transcript.some((x) => x.confirmed && x.turn === n)) return;
  const pending = state.transcript.filter((x) => x.confirmed === false);
  if (!pending.length) return;
  const changed = pending[0].turn !== n;
  pending[0].turn = n;
  pending[0].confirmed = true;
  let next = n + 1;
  for (const x of pending.slice(1)) x.turn = next++;
  state.nextTurn = Math.max(state.nextTurn, next);
  if (changed) renderTranscript();
}

function handleMessage(msg) {
  if (["ack", "checklist", "suggestion", "compliance_alert"].includes(msg.type)) {
    confirmTurn(msg.turn);
    refreshTicket(state.callId); // the ticket draft, filled from the turns so far
  }
  switch (msg.type) {
    case "suggestion":
      state.suggestion = msg;
      renderSuggestion(true);
      if (Array.isArray(msg.next_steps)) setChecklist(msg.next_steps);
      announce(t("sugg.new"));
      break;
    case "compliance_alert":
      if (addAlert(msg)) renderAlerts();
      break;
    case "checklist":
    case "next_steps":
      setChecklist(msg.checklist || msg.next_steps || msg.steps);
      break;
    case "error":
      toast(t("common.error", { detail: detailText(msg.detail) }), "error");
      // A refused turn is not numbered by the server: resynchronise the transcript and its numbers.
      if (state.callId) restore();
      break;
    default:
      break;
  }
  const waiters = state.waiters.splice(0);
  for (const w of waiters) w(msg);
}

function waitForReply(ms) {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      state.waiters = state.waiters.filter((w) => w !== done);
      resolve(null);
    }, ms);
    const done = (msg) => {
      clearTimeout(timer);
      resolve(msg);
    };
    state.waiters.push(done);
  });
}

// ------------------------------------------------------------------ the call and its socket

function wsUrl(callId) {
  const proto = location.protocol === "https:" ? "wss" : "ws";
  return `${proto}://${location.host}/v1/calls/${encodeURIComponent(callId)}/stream?token=${encodeURIComponent(getKey())}`;
}

function connect() {
  if (!state.callId) return;
  clearTimeout(state.retryTimer);
  state.closing = false;
  setConn(state.everOpened ? "reconnecting" : "connecting");
  const ws = new WebSocket(wsUrl(state.callId));
  state.ws = ws;
  ws.addEventListener("open", async () => {
    if (state.ws !== ws) return;
    const wasReconnect = state.everOpened;
    state.everOpened = true;
    if (wasReconnect) state.reconnects += 1;
    state.retries = 0;
    await restore(!wasReconnect); // pick the call back up (after a reload or a dropped socket)
    if (state.ended) {
      closeSocket(); // a call ended elsewhere: show it, do not stream into it
      setConn("closed");
      forgetCall();
      return;
    }
    setConn("live");
    if (wasReconnect) toast(t("conn.restored"), "ok");
    flushOutbox();
  });
  ws.addEventListener("message", (ev) => {
    let msg;
    try {
      msg = JSON.parse(ev.data);
    } catch {
      return;
    }
    handleMessage(msg);
  });
  ws.addEventListener("close", (ev) => {
    if (state.ws !== ws) return;
    state.ws = null;
    if (state.closing || state.ended) {
      setConn(state.ended ? "closed" : "idle");
      return;
    }
    if (ev.code === 4401) {
      keyRefused(); // revoked meanwhile: ask for a key again
      setConn("idle");
      return;
    }
    if (ev.code === 4403) {
      const f = $("forbidden");
      f.hidden = false;
      f.textContent = t("panel.needagent");
      setConn("idle");
      return;
    }
    if (ev.code === 4404) {
      forgetCall();
      toast(t("common.error", { detail: `call ${state.callId} not found` }), "error");
      setConn("idle");
      return;
    }
    setConn("reconnecting");
    const delay = Math.min(5000, 300 * 2 ** state.retries);
    state.retries += 1;
    state.retryTimer = setTimeout(connect, delay);
  });
}

/** GET /v1/calls/{id}: the stored transcript, suggestions, checklist and alerts. */
async function restore(pageLoad = false) {
  let data;
  try {
    data = await api(`/v1/calls/${encodeURIComponent(state.callId)}`);
  } catch (err) {
    if (err.status === 404) forgetCall();
    return;
  }
  if (!data || typeof data !== "object") return;
  const turns = data.turns || data.transcript || [];
  if (Array.isArray(turns)) {
    // The server's (redacted) transcript, then what is still waiting in the outbox.
    state.transcript = turns.map((x) => ({ turn: x.turn ?? null, speaker: x.speaker, text: x.text ?? "" }));
    state.nextTurn = turns.reduce((m, x) => Math.max(m, x.turn || 0), 0) + 1;
    for (const msg of state.outbox) {
      state.transcript.push({ turn: state.nextTurn, speaker: msg.speaker, text: msg.text });
      state.nextTurn += 1;
    }
  }
  const suggestions = data.suggestions || [];
  if (Array.isArray(suggestions) && suggestions.length) {
    const last = suggestions[suggestions.length - 1];
    if (!state.suggestion || state.suggestion.id !== last.id) {
      state.suggestion = last;
    }
  }
  for (const [id, rating] of Object.entries(data.feedback || {})) state.feedback[id] = rating;
  const checklist = data.checklist || (state.suggestion && state.suggestion.next_steps);
  if (Array.isArray(checklist)) setChecklist(checklist);
  // After a dropped socket, alerts that came meanwhile are new to the agent: shown open. After a reload of
  // the page, only the latest stays open; the older ones go to "Earlier alerts".
  // A blocked draft answer is stored as an alert of the "suggestion" speaker: the agent saw the safe answer
  // instead (with the reason), so it is no alert for them.
  const restored = (data.alerts || []).filter((a) => a.speaker !== "suggestion" && addAlert(a));
  if (pageLoad) restored.slice(0, -1).forEach((a) => { state.alerts.find((x) => alertKey(x) === alertKey(a)).acked = true; });
  if (data.status === "ended") {
    state.ended = true;
  }
  renderSuggestion();
  renderAlerts();
  refreshTicket(state.callId);
}

function forgetCall() {
  sessionStorage.removeItem(CALL_STORE);
}

function resetCallView() {
  state.transcript = [];
  state.nextTurn = 1;
  state.suggestion = null;
  state.checklist = [];
  state.alerts = [];
  state.feedback = {};
  state.ended = false;
  state.everOpened = false;
  state.outbox = [];
  $("summary").hidden = true;
  resetTicket(null);
  renderTranscript();
  renderSuggestion();
  renderChecklist();
  renderAlerts(true);
}

function closeSocket() {
  if (state.ws) {
    state.closing = true;
    try {
      state.ws.close(1000);
    } catch { /* already closed */ }
    state.ws = null;
  }
  clearTimeout(state.retryTimer);
}

async function newCall() {
  closeSocket();
  resetCallView();
  let data;
  try {
    data = await api("/v1/calls", { method: "POST", body: {} });
  } catch (err) {
    toast(t("common.error", { detail: detailText(err.detail) }), "error");
    throw err;
  }
  state.callId = data.call_id || data.id;
  resetTicket(state.callId);
  sessionStorage.setItem(CALL_STORE, state.callId);
  connect();
  await waitOpen();
  return state.callId;
}

function waitOpen(timeoutMs = 10000) {
  return new Promise((resolve, reject) => {
    const start = Date.now();
    const check = () => {
      if (state.connState === "live") resolve();
      else if (Date.now() - start > timeoutMs) reject(new Error("socket did not open"));
      else setTimeout(check, 30);
    };
    check();
  });
}

async function endCall() {
  if (!state.callId) return;
  stopReplay();
  try {
    const summary = await api(`/v1/calls/${encodeURIComponent(state.callId)}/end`, { method: "POST", body: {} });
    state.ended = true;
    closeSocket();
    setConn("closed");
    forgetCall();
    showSummary(summary);
    announce(t("call.ended"));
  } catch (err) {
    toast(t("common.error", { detail: detailText(err.detail) }), "error");
  }
}

function showSummary(summary) {
  const body = clear($("summary-body"));
  const list = (label, items) => (items && items.length
    ? [h("h3", {}, label), h("ul", {}, items.map((x) => h("li", {}, content(typeof x === "string" ? x : (x.label || x.title || x.id || JSON.stringify(x))))))]
    : null);
  appendAll(
    body,
    h("p", {}, t("call.ended")),
    list(t("steps.done"), summary.steps_done),
    list(t("steps.todo"), summary.steps_pending),
    list(t("sugg.sources"), summary.documents_cited || summary.documents),
    summary.topics && summary.topics.length ? h("p", { class: "small muted" }, summary.topics.join(" · ")) : null,
  );
  $("summary").hidden = false;
}

/** Send one final utterance; shown in the transcript at once. */
async function say(speaker, text) {
  text = text.trim();
  if (!text) return;
  if (!state.callId || state.ended) await newCall();
  addTurn({ speaker, text });
  const msg = { type: "utterance", speaker, text, final: true };
  if (state.ws && state.ws.readyState === WebSocket.OPEN && state.connState === "live") {
    state.ws.send(JSON.stringify(msg));
  } else {
    state.outbox.push(msg);
  }
}

/** Interim (non-final) text, as speech recognition sends it: the server may prefetch, it does not answer. */
function sayInterim(speaker, text) {
  text = text.trim();
  if (text.length < 4 || !state.ws || state.ws.readyState !== WebSocket.OPEN || state.connState !== "live") return;
  state.ws.send(JSON.stringify({ type: "utterance", speaker, text, final: false }));
}

function flushOutbox() {
  while (state.outbox.length && state.ws && state.ws.readyState === WebSocket.OPEN) {
    state.ws.send(JSON.stringify(state.outbox.shift()));
  }
}

// ------------------------------------------------------------------ demo replay

async function loadDemoCalls() {
  const select = clear($("demo-select"));
  let calls = [];
  try {
    calls = await api("/v1/demo/calls");
  } catch { /* the list stays empty */ }
  for (const c of calls) {
    select.append(h("option", { value: c.name }, `${c.name} (${c.turns})`));
  }
  $("demo-play").disabled = !calls.length;
  $("demo-status").textContent = calls.length ? "" : t("demo.none");
  const wanted = params.get("demo");
  if (wanted && calls.some((c) => c.name === wanted)) {
    select.value = wanted;
    if (params.get("autoplay") !== "0") replay(wanted);
  }
}

function stopReplay() {
  if (state.replay) state.replay.stopped = true;
}

const pause = (ms) => new Promise((r) => setTimeout(r, ms));

async function replay(name) {
  stopReplay();
  const run = { name, stopped: false };
  state.replay = run;
  $("demo-play").hidden = true;
  $("demo-stop").hidden = false;
  try {
    const turns = await api(`/v1/demo/calls/${encodeURIComponent(name)}`);
    await newCall();
    for (let i = 0; i < turns.length && !run.stopped; i += 1) {
      $("demo-status").textContent = t("demo.playing", { name, i: i + 1, n: turns.length });
      $("demo-status").dataset.state = "playing";
      const { speaker, text } = turns[i];
      if (speaker === "customer" && text.length > 8) {
        sayInterim(speaker, text.slice(0, Math.ceil(text.length * 0.6))); // as ASR would, mid-sentence
        await pause(Math.min(PACE / 3, 300));
      }
      const reply = waitForReply(Math.max(PACE, 400));
      await say(speaker, text);
      await reply;
      if (i < turns.length - 1) await pause(PACE);
    }
    if (!run.stopped) {
      $("demo-status").textContent = t("demo.done");
      $("demo-status").dataset.state = "done";
    }
  } catch (err) {
    $("demo-status").textContent = t("common.error", { detail: detailText(err.detail ?? err.message) });
  } finally {
    if (state.replay === run) state.replay = null;
    $("demo-play").hidden = false;
    $("demo-stop").hidden = true;
  }
}

// ------------------------------------------------------------------ start

function wire() {
  let interimTimer = null;
  $("new-call").addEventListener("click", () => { stopReplay(); newCall().catch(() => {}); });
  $("end-call").addEventListener("click", endCall);
  $("sim-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const input = $("sim-text");
    const speaker = new FormData(e.target).get("speaker") || "customer";
    const text = input.value;
    input.value = "";
    clearTimeout(interimTimer);
    say(speaker, text).catch(() => {});
    input.focus();
  });
  $("sim-text").addEventListener("input", () => {
    clearTimeout(interimTimer);
    interimTimer = setTimeout(() => {
      const speaker = new FormData($("sim-form")).get("speaker") || "customer";
      if (speaker === "customer") sayInterim(speaker, $("sim-text").value);
    }, 350);
  });
  $("demo-play").addEventListener("click", () => replay($("demo-select").value));
  $("demo-stop").addEventListener("click", stopReplay);
  onLangChange(() => {
    setConn(state.connState);
    renderTranscript();
    renderSuggestion();
    renderChecklist();
    renderAlerts(true);
  });
  // A hook for tests and for an embedding CRM: drop the socket as a network failure would, render a suggestion,
  // read what the copy button would paste.
  window.assistPanel = {
    dropSocket: () => state.ws && state.ws.close(4000, "dropped"),
    state,
    renderSuggestion,
    plainAnswer,
  };
}

/** Bring turn `n` of the transcript into view and mark it (a ticket value came from it). */
function showTurn(n) {
  const li = document.querySelector(`#transcript li[data-turn="${n}"]`);
  if (!li) return;
  document.querySelectorAll("#transcript li.source").forEach((x) => x.classList.remove("source"));
  li.classList.add("source");
  li.scrollIntoView({ block: "nearest" });
}

async function main() {
  initTicket({ onTurn: showTurn });
  renderTranscript();
  renderSuggestion();
  renderChecklist();
  wire();
  const who = await startPage();
  state.role = who.role;
  if (!allowed(who.role, ["agent"])) {
    const f = $("forbidden");
    f.hidden = false;
    f.textContent = t("panel.needagent");
  }
  applyLabels();
  await loadDemoCalls();
  const saved = sessionStorage.getItem(CALL_STORE);
  if (saved && !state.callId) {
    state.callId = saved;
    connect();
  } else {
    setConn(state.connState);
  }
}

main();
