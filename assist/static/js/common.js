// Shared by every page: the API key (sessionStorage), role detection, fetch wrapper, label switching,
// DOM helpers and the ARIA live regions. No framework and nothing fetched from the internet.
import { LABELS, LANGS } from "./i18n.js";

const KEY_STORE = "assist.key";
const LANG_STORE = "assist.lang";

// ---------------------------------------------------------------- labels

let lang = localStorage.getItem(LANG_STORE) || guessLang();
const langListeners = [];

function guessLang() {
  const nav = (navigator.language || "en").toLowerCase();
  if (nav.startsWith("zh")) {
    return /(tw|hk|mo|hant)/.test(nav) ? "zh-Hant" : "zh-Hans";
  }
  return "en";
}

export function getLang() {
  return lang;
}

/** The label `key` in the current language, with `{name}` placeholders filled from `vars`. */
export function t(key, vars = {}) {
  const table = LABELS[lang] || LABELS.en;
  let s = table[key] ?? LABELS.en[key] ?? key;
  for (const [k, v] of Object.entries(vars)) s = s.replaceAll(`{${k}}`, String(v));
  return s;
}

/** Fill every `data-i18n` element (text) and `data-i18n-attr="attr:key;attr:key"` (attributes). */
export function applyLabels(root = document) {
  root.querySelectorAll("[data-i18n]").forEach((el) => {
    el.textContent = t(el.dataset.i18n);
  });
  root.querySelectorAll("[data-i18n-attr]").forEach((el) => {
    for (const pair of el.dataset.i18nAttr.split(";")) {
      const [attr, key] = pair.split(":");
      if (attr && key) el.setAttribute(attr.trim(), t(key.trim()));
    }
  });
}

export function setLang(code) {
  if (!LABELS[code]) return;
  lang = code;
  localStorage.setItem(LANG_STORE, code);
  document.documentElement.lang = code;
  applyLabels();
  document.querySelectorAll("[data-lang-choice]").forEach((b) => {
    b.setAttribute("aria-pressed", String(b.dataset.langChoice === code));
  });
  for (const cb of langListeners) cb(code);
}

export function onLangChange(cb) {
  langListeners.push(cb);
}

/** The language tag of a piece of content, so that it is rendered with the right CJK glyphs. */
export function contentLang(text) {
  if (!text || !/[\u3400-\u9fff]/.test(text)) return "en";
  // A few characters that exist only in one script settle it; default to Simplified.
  const trad = (text.match(/[們這個說資銀會與為麼嗎還錢買賣險戶號碼帳證開關實際經濟區體額費讓請補鎖凍結遺失]/g) || []).length;
  const simp = (text.match(/[们这个说资银会与为么吗还钱买卖险户号码帐证开关实际经济区体额费让请补锁冻结遗失]/g) || []).length;
  return trad > simp ? "zh-Hant" : "zh-Hans";
}

// ---------------------------------------------------------------- DOM helpers

/** Build an element: h("button", {class: "x", onclick: fn}, "text", child). Strings become text nodes.
 * `style` takes an object ({width: "40%"}) set through the CSSOM: a style attribute would be refused by the
 * page's Content-Security-Policy (no 'unsafe-inline'). */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else if (k === "dataset") Object.assign(el.dataset, v);
    else if (k === "style") Object.assign(el.style, v);
    else if (k === "text") el.textContent = v;
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

/** A span of content in its own language (lang attribute set from its script). */
export function content(text, tag = "span", attrs = {}) {
  return h(tag, { lang: contentLang(text), ...attrs }, text ?? "");
}

/** Append the parts that are not null/undefined/false (Element.append would print "null"). */
export function appendAll(el, ...parts) {
  for (const p of parts.flat()) if (p !== null && p !== undefined && p !== false) el.append(p);
  return el;
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

export function fmtDate(value) {
  if (!value) return "—";
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) return String(value);
  return d.toLocaleString(lang === "en" ? "en-GB" : lang, { dateStyle: "medium", timeStyle: "short" });
}

// ---------------------------------------------------------------- live regions

/** Say something to screen readers (polite), or urgently (assertive). */
export function announce(message, assertive = false) {
  const id = assertive ? "live-assertive" : "live-polite";
  let region = document.getElementById(id);
  if (!region) {
    region = h("div", {
      id,
      class: "visually-hidden",
      "aria-live": assertive ? "assertive" : "polite",
      role: assertive ? "alert" : "status",
    });
    document.body.append(region);
  }
  region.textContent = "";
  // A new text node in a cleared region is what screen readers pick up reliably.
  requestAnimationFrame(() => {
    region.textContent = message;
  });
}

