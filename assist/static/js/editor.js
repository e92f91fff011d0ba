// The knowledge editor: drag-and-drop upload with metadata, the documents with versions, status, flags and
// effective dates, retirement, and why a document waits in review.
import {
  allowed, announce, api, appendAll, clear, content, detailText, fmtDate, h, onLangChange, openModal, startPage,
  statusBadge, t, toast,
} from "./common.js";
import { renderGaps, wireEditorTabs } from "./gaps.js";

const $ = (id) => document.getElementById(id);
const state = { role: "unknown", docs: [], file: null, canEdit: false };

// ------------------------------------------------------------------ upload

function setFile(file) {
  state.file = file || null;
  const name = $("file-name");
  if (file) {
    name.removeAttribute("data-i18n");
    name.textContent = `${file.name} (${Math.max(1, Math.round(file.size / 1024))} KB)`;
    if (!$("f-title").value) $("f-title").placeholder = file.name.replace(/\.[^.]+$/, "");
  } else {
    name.dataset.i18n = "up.nofile";
    name.textContent = t("up.nofile");
  }
}

function wireUpload() {
  const zone = $("dropzone");
  const input = $("file-input");
  $("choose-file").addEventListener("click", () => input.click());
  input.addEventListener("change", () => setFile(input.files[0]));
  for (const ev of ["dragenter", "dragover"]) {
    zone.addEventListener(ev, (e) => {
      e.preventDefault();
      zone.classList.add("over");
    });
  }
  for (const ev of ["dragleave", "drop"]) {
    zone.addEventListener(ev, (e) => {
      e.preventDefault();
      zone.classList.remove("over");
    });
  }
  zone.addEventListener("drop", (e) => {
    const file = e.dataTransfer && e.dataTransfer.files && e.dataTransfer.files[0];
    if (file) setFile(file);
  });
  // A file dropped outside the zone must not make the browser navigate away from the page.
  window.addEventListener("dragover", (e) => e.preventDefault());
  window.addEventListener("drop", (e) => e.preventDefault());
  $("upload-form").addEventListener("submit", upload);
}

async function upload(e) {
  e.preventDefault();
  const err = $("upload-error");
  err.textContent = "";
  if (!state.file) {
    err.textContent = t("up.nofile");
    $("choose-file").focus();
    return;
  }
  const form = new FormData();
  form.append("file", state.file, state.file.name);
  for (const name of ["title", "product", "language", "effective_from", "effective_to", "replaces"]) {
    const value = $("upload-form").elements[name].value.trim();
    if (value) form.append(name, value);
  }
  const btn = $("upload-btn");
  btn.disabled = true;
  btn.textContent = t("up.uploading");
  try {
    let res = await api("/v1/documents", { method: "POST", form });
    if (res && res.status && !res.chunks && res.id && /queued|running/.test(res.status)) {
      res = await pollJob(res.id); // a large file: ingested in the background
    }
    const msg = t("up.done", {
      title: res.title || state.file.name,
      version: res.version ?? "?",
      status: t(`status.${res.status}`),
      chunks: res.chunks ?? 0,
    });
    const flagged = res.status === "needs_review" ? ` ${t("up.flagged")}` : "";
    $("upload-result").textContent = msg + flagged;
    toast(msg, res.status === "needs_review" ? "info" : "ok");
    $("upload-form").reset();
    $("f-title").placeholder = "";
    setFile(null);
    await loadDocs();
  } catch (ex) {
    err.textContent = t("common.error", { detail: detailText(ex.detail) });
  } finally {
    btn.disabled = false;
    btn.textContent = t("up.submit");
  }
}

async function pollJob(jobId) {
  for (let i = 0; i < 600; i += 1) {
    const job = await api(`/v1/documents/jobs/${encodeURIComponent(jobId)}`);
    if (job.status === "done") return job.result;
    if (job.status === "failed") throw Object.assign(new Error(job.error), { detail: job.error });
    $("upload-result").textContent = `${t("status.processing")} (${job.status})`;
    await new Promise((r) => setTimeout(r, 1000));
  }
  throw Object.assign(new Error("timeout"), { detail: "the upload is still being processed" });
}

// ------------------------------------------------------------------ list

async function loadDocs() {
  const body = clear($("docs-body"));
  body.append(h("tr", {}, h("td", { colspan: 8, class: "muted" }, t("common.loading"))));
  const status = $("status-filter").value;
  try {
    state.docs = await api(`/v1/documents${status ? `?status=${encodeURIComponent(status)}` : ""}`);
  } catch (ex) {
    clear(body).append(h("tr", {}, h("td", { colspan: 8 }, t("common.error", { detail: detailText(ex.detail) }))));
    return;
  }
  renderDocs();
  fillReplaces();
}

