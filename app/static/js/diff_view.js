// A variation's diff: file list with stats, then each file with coloured +/- lines.

import { parsePatch } from "./diff_parse.js";
import { h } from "./dom.js";
import { plural } from "./format.js";

const MAX_LINES = 4000; // beyond this the full patch is a download away

const STATUS_LABEL = { added: "new", deleted: "deleted", renamed: "renamed", modified: "" };
let diffCount = 0;

function statBar(additions, deletions) {
  const total = additions + deletions;
  const blocks = 5;
  const plus = total ? Math.round((additions / total) * blocks) : 0;
  return h(
    "span",
    { class: "stat-bar", "aria-hidden": "true" },
    ...Array.from({ length: blocks }, (_, i) => h("i", { class: i < plus ? "p" : total ? "m" : "" })),
  );
}

export function fileBlock(file, anchor, budget) {
  const rows = [];
  for (const line of file.lines) {
    if (budget.left <= 0) break;
    budget.left -= 1;
    rows.push(
      h(
        "tr",
        { class: `d-${line.kind}` },
        h("td", { class: "ln", text: line.oldNo ?? "" }),
        h("td", { class: "ln", text: line.newNo ?? "" }),
        h("td", { class: "code", text: line.kind === "add" ? `+${line.text}` : line.kind === "del" ? `-${line.text}` : line.kind === "ctx" ? ` ${line.text}` : line.text }),
      ),
    );
  }
  const label = STATUS_LABEL[file.status];
  const name = file.status === "renamed" ? `${file.oldPath} → ${file.newPath}` : file.path;
  return h(
    "section",
    { class: "diff-file", id: anchor, dataset: { path: file.path } },
    h(
      "header",
      { class: "diff-file-head" },
      label ? h("span", { class: `tag file-${file.status}`, text: label }) : null,
      h("span", { class: "mono path", text: name }),
      h("span", { class: "diff-file-stats" }, h("span", { class: "plus", text: `+${file.additions}` }), " ", h("span", { class: "minus", text: `−${file.deletions}` })),
    ),
    file.binary
      ? h("p", { class: "muted diff-note", text: "Binary file (not shown)." })
      : h("div", { class: "diff-scroll", tabindex: "0", "aria-label": `Changes to ${name}` }, h("table", { class: "diff-table" }, h("tbody", {}, ...rows))),
  );
}

/** The diff view for a patch; `patchUrl` downloads the whole patch. */
export function renderDiff(patch, patchUrl) {
  const files = parsePatch(patch);
  if (!files.length) return h("div", { class: "diff-empty" }, h("p", { text: "No changes: this variation left the repository as it was." }));
  const prefix = `diff${++diffCount}`;
  const adds = files.reduce((n, f) => n + f.additions, 0);
  const dels = files.reduce((n, f) => n + f.deletions, 0);
  const budget = { left: MAX_LINES };
  const list = h(
    "table",
    { class: "file-list" },
    h(
      "tbody",
      {},
      ...files.map((f, i) =>
        h(
          "tr",
          {},
          h("td", {}, h("a", { href: `#${prefix}-${i}`, class: "mono", text: f.path, onclick: (e) => { e.preventDefault(); document.getElementById(`${prefix}-${i}`).scrollIntoView({ block: "start", behavior: "smooth" }); } })),
          h("td", { class: "num plus", text: `+${f.additions}` }),
          h("td", { class: "num minus", text: `−${f.deletions}` }),
          h("td", {}, statBar(f.additions, f.deletions)),
        ),
      ),
    ),
  );
  const blocks = files.map((f, i) => fileBlock(f, `${prefix}-${i}`, budget));
  return h(
    "div",
    { class: "diff" },
    h(
      "div",
      { class: "diff-summary" },
      h("strong", { text: plural(files.length, "file") + " changed" }),
      h("span", { class: "plus", text: ` +${adds}` }),
      h("span", { class: "minus", text: ` −${dels}` }),
      h("a", { class: "button ghost small", href: patchUrl, download: "", text: "Download patch" }),
    ),
    list,
    ...blocks,
    budget.left <= 0 ? h("p", { class: "muted diff-note", text: `Diff cut at ${MAX_LINES.toLocaleString()} lines; download the patch for the rest.` }) : null,
  );
}