/** A short message in the page's toast area (also announced politely). */
export function toast(message, kind = "info") {
  let area = document.getElementById("toasts");
  if (!area) {
    area = h("div", { id: "toasts", class: "toasts", role: "status", "aria-live": "polite" });
    document.body.append(area);
  }
  const el = h("div", { class: `toast toast-${kind}` }, message);
  area.append(el);
  setTimeout(() => el.remove(), 6000);
}

// ---------------------------------------------------------------- API

export function getKey() {
  return sessionStorage.getItem(KEY_STORE);
}

export function setKey(key) {
  sessionStorage.setItem(KEY_STORE, key);
}

export function forgetKey() {
  sessionStorage.removeItem(KEY_STORE);
}

export class ApiError extends Error {
  constructor(status, detail) {
    super(typeof detail === "string" ? detail : JSON.stringify(detail));
    this.status = status;
    this.detail = detail;
  }
}

/** Human text of an error `detail` (FastAPI validation errors are lists). */
export function detailText(detail) {
  if (Array.isArray(detail)) {
    return detail.map((d) => (d && d.msg ? `${(d.loc || []).slice(1).join(".")}: ${d.msg}` : JSON.stringify(d))).join("; ");
  }
  if (detail && typeof detail === "object") return JSON.stringify(detail);
  return String(detail ?? "");
}

/**
 * Call the API. Returns the parsed JSON (or text); throws ApiError with `status` and `detail`.
 * `body` is sent as JSON, `form` (FormData) as multipart.
 */
export async function api(path, { method = "GET", body, form, key = getKey(), signal } = {}) {
  const headers = {};
  if (key) headers.Authorization = `Bearer ${key}`;
  let payload;
  if (form) payload = form;
  else if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    payload = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, { method, headers, body: payload, signal });
  } catch (err) {
    throw new ApiError(0, err.message || "network error");
  }
  const type = res.headers.get("content-type") || "";
  const data = type.includes("json") ? await res.json().catch(() => null) : await res.text();
  if (!res.ok) {
    const detail = data && typeof data === "object" && "detail" in data ? data.detail : data || res.statusText;
    if (res.status === 401 && key === getKey()) handleUnauthorized();
    throw new ApiError(res.status, detail);
  }
  return data;
}

let unauthorizedHandler = null;

/** The server refused the key (e.g. a WebSocket closed with 4401): back to the key dialog. */
export function keyRefused() {
  handleUnauthorized();
}

let pageReady = false;
function handleUnauthorized() {
  // Only once the page has a checked key: a key revoked meanwhile sends the user back to the dialog.
  if (pageReady && unauthorizedHandler) {
    pageReady = false;
    unauthorizedHandler();
  }
}

async function status(path, opts) {
  try {
    await api(path, opts);
    return 200;
  } catch (err) {
    return err.status;
  }
}

/**
 * Find the key's role. Uses GET /v1/keys/me when the server has it; otherwise infers it from which
 * endpoints answer 403. Returns {role, name}; throws ApiError(401) for a refused key.
 */
export async function detectRole(key) {
  try {
    const me = await api("/v1/keys/me", { key });
    if (me && me.role) return { role: me.role, name: me.name || "" };
  } catch (err) {
    if (err.status === 401) throw err;
    if (err.status === 0) throw err;
  }
  const [docs, rules] = await Promise.all([
    status("/v1/documents", { key }),
    status("/v1/rules", { key }),
  ]);
  if (docs === 401 || rules === 401) throw new ApiError(401, "invalid key");
  if (docs === 200 && rules === 200) {
    // admin or compliance: only admin (and editors) may upload; an empty upload is refused either way.
    const up = await status("/v1/documents", { key, method: "POST", form: new FormData() });
    return { role: up === 403 ? "compliance" : "admin", name: "" };
  }
  if (docs === 200) return { role: "editor", name: "" };
  if (docs === 403 && rules === 403) {
    // agent — or a key refused everywhere; the guard check answers any valid key.
    const g = await status("/v1/guard/check", { key, method: "POST", body: { text: "ok", speaker: "agent" } });
    if (g === 401) throw new ApiError(401, "invalid key");
    return { role: "agent", name: "" };
  }
  return { role: "unknown", name: "" };
}

/** Whether `role` satisfies a page's needs (admin may do everything; unknown is tried and 403s shown). */
export function allowed(role, needs) {
  return role === "admin" || role === "unknown" || needs.includes(role);
}

// ---------------------------------------------------------------- page chrome

/**
 * Wire the header (language switch, change key) and ask for a key when none is stored.
 * Resolves with {role, name} once a valid key is entered.
 */
