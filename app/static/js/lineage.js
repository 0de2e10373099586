// Where a forked run came from: `parent` = {run_id, variation_id, diff_sha256} on run reads.

import { h } from "./dom.js";

/** "forked from run <id8> variation <n>" with a link to that run, or null. */
export function lineageLink(parent, { prefix = "Forked from" } = {}) {
  if (!parent || typeof parent.run_id !== "string") return null;
  const href = `#/runs/${encodeURIComponent(parent.run_id)}`;
  return h(
    "span",
    { class: "lineage", dataset: { parentRun: parent.run_id, parentVariation: String(parent.variation_id) } },
    `${prefix} `,
    h("a", { href, class: "mono", text: `run ${parent.run_id.slice(0, 8)}`, title: parent.run_id }),
    ` variation ${parent.variation_id}`,
  );
}
