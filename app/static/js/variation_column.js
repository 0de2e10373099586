// One live column per variation: status, elapsed, tokens, cost, and its agent lines.
// The DOM keeps the last DOM_CAP lines; every line stays in memory for the log download.
// DOM work is batched once per animation frame, so a replay of thousands of lines costs
// one append of at most DOM_CAP elements per column.

import { isShown, lineToText, renderLine } from "./agent_line.js";
import { h, setText } from "./dom.js";
import { TERMINAL_VARIATION, duration, elapsed, money, plural, specLabel, tokens } from "./format.js";
import { isUnranked, outcomeOf } from "./outcome.js";

export const DOM_CAP = 500;
const STICK_PX = 48; // "at the bottom" tolerance for auto-scroll

const dirty = new Set();
let frameRequested = false;

function scheduleFlush(column) {
  dirty.add(column);
  if (frameRequested) return;
  frameRequested = true;
  requestAnimationFrame(() => {
    frameRequested = false;
    const columns = [...dirty];
    dirty.clear();
    for (const c of columns) c.flush();
  });
}

const TURN_FIELDS = ["status", "turn", "continuable", "continuable_reason", "continuable_until"];

/**
 * The part of `fields` that is news for variation `current`: a slow GET must not move a
 * finished variation back to running (unless `force`: a stream event that starts a
 * follow-up turn), and facts about an earlier turn than the one shown are dropped.
 */
export function newerFields(current, fields, force = false) {
  const next = { ...fields };
  if (next.turn !== undefined && next.turn < (current.turn ?? 1)) for (const key of TURN_FIELDS) delete next[key];
  if (!force && next.status && TERMINAL_VARIATION.has(current.status) && !TERMINAL_VARIATION.has(next.status)) delete next.status;
  return next;
}

function turnSeparator(line) {
  return h("div", { class: "turn-sep", dataset: { turn: String(line.turn) } }, h("span", { text: line.text, title: line.text }));
}

export class VariationColumn {
  /** controls: {actions, foot, tail}: elements the run view adds (Fork…, the message box). */
  constructor(variation, { runId, onViewDiff, controls = {} }) {
    this.id = variation.variation_id;
    this.runId = runId;
    this.v = { ...variation };
    this.lines = []; // every agent line received, for the download
    this.shown = 0; // lines that get an element (all but usage)
    this.pending = [];
    this.stick = true;
    this.liveUsage = null;
    this.shownTurn = 1; // the last turn whose separator (or first line) the column has

    this.badge = h("span", { class: "badge outcome" });
    this.statusLine = h("div", { class: "vcol-status" });
    this.winnerBadge = h("span", { class: "badge winner", text: "★ Winner", hidden: true });
    this.suggestedBadge = h("span", { class: "badge suggested", text: "Suggested", title: "Best-ranked variation that qualifies; pick it (or another) as the winner", hidden: true });
    this.stats = {
      time: h("span", { class: "stat", title: "elapsed" }),
      tokens: h("span", { class: "stat", title: "input / output tokens" }),
      cost: h("span", { class: "stat", title: "model cost" }),
    };
    this.note = h(
      "div",
      { class: "hidden-note", hidden: true },
      h("span", { class: "hidden-count" }),
      h("button", { type: "button", class: "link", text: "download full log", onclick: () => this.download() }),
    );
    this.linesEl = h("div", { class: "lines" });
    this.log = h("div", { class: "vcol-log", tabindex: "0", "aria-label": `Variation ${this.id} output`, onscroll: () => this.onScroll() }, this.note, this.linesEl);
    this.jump = h("button", { type: "button", class: "jump", text: "↓ Latest", hidden: true, onclick: () => this.toBottom() });
    this.summary = h("div", { class: "vcol-summary" });
    this.diffButton = h("button", { type: "button", class: "button small", text: "View diff", dataset: { action: "diff" }, onclick: () => onViewDiff(this.id) });
    // The footer comes before the log in the DOM (CSS shows it below): keyboard users reach
    // "View diff" without tabbing through every tool line.
    this.el = h(
      "section",
      { class: "vcol", dataset: { variation: String(this.id) }, "aria-label": `Variation ${this.id}` },
      h(
        "header",
        { class: "vcol-head" },
        h("div", { class: "vcol-title" }, h("h3", { text: `Variation ${this.id}` }), this.winnerBadge, this.suggestedBadge, this.badge),
        this.statusLine,
        h("div", { class: "vcol-model mono", text: specLabel(variation.spec), title: specLabel(variation.spec) }),
        variation.synthesized_from && h("div", { class: "vcol-lineage", text: `Synthesized from ${variation.synthesized_from.map((n) => `variation ${n}`).join(" and ")}` }),
        h("div", { class: "vcol-stats" }, this.stats.time, this.stats.tokens, this.stats.cost),
      ),
      h(
        "footer",
        { class: "vcol-foot" },
        this.summary,
        h(
          "div",
          { class: "vcol-actions" },
          this.diffButton,
          h("button", { type: "button", class: "button ghost small", text: "Download log", dataset: { action: "download" }, onclick: () => this.download() }),
          controls.actions,
        ),
        controls.foot,
      ),
      // The message box: before the log in the tab order too, shown at the bottom (CSS order).
      controls.tail,
      h("div", { class: "vcol-body" }, this.log, this.jump),
    );
    this.render();
  }

