// Runs list: newest first, status, repo, prompt excerpt, winner, cost; cursor paging.

import { listRuns } from "./api.js";
import { badge, h, replace } from "./dom.js";
import { TERMINAL_RUN, ago, excerpt, money, repoLabel, when } from "./format.js";
import { lineageLink } from "./lineage.js";

const PAGE = 20;
const REFRESH_MS = 4000;
const STATUSES = ["", "queued", "running", "succeeded", "failed", "cancelled", "interrupted"];

/** "1/3 passed" when the run has a check; else the count and "no check". */
function passedLabel(run) {
  const n = run.variation_count;
  if (!run.check_command) return h("span", { class: "muted", text: `${n} · no check`, title: "No check command: ranked by diff, cost and time only" });
  if (!TERMINAL_RUN.has(run.status) && !run.passed_count) return h("span", { class: "muted", text: `${n} · checking…` });
  const k = run.passed_count ?? 0;
  return h("span", { class: `passed ${k ? "pass-text" : "fail-text"}`, text: `${k}/${n} passed` });
}

export class RunsList {
  constructor() {
    this.cursor = null;
    this.pages = 0;
    this.timer = null;
    this.body = h("tbody");
    this.empty = h("p", { class: "empty", hidden: true, text: "No runs yet. Start one with the form." });
    this.error = h("p", { class: "form-error", role: "alert", hidden: true });
    this.more = h("button", { type: "button", class: "button", text: "Load more", hidden: true, onclick: () => this.load(false) });
    this.filter = h(
      "select",
      { "aria-label": "Filter by status", onchange: () => this.load(true) },
      ...STATUSES.map((s) => h("option", { value: s, text: s || "All statuses" })),
    );
    this.el = h(
      "section",
      { class: "card runs-list", "aria-label": "Runs" },
      h(
        "div",
        { class: "card-head" },
        h("h2", { text: "Runs" }),
        h("div", { class: "card-tools" }, this.filter, h("button", { type: "button", class: "button ghost", text: "Refresh", onclick: () => this.load(true) })),
      ),
      h(
        "table",
        { class: "runs" },
        h(
          "thead",
          {},
          h("tr", {}, ...["Status", "Task", "Outcome", "Winner", "Cost", "Created"].map((t) => h("th", { scope: "col", text: t }))),
        ),
        this.body,
      ),
      this.empty,
      this.error,
      h("div", { class: "list-foot" }, this.more),
    );
    this.load(true);
  }

  async load(reset) {
    clearTimeout(this.timer);
    try {
      const page = await listRuns({ limit: PAGE, cursor: reset ? null : this.cursor, status: this.filter.value || null });
      if (this.destroyed) return;
      if (reset) {
        this.body.replaceChildren();
        this.pages = 0;
      }
      this.pages += 1;
      this.body.append(...page.items.map((run) => this.row(run)));
      this.cursor = page.next_cursor;
      this.more.hidden = !this.cursor;
      this.empty.hidden = this.body.children.length > 0;
      this.error.hidden = true;
      // Keep the first page fresh while something on it is still going.
      if (this.pages === 1 && page.items.some((r) => !TERMINAL_RUN.has(r.status))) {
        this.timer = setTimeout(() => this.load(true), REFRESH_MS);
      }
    } catch (err) {
      replace(this.error, `Could not load runs: ${err.message}`);
      this.error.hidden = false;
    }
  }

  row(run) {
    const link = `#/runs/${encodeURIComponent(run.id)}`;
    const winner =
      run.winning_variation_id === null || run.winning_variation_id === undefined
        ? h("span", { class: "muted", text: "—" })
        : h("span", { class: "winner-chip", text: `#${run.winning_variation_id}`, title: run.winner_selected_by ? `picked by ${run.winner_selected_by}` : "" });
    const tr = h(
      "tr",
      { dataset: { runId: run.id }, onclick: (e) => { if (!e.target.closest("a")) location.hash = link; } },
      h("td", { "data-label": "Status" }, badge(run.status), run.scripted_model ? h("span", { class: "tag", text: "scripted", title: "scripted model, not Claude" }) : null),
      h(
        "td",
        { class: "task", "data-label": "Task" },
        h("a", { href: link, class: "prompt", text: excerpt(run.prompt, 110) || "(no prompt)" }),
        h("div", { class: "repo mono", text: `${repoLabel(run.repo_url)}${run.ref ? ` @ ${run.ref}` : ""}`, title: run.repo_url }),
        run.parent ? h("div", { class: "lineage-line" }, lineageLink(run.parent, { prefix: "↳ forked from" })) : null,
      ),
      h("td", { class: "outcome-cell", "data-label": "Outcome" }, passedLabel(run)),
      h("td", { "data-label": "Winner" }, winner),
      h("td", { class: "num", "data-label": "Cost", text: money(run.cost_usd) }),
      h("td", { class: "when", "data-label": "Created", text: ago(run.created_at), title: when(run.created_at) }),
    );
    return tr;
  }

  destroy() {
    clearTimeout(this.timer);
    this.timer = null;
    this.destroyed = true;
  }
}
