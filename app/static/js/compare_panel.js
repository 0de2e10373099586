// Compare: the shown variation's check result with output tail, score with its parts and
// "Pick as winner" with an optional reason, beside its diff, or beside its diff and another
// variation's, file by file ("against"), or the diff between the two variations' trees.

import { API, ApiError, getDiff, getInterdiff, interdiffPath, selectWinner } from "./api.js";
import { renderDiff } from "./diff_view.js";
import { isUnranked, outcomeOf } from "./outcome.js";
import { renderPair } from "./pair_diff.js";
import { badge, h, replace } from "./dom.js";
import { TERMINAL_RUN, TERMINAL_VARIATION, duration, money, specLabel, tokens } from "./format.js";

function yesNo(value) {
  if (value === null || value === undefined) return h("span", { class: "muted", text: "—" });
  return value ? h("span", { class: "pass-text", text: "✓ yes" }) : h("span", { class: "fail-text", text: "✗ no" });
}

function row(label, ...value) {
  return h("div", { class: "kv" }, h("dt", { text: label }), h("dd", {}, ...value));
}

export class ComparePanel {
  constructor({ runId, onPicked }) {
    this.runId = runId;
    this.onPicked = onPicked;
    this.run = null;
    this.selected = 0;
    this.against = null; // the variation shown beside the selected one, or null
    this.againstChosen = false; // the user set it: keep it
    this.between = false; // show the diff between the two variations' trees, not the two patches
    this.patches = new Map(); // variation id -> {key, text}: the patch and what it reflects
    this.shownKey = null;
    this.tabs = h("div", { class: "tabs", role: "tablist", "aria-label": "Variations" });
    this.aside = h("aside", { class: "compare-side" });
    this.diffArea = h("div", { class: "compare-diff", "aria-live": "polite" });
    this.reason = h("textarea", { rows: "2", placeholder: "Why this one? (optional)", "aria-label": "Reason for picking the winner", maxlength: "2000" });
    this.pickButton = h("button", { type: "button", class: "button primary", text: "Pick as winner", onclick: () => this.pick() });
    this.pickError = h("p", { class: "field-error", role: "alert", hidden: true });
    this.againstSelect = h("select", { class: "against", "aria-label": "Compare against", onchange: () => this.setAgainst(this.againstSelect.value) });
    this.betweenButton = h("button", { type: "button", class: "button between-toggle", "aria-pressed": "false", text: "Diff between them", onclick: () => this.toggleBetween() });
    this.el = h(
      "section",
      { class: "card compare", id: `compare-${runId}`, tabindex: "-1", "aria-label": "Compare variations" },
      h(
        "div",
        { class: "card-head" },
        h("h2", { text: "Compare" }),
        this.tabs,
        h("label", { class: "against-field" }, h("span", { class: "muted", text: "against" }), this.againstSelect),
        this.betweenButton,
        h("span", { class: "keys muted", text: "keys: j / k next / previous · a against · w pick" }),
      ),
      h("div", { class: "compare-body" }, this.aside, this.diffArea),
    );
  }

  /** Show `value` (a variation id, or "" for none) beside the selected variation. */
  setAgainst(value) {
    this.againstChosen = true;
    this.against = value === "" || value === null ? null : Number(value);
    this.render();
  }

  /** Switch between the two patches side by side and the diff between the two trees. */
  toggleBetween() {
    this.between = !this.between;
    this.render();
  }

  /** Move the selection by `step` through the variations (wraps around). */
  step(step) {
    const ids = (this.run ? this.run.variations : []).map((v) => v.variation_id);
    if (!ids.length) return;
    const at = Math.max(0, ids.indexOf(this.selected));
    this.select(ids[(at + step + ids.length) % ids.length]);
  }

  /** Cycle "against" through the other variations and none. */
  cycleAgainst() {
    const others = (this.run ? this.run.variations : []).map((v) => v.variation_id).filter((id) => id !== this.selected);
    const options = [...others, null];
    const at = options.indexOf(this.against);
    this.setAgainst(options[(at + 1) % options.length]);
  }

  /** The best-ranked other variation with a result, as the default "against". */
  defaultAgainst(run) {
    const others = run.variations.filter((v) => v.variation_id !== this.selected && !isUnranked(v) && TERMINAL_VARIATION.has(v.status));
    others.sort((x, y) => ((x.score_parts || {}).rank || 999) - ((y.score_parts || {}).rank || 999));
    return others.length ? others[0].variation_id : null;
  }