function effective(d) {
  if (!d.effective_from && !d.effective_to) return "—";
  return `${d.effective_from || "…"} → ${d.effective_to || "…"}`;
}

function flagSummary(d) {
  const flags = d.flags || [];
  if (!flags.length) return h("span", { class: "muted" }, "0");
  const cats = [...new Set(flags.map((f) => f.category || f.rule_id).filter(Boolean))];
  return h("span", { class: "badge warn", title: cats.join(", ") }, `${flags.length} · ${cats.slice(0, 2).join(", ")}`);
}

function renderDocs() {
  const body = clear($("docs-body"));
  const q = $("doc-filter").value.trim().toLowerCase();
  const docs = state.docs.filter((d) => !q || `${d.title} ${d.source}`.toLowerCase().includes(q));
  if (!docs.length) {
    body.append(h("tr", {}, h("td", { colspan: 8, class: "empty" }, t("common.none"))));
    return;
  }
  for (const d of docs) {
    const row = h(
      "tr",
      { dataset: { id: d.id, status: d.status } },
      h("td", {}, content(d.title, "strong"), h("div", { class: "small muted" }, d.source || "")),
      h("td", {}, `v${d.version}`),
      h("td", {}, statusBadge(d.status)),
      h("td", {}, flagSummary(d)),
      h("td", { class: "small" }, effective(d)),
      h("td", {}, content(d.product || "—")),
      h("td", { class: "nowrap" }, d.language || "—"),
      h(
        "td",
        {},
        h("div", { class: "row" },
        h("button", { type: "button", class: "btn", onclick: () => showDetail(d.id),
          "aria-label": `${t("docs.details")}: ${d.title}` }, t("docs.details")),
        state.canEdit && d.status !== "retired"
          ? h("button", { type: "button", class: "btn danger", onclick: () => retire(d),
            "aria-label": `${t("docs.retire")}: ${d.title}` }, t("docs.retire"))
          : null),
      ),
    );
    body.append(row);
    if (d.status === "needs_review" && (d.flags || []).length) {
      body.append(
        h("tr", { class: "why-row" },
          h("td", { colspan: 8, class: "small" },
            h("strong", {}, `${t("docs.whyreview")}: `),
            flagList(d.flags, 3),
            d.review_note ? h("p", {}, `${t("docs.reviewnote")}: `, content(d.review_note)) : null)),
      );
    }
  }
}

function flagList(flags, max = Infinity) {
  const list = h("ul", { class: "flag-list" });
  flags.slice(0, max).forEach((f) => {
    list.append(
      h("li", {},
        f.severity ? h("span", { class: `badge ${f.severity === "block" || f.severity === "high" ? "block" : "warn"}` }, f.severity) : null,
        " ",
        h("strong", {}, f.rule_id || f.category || "?"),
        f.category && f.rule_id ? ` (${f.category})` : "",
        f.text ? [": “", content(f.text, "mark"), "”"] : null),
    );
  });
  if (flags.length > max) list.append(h("li", { class: "muted" }, `+${flags.length - max}`));
  return list;
}

function fillReplaces() {
  const select = $("f-replaces");
  const keep = select.value;
  while (select.options.length > 1) select.remove(1);
  const current = state.docs.filter((d) => d.status === "published" || d.status === "needs_review");
  for (const d of current) {
    select.append(h("option", { value: d.id, lang: "" }, `${d.title} (v${d.version})`));
  }
  select.value = keep;
}

