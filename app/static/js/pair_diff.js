// Two variations side by side: which files each changed (and whether the same way), then
// each file's change from both, next to each other.

import { parsePatch } from "./diff_parse.js";
import { fileBlock } from "./diff_view.js";
import { h } from "./dom.js";

const MAX_LINES = 3000; // per side
let pairCount = 0;

function changedLines(file) {
  return file.lines.filter((l) => l.kind === "add" || l.kind === "del").map((l) => `${l.kind}:${l.text}`).join("\n");
}

/** Files of both patches: [{path, a, b, relation}] with relation same | different | only-a | only-b. */
export function pairFiles(patchA, patchB) {
  const a = new Map(parsePatch(patchA).map((f) => [f.path, f]));
  const b = new Map(parsePatch(patchB).map((f) => [f.path, f]));
  const paths = [...new Set([...a.keys(), ...b.keys()])].sort();
  return paths.map((path) => {
    const fa = a.get(path) || null;
    const fb = b.get(path) || null;
    let relation = fa && fb ? (changedLines(fa) === changedLines(fb) ? "same" : "different") : fa ? "only-a" : "only-b";
    return { path, a: fa, b: fb, relation };
  });
}

function stats(file) {
  if (!file) return h("span", { class: "muted", text: "—" });
  return h("span", {}, h("span", { class: "plus", text: `+${file.additions}` }), " ", h("span", { class: "minus", text: `−${file.deletions}` }));
}

const RELATION = { same: "same change", different: "different", "only-a": "only left", "only-b": "only right" };

/** The side-by-side view of two patches; `labels` name the left and right variations. */
export function renderPair(patchA, patchB, labels) {
  const files = pairFiles(patchA, patchB);
  if (!files.length) return h("div", { class: "diff-empty" }, h("p", { text: "Neither variation changed anything." }));
  const prefix = `pair${++pairCount}`;
  const budgets = { a: { left: MAX_LINES }, b: { left: MAX_LINES } };
  const list = h(
    "table",
    { class: "file-list pair-list" },
    h("thead", {}, h("tr", {}, h("th", { scope: "col", text: "File" }), h("th", { scope: "col", class: "num", text: labels.a }), h("th", { scope: "col", class: "num", text: labels.b }), h("th", { scope: "col", text: "" }))),
    h(
      "tbody",
      {},
      ...files.map((f, i) =>
        h(
          "tr",
          { dataset: { relation: f.relation } },
          h("td", {}, h("a", { href: `#${prefix}-${i}`, class: "mono", text: f.path, onclick: (e) => { e.preventDefault(); document.getElementById(`${prefix}-${i}`).scrollIntoView({ block: "start", behavior: "smooth" }); } })),
          h("td", { class: "num" }, stats(f.a)),
          h("td", { class: "num" }, stats(f.b)),
          h("td", {}, h("span", { class: `relation rel-${f.relation}`, text: RELATION[f.relation] })),
        ),
      ),
    ),
  );
  const side = (file, budget, who) => (file ? fileBlock(file, null, budget) : h("div", { class: "diff-empty pair-missing", text: `${who} did not change this file.` }));
  const rows = files.map((f, i) =>
    h(
      "div",
      { class: "pair-file", id: `${prefix}-${i}`, dataset: { path: f.path, relation: f.relation } },
      f.relation === "same"
        ? [h("p", { class: "pair-same", text: `${f.path}: both made the same change` }), fileBlock(f.a, null, budgets.a)]
        : h("div", { class: "pair-sides" }, side(f.a, budgets.a, labels.a), side(f.b, budgets.b, labels.b)),
    ),
  );
  return h("div", { class: "diff pair" }, list, ...rows);
}
