// The editor page's tabs (documents, gaps) and its "gaps" tab: the customers' questions that found no approved
// answer, suggestions marked wrong, and answers from retired or expiring documents, grouped by near-duplicate
// (GET /v1/knowledge/gaps), largest group first; each group links to uploading a document that answers it.
import { api, clear, content, detailText, h, t, toast } from "./common.js";

const $ = (id) => document.getElementById(id);
const gaps = { report: null, loaded: false, canUpload: false };

function selectTab(name, focus = false) {
  for (const tab of document.querySelectorAll('#editor-tabs [role="tab"]')) {
    const on = tab.id === `etab-${name}`;
    tab.setAttribute("aria-selected", String(on));
    tab.tabIndex = on ? 0 : -1;
    $(tab.getAttribute("aria-controls")).hidden = !on;
    if (on && focus) tab.focus();
  }
  history.replaceState(null, "", name === "docs" ? location.pathname + location.search : `#${name}`);
  if (name === "gaps") loadGaps();
}

/** Wire the tabs (WAI-ARIA tabs pattern); `canUpload`: the key may upload (the groups' link is shown). */
export function wireEditorTabs({ canUpload }) {
  gaps.canUpload = canUpload;
  const tabs = [...document.querySelectorAll('#editor-tabs [role="tab"]')];
  tabs.forEach((tab, i) => {
    tab.addEventListener("click", () => selectTab(tab.id.replace("etab-", "")));
    tab.addEventListener("keydown", (e) => {
      let j = null;
      if (e.key === "ArrowRight") j = (i + 1) % tabs.length;
      else if (e.key === "ArrowLeft") j = (i - 1 + tabs.length) % tabs.length;
      else if (e.key === "Home") j = 0;
      else if (e.key === "End") j = tabs.length - 1;
      if (j !== null) {
        e.preventDefault();
        selectTab(tabs[j].id.replace("etab-", ""), true);
      }
    });
  });
  $("refresh-gaps").addEventListener("click", loadGaps);
  if (location.hash === "#gaps") selectTab("gaps");
}

async function loadGaps() {
  try {
    gaps.report = await api("/v1/knowledge/gaps");
  } catch (err) {
    toast(t("common.error", { detail: detailText(err.detail) }), "error");
    return;
  }
  renderGaps();
}

/** Show the groups (labels in the page's language; the questions in the script they were asked in). */
export function renderGaps() {
  const box = $("gaps");
  if (!box || !gaps.report) return;
  clear(box);
  const groups = gaps.report.groups || [];
  $("gaps-count").textContent = t("gaps.count", { groups: groups.length, total: gaps.report.total ?? 0 });
  if (!groups.length) {
    box.append(h("p", { class: "empty" }, t("gaps.none")));
    return;
  }
  groups.forEach((g, i) => {
    const kinds = Object.entries(g.kinds || {}).map(([k, n]) => h("span", { class: `badge kind-${k}` }, `${t(`gaps.kind.${k}`)} ${n}`));
    const examples = h("ul", { class: "gap-examples" },
      (g.examples || []).map((x) => h("li", {}, content(x.text, "q"))));
    const first = (g.examples && g.examples[0] && g.examples[0].text) || "";
    const upload = gaps.canUpload
      ? h("a", { href: "#upload-section", class: "btn primary", onclick: (e) => { e.preventDefault(); writeAnswer(first); } },
        t("gaps.upload"))
      : null;
    box.append(h("article", { class: "card gap", dataset: { size: g.size }, "aria-labelledby": `gap-${i}-h` },
      h("div", { class: "row" },
        h("h3", { id: `gap-${i}-h`, class: "grow" }, t("gaps.group", { n: g.size })),
        g.topic ? h("span", { class: "badge" }, g.topic) : null,
        ...kinds),
      examples,
      (g.documents || []).length ? h("p", { class: "small muted" }, t("gaps.documents"), ": ", g.documents.join(", ")) : null,
      upload ? h("div", { class: "row end" }, upload) : null));
  });
}

/** To the upload form, its title suggested from the group's first question. */
function writeAnswer(question) {
  selectTab("docs");
  const title = $("f-title");
  if (title && !title.value) title.value = question.slice(0, 200);
  $("upload-section").scrollIntoView({ block: "start" });
  $("choose-file").focus();
}