async function showDetail(id) {
  let doc;
  try {
    doc = await api(`/v1/documents/${encodeURIComponent(id)}`);
  } catch (ex) {
    toast(t("common.error", { detail: detailText(ex.detail) }), "error");
    return;
  }
  openModal(doc.title, (body) => {
    appendAll(
      body,
      h("dl", { class: "meta" },
        h("dt", {}, t("docs.col.status")), h("dd", {}, statusBadge(doc.status)),
        h("dt", {}, t("docs.col.version")), h("dd", {}, `v${doc.version}`),
        h("dt", {}, t("docs.col.effective")), h("dd", {}, effective(doc)),
        h("dt", {}, t("docs.col.product")), h("dd", {}, content(doc.product || "—")),
        h("dt", {}, t("docs.col.lang")), h("dd", {}, doc.language || "—"),
        h("dt", {}, t("docs.chunks")), h("dd", {}, String(doc.chunk_count ?? "—")),
        h("dt", {}, t("docs.source")), h("dd", {}, doc.source || "—"),
        (doc.tags || []).length ? [h("dt", {}, t("docs.tags")), h("dd", {}, doc.tags.join(", "))] : null,
        h("dt", {}, t("docs.created")), h("dd", {}, fmtDate(doc.created_at))),
      h("h3", {}, doc.status === "needs_review" ? t("docs.whyreview") : t("docs.col.flags")),
      (doc.flags || []).length ? flagList(doc.flags) : h("p", { class: "muted" }, t("docs.noflags")),
      doc.review_note ? h("p", {}, h("strong", {}, `${t("docs.reviewnote")}: `), content(doc.review_note)) : null,
      h("h3", {}, t("docs.versions")),
      versionsTable(doc),
      doc.status === "needs_review" && allowed(state.role, ["compliance"]) && state.role !== "unknown"
        ? reviewForm(doc)
        : null,
    );
  }, { wide: true });
}

/** Compliance approves a flagged version (it is served from then on) or sends it back with a note. */
function reviewForm(doc) {
  const note = h("textarea", { id: "doc-review-note", rows: 2, maxlength: 2000, placeholder: t("q.notePh") });
  const error = h("p", { class: "form-error", role: "alert" });
  const decide = async (decision) => {
    try {
      await api(`/v1/documents/${encodeURIComponent(doc.id)}/review`, {
        method: "POST", body: { decision, note: note.value.trim() || null },
      });
      toast(`${doc.title}: ${t(decision === "approve" ? "docs.approve" : "docs.sendback")}`, "ok");
      document.querySelector("dialog.modal")?.close();
      await loadDocs();
    } catch (ex) {
      error.textContent = t("common.error", { detail: detailText(ex.detail) });
    }
  };
  return h("div", { class: "review-form" },
    h("h3", {}, t("docs.review")),
    h("label", { for: "doc-review-note" }, t("q.note")), note, error,
    h("div", { class: "row end" },
      h("button", { type: "button", class: "btn", onclick: () => decide("reject") }, t("docs.sendback")),
      h("button", { type: "button", class: "btn primary", onclick: () => decide("approve") }, t("docs.approve"))));
}

function versionsTable(doc) {
  const rows = (doc.versions || []).map((v) => h("tr", { class: v.id === doc.id ? "current" : "" },
    h("td", {}, `v${v.version}`, v.id === doc.id ? " ◀" : ""),
    h("td", {}, statusBadge(v.status)),
    h("td", {}, String(v.chunk_count ?? "")),
    h("td", { class: "small" }, fmtDate(v.created_at))));
  return h("table", {},
    h("thead", {}, h("tr", {}, h("th", {}, t("docs.col.version")), h("th", {}, t("docs.col.status")),
      h("th", {}, t("docs.chunks")), h("th", {}, t("docs.created")))),
    h("tbody", {}, rows));
}

async function retire(d) {
  // The native confirm() is keyboard- and screen-reader-friendly, and needs no extra markup.
  if (!window.confirm(t("docs.retire.confirm", { title: d.title }))) return;
  try {
    await api(`/v1/documents/${encodeURIComponent(d.id)}/retire`, { method: "POST" });
    const msg = t("docs.retired", { title: d.title });
    toast(msg, "ok");
    announce(msg);
    await loadDocs();
  } catch (ex) {
    toast(t("common.error", { detail: detailText(ex.detail) }), "error");
  }
}

// ------------------------------------------------------------------ start

async function main() {
  wireUpload();
  $("refresh-docs").addEventListener("click", loadDocs);
  $("status-filter").addEventListener("change", loadDocs);
  $("doc-filter").addEventListener("input", renderDocs);
  onLangChange(() => {
    renderDocs();
    if (state.file) setFile(state.file);
    renderGaps();
  });
  const who = await startPage();
  state.role = who.role;
  state.canEdit = allowed(who.role, ["editor"]);
  if (!state.canEdit) $("upload-section").hidden = true;
  if (!allowed(who.role, ["editor", "compliance"])) {
    const f = $("forbidden");
    f.hidden = false;
    f.textContent = t("role.forbidden", { role: t(`role.${who.role}`), need: `${t("role.editor")} / ${t("role.compliance")}` });
    $("editor-tabs").hidden = true;
    return;
  }
  wireEditorTabs({ canUpload: state.canEdit });
  await loadDocs();
}

main();