  /** An `agent_output` event. */
  addLine(id, payload) {
    const line = { id, seq: payload.seq, type: String(payload.type ?? "log"), text: payload.text, data: payload.data };
    this.lines.push(line);
    if (line.type === "usage" && line.data) this.liveUsage = line.data;
    if (isShown(line)) {
      this.shown += 1;
      this.pending.push(line);
    }
    scheduleFlush(this);
  }

  /**
   * A separator before turn `turn`'s lines ("Turn 2: <prompt>"), once per turn; false when
   * the column already has it (a replay, or the second event of the same turn).
   */
  beginTurn(turn, prompt) {
    if (!(turn > this.shownTurn)) return false;
    this.shownTurn = turn;
    const line = { id: null, seq: null, type: "turn", text: prompt ? `Turn ${turn}: ${prompt}` : `Turn ${turn}`, turn };
    this.lines.push(line);
    this.shown += 1;
    this.pending.push(line);
    scheduleFlush(this);
    return true;
  }

  /**
   * Newer facts about the variation (GET /runs/{id} or stream events). `force`: a stream
   * event that starts a follow-up turn, which does move a finished variation back to running.
   */
  update(fields, force = false) {
    Object.assign(this.v, newerFields(this.v, fields, force));
    this.render();
  }

  setWinner(on) {
    this.winnerBadge.hidden = !on;
    this.el.classList.toggle("is-winner", on);
  }

  setSuggested(on) {
    this.suggestedBadge.hidden = !on;
    this.el.classList.toggle("is-suggested", on);
  }

  flush() {
    const batch = this.pending;
    this.pending = [];
    // Lines older than the last DOM_CAP of this batch would be trimmed at once: skip them.
    const frag = document.createDocumentFragment();
    for (let i = Math.max(0, batch.length - DOM_CAP); i < batch.length; i++) {
      const el = batch[i].type === "turn" ? turnSeparator(batch[i]) : renderLine(batch[i]);
      if (el) frag.append(el);
    }
    this.linesEl.append(frag);
    for (let excess = this.linesEl.childElementCount - DOM_CAP; excess > 0; excess--) {
      this.linesEl.firstElementChild.remove();
    }
    const hidden = this.shown - this.linesEl.childElementCount;
    this.el.dataset.lines = String(this.shown); // received so far, shown or not (tests read it)
    this.note.hidden = hidden <= 0;
    if (hidden > 0) setText(this.note.firstElementChild, `${plural(hidden, "earlier line")} not shown —`);
    this.renderStats();
    if (this.stick) this.log.scrollTop = this.log.scrollHeight;
  }

  onScroll() {
    const log = this.log;
    this.stick = log.scrollHeight - log.scrollTop - log.clientHeight < STICK_PX;
    this.jump.hidden = this.stick;
  }