  /** Show variation `n` (and optionally bring the panel into view). */
  select(n, { scroll = false } = {}) {
    this.selected = n;
    this.render();
    if (scroll) this.el.scrollIntoView({ behavior: "smooth", block: "start" });
  }

  /** Re-render from the run's latest state. */
  setRun(run) {
    this.run = run;
    this.render();
  }

  render() {
    const run = this.run;
    if (!run) return;
    const v = run.variations.find((x) => x.variation_id === this.selected) || run.variations[0];
    if (!v) return;
    this.selected = v.variation_id;
    if (!this.againstChosen || this.against === this.selected) this.against = this.defaultAgainst(run);
    replace(this.tabs, ...run.variations.map((x) => this.tab(x, run)));
    replace(
      this.againstSelect,
      h("option", { value: "", text: "nothing (one diff)" }),
      ...run.variations
        .filter((x) => x.variation_id !== this.selected)
        .map((x) => h("option", { value: String(x.variation_id), text: `#${x.variation_id} ${specLabel(x.spec)}`, selected: x.variation_id === this.against })),
    );
    this.againstSelect.value = this.against === null ? "" : String(this.against);
    this.betweenButton.hidden = this.against === null;
    this.betweenButton.setAttribute("aria-pressed", this.between ? "true" : "false");
    this.renderSide(v, run);
    const other = this.against === null ? null : run.variations.find((x) => x.variation_id === this.against);
    this.loadDiff(v, other || null);
  }

  tab(v, run) {
    const on = v.variation_id === this.selected;
    const mark = run.winning_variation_id === v.variation_id ? "★ " : "";
    const check = v.check ? (v.check.passed ? " ✓" : " ✗") : isUnranked(v) ? " !" : "";
    return h(
      "button",
      { type: "button", role: "tab", class: `tab${on ? " on" : ""}`, "aria-selected": on ? "true" : "false", dataset: { variation: String(v.variation_id) }, onclick: () => this.select(v.variation_id) },
      `${mark}#${v.variation_id}`,
      h("span", { class: "tab-model", text: ` ${specLabel(v.spec).replace(/^scripted\//, "")}` }),
      check ? h("span", { class: v.check && v.check.passed ? "pass-text" : "fail-text", text: check }) : null,
    );
  }

  renderSide(v, run) {
    const parts = v.score_parts || {};
    const isWinner = run.winning_variation_id === v.variation_id;
    const finished = TERMINAL_RUN.has(run.status);
    const usage = v.usage || {};
    const score = h(
      "div",
      { class: "side-block score-block" },
      h("h4", { text: "Score" }),
      h(
        "div",
        { class: "score-line" },
        h("span", { class: "score-value", text: v.score === null || v.score === undefined ? "—" : String(v.score) }),
        parts.rank ? h("span", { class: "muted", text: `rank ${parts.rank} of ${parts.of}` }) : h("span", { class: "muted", text: "not scored yet" }),
      ),
      h(
        "dl",
        { class: "kvs" },
        row("Check passed", yesNo(parts.check_passed ?? (v.check ? v.check.passed : null))),
        row("Non-empty diff", yesNo(parts.has_diff ?? (v.diff_stats ? v.diff_stats.files > 0 : null))),
        row("Cost", money(parts.cost_usd ?? v.cost_usd)),
        row("Duration", duration(parts.duration_seconds ?? v.duration_seconds)),
        row("Tokens", `${tokens(usage.input_tokens)} in · ${tokens(usage.output_tokens)} out`),
      ),
      parts.policy ? h("p", { class: "policy", text: `Order: ${parts.policy.replaceAll("_", " ")}` }) : null,
    );
    const check = v.check
      ? h(
          "div",
          { class: "side-block check-block" },
          h("h4", { text: "Check" }),
          h(
            "p",
            {},
            h("span", { class: `chip ${v.check.passed ? "pass" : "fail"}`, text: v.check.passed ? "✓ passed" : "✗ failed" }),
            h("span", { class: "muted", text: ` exit ${v.check.exit_code ?? "—"} · ${duration(v.check.duration_seconds)}` }),
          ),
          v.check.output_tail ? h("pre", { class: "output-tail", tabindex: "0", "aria-label": "Check output", text: v.check.output_tail }) : h("p", { class: "muted", text: "No output." }),
        )
      : h("div", { class: "side-block check-block" }, h("h4", { text: "Check" }), h("p", { class: "muted", text: run.check_command ? "Runs when the agent has finished." : "No check command for this run." }));
    this.pickButton.disabled = !finished || isWinner || isUnranked(v);
    const winnerNote = isWinner
      ? h("p", { class: "winner-note" }, `★ Winner, picked by ${run.winner_selected_by || "user"}`, run.winner_reason ? h("q", { text: run.winner_reason }) : null)
      : finished
        ? null
        : h("p", { class: "hint", text: "You can pick a winner once the run has finished." });
    const pick = h("div", { class: "side-block pick-block" }, winnerNote, isWinner ? null : [this.reason, this.pickButton], this.pickError);
    replace(
      this.aside,
      h("div", { class: "side-title" }, h("h3", { text: `Variation ${v.variation_id}` }), h("span", { class: `badge outcome outcome-${outcomeOf(v).kind}`, text: outcomeOf(v).label }), badge(v.status)),
      h("p", { class: "mono muted side-model", text: specLabel(v.spec) }),
      pick,
      score,
      check,
      v.error ? h("p", { class: "fail-text", text: v.error }) : null,
    );
  }