export function startPage() {
  document.documentElement.lang = lang;
  applyLabels();
  const switcher = document.getElementById("lang-switch");
  if (switcher) {
    clear(switcher);
    for (const l of LANGS) {
      switcher.append(
        h("button", {
          type: "button",
          class: "lang-btn",
          lang: l.code,
          "data-lang-choice": l.code,
          "aria-pressed": String(l.code === lang),
          onclick: () => setLang(l.code),
        }, l.label),
      );
    }
  }
  const change = document.getElementById("change-key");
  if (change) {
    change.addEventListener("click", () => {
      forgetKey();
      location.reload();
    });
  }
  unauthorizedHandler = () => {
    forgetKey();
    askKey(t("key.invalid")).then(() => location.reload());
  };
  return (async () => {
    let message = "";
    for (;;) {
      let key = getKey();
      if (!key) key = await askKey(message);
      try {
        const who = await detectRole(key);
        setKey(key);
        showRole(who);
        pageReady = true;
        return who;
      } catch (err) {
        forgetKey();
        message = err.status === 401 ? t("key.invalid") : t("key.error", { detail: detailText(err.detail) });
      }
    }
  })();
}

// Which roles may use each page; links to the others are hidden.
const PAGE_ROLES = { "/panel": ["agent"], "/editor": ["editor", "compliance"], "/compliance": ["compliance"] };

function showRole(who) {
  document.querySelectorAll("header nav a[href]").forEach((a) => {
    const needs = PAGE_ROLES[a.getAttribute("href")];
    if (needs && !allowed(who.role, needs)) a.closest("li").hidden = true;
  });
  const badge = document.getElementById("role-badge");
  if (!badge) return;
  badge.hidden = false;
  badge.dataset.role = who.role;
  const render = () => {
    badge.textContent = `${t("role.label")}: ${t(`role.${who.role}`)}${who.name ? ` · ${who.name}` : ""}`;
  };
  render();
  onLangChange(render);
}

/** Show the key dialog; resolves with the key typed. */
export function askKey(message = "") {
  return new Promise((resolve) => {
    let dialog = document.getElementById("key-dialog");
    if (!dialog) {
      dialog = h(
        "dialog",
        { id: "key-dialog", class: "key-dialog", "aria-labelledby": "key-dialog-title" },
        h(
          "form",
          { method: "dialog", id: "key-form" },
          h("h2", { id: "key-dialog-title", "data-i18n": "key.title" }),
          h("p", { class: "muted", "data-i18n": "key.help" }),
          h("p", { class: "muted small", "data-i18n": "key.how" }),
          h("label", { for: "key-input", "data-i18n": "key.label" }),
          h("input", {
            id: "key-input",
            name: "key",
            type: "password",
            autocomplete: "off",
            spellcheck: "false",
            required: true,
          }),
          h("p", { id: "key-error", class: "form-error", role: "alert" }),
          h("div", { class: "row end" }, h("button", { type: "submit", class: "btn primary", "data-i18n": "key.submit" })),
        ),
      );
      document.body.append(dialog);
      applyLabels(dialog);
      // Without a key there is nothing to do on the page: Escape must not close the dialog.
      dialog.addEventListener("cancel", (e) => e.preventDefault());
    }
    const input = dialog.querySelector("#key-input");
    const form = dialog.querySelector("#key-form");
    dialog.querySelector("#key-error").textContent = message;
    input.value = "";
    const onSubmit = (e) => {
      e.preventDefault();
      const key = input.value.trim();
      if (!key) return;
      form.removeEventListener("submit", onSubmit);
      dialog.close();
      resolve(key);
    };
    form.addEventListener("submit", onSubmit);
    if (!dialog.open) dialog.showModal();
    input.focus();
  });
}

/** A small modal (citations, details). Returns {dialog, body}; focus returns to the opener on close. */
export function openModal(title, build, { wide = false } = {}) {
  const opener = document.activeElement;
  const body = h("div", { class: "modal-body" });
  const dialog = h(
    "dialog",
    { class: `modal${wide ? " wide" : ""}`, "aria-labelledby": "modal-title" },
    h(
      "div",
      { class: "modal-head" },
      h("h2", { id: "modal-title" }, title),
      h("button", { type: "button", class: "btn icon", "aria-label": t("common.close"), onclick: () => dialog.close() }, "✕"),
    ),
    body,
  );
  dialog.addEventListener("close", () => {
    dialog.remove();
    if (opener && opener.focus) opener.focus();
  });
  dialog.addEventListener("click", (e) => {
    if (e.target === dialog) dialog.close();
  });
  document.body.append(dialog);
  build(body);
  dialog.showModal();
  return { dialog, body };
}

/** Status label in the current language, as a badge. */
export function statusBadge(status) {
  const s = String(status || "").toLowerCase();
  return h("span", { class: `badge status-${s}` }, t(`status.${s}`) === `status.${s}` ? s : t(`status.${s}`));
}
