// The run page header: status, prompt, repository, timing, cost, winner, cancel.

import { cancelRun } from "./api.js";
import { badge, h, setBadge, setText } from "./dom.js";
import { TERMINAL_RUN, ago, duration, elapsed, money, when } from "./format.js";
import { lineageLink } from "./lineage.js";
import { firstLine } from "./outcome.js";

const CONNECTION_LABEL = {
  connecting: "connecting…",
  live: "live",
  reconnecting: "reconnecting…",
  ended: "finished",
};

export class RunHeader {
  constructor(run, { onCancelled }) {
    this.run = run;
    this.onCancelled = onCancelled;
    this.badge = badge(run.status);
    this.connection = h("span", { class: "conn", dataset: { state: "connecting" }, text: CONNECTION_LABEL.connecting });
    this.cancel = h("button", { type: "button", class: "button danger small", text: "Cancel run", onclick: () => this.doCancel() });
    this.again = h("a", { class: "button small", href: `#/new?from=${encodeURIComponent(run.id)}`, text: "Run again", title: "A new run with the same settings (you can change them first)" });
    this.noCheck = run.check_command
      ? null
      : h(
          "p",
          { class: "notice warn no-check", role: "note" },
          h("strong", { text: "No check command: " }),
          "nothing tested these variations, so the ranking is by diff, cost and time only. ",
          (this.suggested = h("span", { class: "suggested-check", hidden: true })),
          (this.againWithCheck = h("a", { href: `#/new?from=${encodeURIComponent(run.id)}`, text: "Run again with a check" })),
        );
    this.error = h("p", { class: "form-error", role: "alert", hidden: true });
    this.elapsed = h("span", { class: "meta-value" });
    this.started = h("span", { class: "meta-value", title: when(run.created_at) });
    this.cost = h("span", { class: "meta-value" });
    this.base = h("span", { class: "meta-value mono" });
    this.winner = h("div", { class: "winner-line", hidden: true });
    this.prompt = h("p", { class: "run-prompt clamped", text: run.prompt, title: "Click to show all", onclick: () => this.prompt.classList.toggle("clamped") });
    const meta = (label, value) => h("div", { class: "meta" }, h("span", { class: "meta-label", text: label }), value);
    this.el = h(
      "section",
      { class: "card run-head" },
      h(
        "div",
        { class: "run-head-top" },
        h("a", { href: "#/", class: "back", text: "← Runs" }),
        this.badge,
        h("h1", { class: "mono", text: `Run ${run.id.slice(0, 8)}`, title: run.id }),
        this.connection,
        h("span", { class: "spacer" }),
        this.again,
        this.cancel,
      ),
      this.prompt,
      run.parent ? h("p", { class: "run-lineage" }, lineageLink(run.parent)) : null,
      h(
        "div",
        { class: "run-meta" },
        meta("Repository", h("span", { class: "meta-value mono", text: `${run.repo_url}${run.ref ? ` @ ${run.ref}` : ""}`, title: run.repo_url })),
        meta("Base", this.base),
        run.check_command ? meta("Check", h("span", { class: "meta-value mono", text: run.check_command })) : null,
        meta("Backend", h("span", { class: "meta-value", text: run.backend })),
        run.budget_usd ? meta("Budget", h("span", { class: "meta-value", text: money(run.budget_usd) })) : null,
        meta("Started", this.started),
        meta("Elapsed", this.elapsed),
        meta("Cost", this.cost),
      ),
      this.winner,
      this.noCheck,
      this.error,
    );
    this.update(run);
  }

  /** Name the repository's obvious test command and offer a run again with it. */
  showSuggestedCheck(command) {
    if (!this.noCheck || !command || this.suggested.dataset.command === command) return;
    this.suggested.dataset.command = command;
    this.suggested.replaceChildren("This repository looks like it runs ", h("code", { text: command }), ". ");
    this.suggested.hidden = false;
    this.againWithCheck.href = `#/new?from=${encodeURIComponent(this.run.id)}&check=suggested`;
    this.againWithCheck.textContent = "Run again with this check";
  }

  update(run) {
    this.run = run;
    this.showSuggestedCheck(run.suggested_check_command);
    setBadge(this.badge, run.status);
    this.cancel.hidden = TERMINAL_RUN.has(run.status);
    setText(this.base, run.base_sha ? run.base_sha.slice(0, 10) : "—");
    const total = run.variations.reduce((sum, v) => sum + (Number(v.cost_usd) || 0), 0);
    setText(this.cost, money(total));
    this.tick();
    const vid = run.winning_variation_id;
    this.winner.hidden = vid === null || vid === undefined;
    if (!this.winner.hidden) {
      this.winner.replaceChildren(
        h("span", { class: "winner-star", text: "★" }),
        h("strong", { text: ` Winner: variation ${vid}` }),
        h("span", { class: "muted", text: ` · picked by ${run.winner_selected_by || "user"}` }),
        run.winner_reason ? h("q", { text: run.winner_reason }) : null,
      );
      this.winner.dataset.variation = String(vid);
    }
    if (run.error && TERMINAL_RUN.has(run.status) && run.status !== "succeeded") {
      this.error.textContent = firstLine(run.error);
      this.error.title = run.error;
      this.error.hidden = false;
    }
  }

  setConnection(state) {
    this.connection.dataset.state = state;
    setText(this.connection, CONNECTION_LABEL[state] || state);
  }

  tick() {
    const run = this.run;
    setText(this.started, ago(run.created_at));
    setText(this.elapsed, duration(elapsed(run.started_at || run.created_at, TERMINAL_RUN.has(run.status) ? run.finished_at : null)));
  }

  async doCancel() {
    const running = this.run.variations.filter((v) => v.status === "running" || v.status === "queued").length;
    const ask = `Cancel run ${this.run.id.slice(0, 8)}? ${running ? `${running} variation(s) still working will be stopped; ` : ""}what they did so far is kept, but they will not finish.`;
    if (!window.confirm(ask)) return;
    this.cancel.disabled = true;
    this.error.hidden = true;
    try {
      this.onCancelled(await cancelRun(this.run.id));
    } catch (err) {
      this.error.textContent = err.message;
      this.error.hidden = false;
    } finally {
      this.cancel.disabled = false;
    }
  }
}