  async patch(v) {
    const key = `${v.status}|${v.finished_at}|${JSON.stringify(v.diff_stats)}`;
    const cached = this.patches.get(v.variation_id);
    if (cached && cached.key === key) return cached.text;
    const text = await getDiff(this.runId, v.variation_id);
    this.patches.set(v.variation_id, { key, text });
    return text;
  }

  async loadDiff(v, other) {
    const id = v.variation_id;
    if (isUnranked(v)) {
      this.shownKey = null;
      replace(this.diffArea, h("p", { class: "muted diff-wait", text: `No diff: ${outcomeOf(v).detail}` }));
      return;
    }
    if (!TERMINAL_VARIATION.has(v.status)) {
      this.shownKey = null;
      replace(this.diffArea, h("p", { class: "muted diff-wait", text: "The diff appears when this variation has finished." }));
      return;
    }
    const pair = other && TERMINAL_VARIATION.has(other.status) && !isUnranked(other) ? other : null;
    const keyOf = (x) => `${x.variation_id}|${x.status}|${x.finished_at}|${JSON.stringify(x.diff_stats)}`;
    const between = Boolean(pair) && this.between;
    const shownKey = pair ? `${between ? "between|" : ""}${keyOf(v)}||${keyOf(pair)}` : keyOf(v);
    if (this.shownKey === shownKey) return; // already on screen: keep its scroll position
    this.shownKey = shownKey;
    let texts;
    try {
      texts = between
        ? [await getInterdiff(this.runId, id, pair.variation_id)]
        : await Promise.all([this.patch(v), pair ? this.patch(pair) : null]);
    } catch (err) {
      if (this.shownKey === shownKey) {
        this.shownKey = null;
        replace(this.diffArea, h("p", { class: "fail-text", text: `Could not load the diff: ${err.message}` }));
      }
      return;
    }
    if (this.shownKey !== shownKey) return; // another choice was made meanwhile
    if (between) {
      const note = `From #${pair.variation_id}'s files to #${id}'s: lines only #${id} has are +, lines only #${pair.variation_id} has are −.`;
      const body = texts[0] ? renderDiff(texts[0], `${API}${interdiffPath(this.runId, id, pair.variation_id)}`) : h("p", { class: "diff-empty", text: `No difference: #${id} and #${pair.variation_id} end with the same files.` });
      replace(this.diffArea, h("div", { class: "interdiff" }, h("p", { class: "muted interdiff-note", text: note }), body));
    } else if (pair) {
      replace(this.diffArea, renderPair(texts[0], texts[1], { a: `#${id}`, b: `#${pair.variation_id}` }));
    } else {
      const url = `${API}/runs/${encodeURIComponent(this.runId)}/variations/${id}/diff`;
      replace(this.diffArea, renderDiff(texts[0], url));
    }
  }

  async pick() {
    const id = this.selected;
    this.pickError.hidden = true;
    this.pickButton.disabled = true;
    try {
      const run = await selectWinner(this.runId, id, this.reason.value.trim());
      this.reason.value = "";
      this.onPicked(run);
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      this.pickError.textContent = err.message;
      this.pickError.hidden = false;
      this.pickButton.disabled = false;
    }
  }
}