  toBottom() {
    this.stick = true;
    this.jump.hidden = true;
    this.log.scrollTop = this.log.scrollHeight;
  }

  render() {
    const outcome = outcomeOf(this.v);
    this.badge.className = `badge outcome outcome-${outcome.kind}`;
    setText(this.badge, outcome.label);
    this.el.dataset.status = this.v.status;
    this.el.dataset.outcome = outcome.kind;
    const status = this.v.status.replace("_", " ");
    setText(this.statusLine, outcome.kind === "error" ? status : [outcome.detail, status].filter(Boolean).join(" · "));
    this.diffButton.hidden = isUnranked(this.v);
    this.renderStats();
    this.renderSummary();
  }

  renderStats() {
    const v = this.v;
    const secs = v.duration_seconds ?? elapsed(v.started_at, TERMINAL_VARIATION.has(v.status) ? v.finished_at : null);
    setText(this.stats.time, secs === null ? "—" : duration(secs));
    const usage = v.usage && v.usage.input_tokens ? v.usage : this.liveUsage || v.usage || {};
    setText(this.stats.tokens, `${tokens(usage.input_tokens)} in · ${tokens(usage.output_tokens)} out`);
    setText(this.stats.cost, money(v.cost_usd ?? 0));
  }

  renderSummary() {
    const v = this.v;
    const parts = [];
    if (v.diff_stats) {
      const s = v.diff_stats;
      parts.push(
        s.files
          ? h("span", { class: "chip" }, `${plural(s.files, "file")} `, h("span", { class: "plus", text: `+${s.insertions}` }), " ", h("span", { class: "minus", text: `−${s.deletions}` }))
          : h("span", { class: "chip muted", text: "no changes" }),
      );
    }
    if (v.check) {
      parts.push(
        v.check.passed
          ? h("span", { class: "chip pass", text: "✓ check passed" })
          : h("span", { class: "chip fail", text: `✗ check failed${v.check.exit_code === null ? "" : ` (exit ${v.check.exit_code})`}` }),
      );
    }
    if (v.score !== null && v.score !== undefined) {
      const rank = v.score_parts && v.score_parts.rank ? ` · #${v.score_parts.rank} of ${v.score_parts.of}` : "";
      parts.push(h("span", { class: "chip score", text: `score ${v.score}${rank}` }));
    }
    if (v.judge) {
      // The run's judge: a small verdict badge, and its rationale under the chips.
      const j = v.judge;
      parts.push(h("span", { class: `chip verdict verdict-${j.verdict}`, title: `The judge ranked it ${j.rank}`, dataset: { role: "verdict" }, text: `judge: ${j.verdict} · #${j.rank}` }));
      parts.push(h("p", { class: "judge-rationale", dataset: { role: "rationale" }, text: j.rationale }));
    }
    if (isUnranked(v)) {
      parts.push(h("span", { class: "chip muted", text: "not ranked" }));
      parts.push(h("p", { class: "cause", text: outcomeOf(v).detail, title: v.error }));
    } else if (v.error) parts.push(h("span", { class: "chip fail", text: v.error, title: v.error }));
    if (!parts.length) parts.push(h("span", { class: "muted", text: TERMINAL_VARIATION.has(v.status) ? "no result" : "working…" }));
    this.summary.replaceChildren(...parts);
  }

  /** Tick the elapsed time of a running variation. */
  tick() {
    if (!TERMINAL_VARIATION.has(this.v.status)) this.renderStats();
  }

  /** The full log (every line received, not just the ones in the DOM) as a text file. */
  download() {
    const header = `# run ${this.runId} variation ${this.id} (${specLabel(this.v.spec)})\n`;
    const text = header + this.lines.map(lineToText).join("\n") + "\n";
    const url = URL.createObjectURL(new Blob([text], { type: "text/plain;charset=utf-8" }));
    const a = h("a", { href: url, download: `run-${this.runId.slice(0, 8)}-variation-${this.id}.log`, hidden: true });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  }
}
