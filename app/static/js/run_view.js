// `#/runs/<id>`: the run header, one live column per variation, and Compare.
// Stream events move the page; a GET of the run now and then fills in what events do not
// carry (start/finish times, live cost from the gateway's metering).

import { ApiError, getRun } from "./api.js";
import { ColumnControls } from "./column_controls.js";
import { unknownContinuation } from "./message_box.js";
import { ComparePanel } from "./compare_panel.js";
import { h, replace } from "./dom.js";
import { TERMINAL_RUN } from "./format.js";
import { PushPanel } from "./push_panel.js";
import { suggestedId } from "./outcome.js";
import { RunHeader } from "./run_header.js";
import { RunStream } from "./run_stream.js";
import { VariationColumn, newerFields } from "./variation_column.js";

const POLL_MS = 3000;
const REFRESH_DELAY_MS = 250;

// Merge newer facts; a stale read never moves something finished back to running.
function merge(target, fields, terminal) {
  const next = { ...fields };
  if (next.status && terminal.has(target.status) && !terminal.has(next.status)) delete next.status;
  Object.assign(target, next);
  return target;
}

export class RunView {
  constructor(root, runId, { onScripted }) {
    this.runId = runId;
    this.onScripted = onScripted;
    this.columns = new Map();
    this.controls = new Map();
    this.epoch = 0; // bumped when a follow-up turn starts: reads begun before it are stale
    this.sawComplete = false;
    this.timers = [];
    this.refreshTimer = null;
    this.el = h("div", { class: "page run-page", dataset: { runId } }, h("p", { class: "muted loading", text: "Loading run…" }));
    root.append(this.el);
    this.init();
  }

  async init() {
    let run;
    try {
      run = await getRun(this.runId);
    } catch (err) {
      const missing = err instanceof ApiError && err.status === 404;
      replace(
        this.el,
        h("div", { class: "card empty-state" }, h("h2", { text: missing ? "Run not found" : "Could not load the run" }), h("p", { text: err.message }), h("a", { href: "#/", class: "button", text: "← All runs" })),
      );
      return;
    }
    if (this.destroyed) return;
    this.run = run;
    document.title = `Run ${run.id.slice(0, 8)} · AIdeator`;
    if (run.scripted_model) this.onScripted(true);
    this.header = new RunHeader(run, { onCancelled: (r) => this.applyRun(r) });
    this.compare = new ComparePanel({ runId: run.id, onPicked: (r) => this.applyRun(r) });
    const grid = h("div", { class: "columns", id: `columns-${run.id}` });
    this.grid = grid;
    grid.style.setProperty("--n", String(Math.max(1, run.variations.length)));
    for (const v of run.variations) this.makeColumn(v);
    this.switchButtons = {
      columns: h("button", { type: "button", role: "tab", class: "tab on", "aria-selected": "true", "aria-controls": grid.id, dataset: { view: "columns" }, text: "Live columns", onclick: () => this.setMode("columns") }),
      compare: h("button", { type: "button", role: "tab", class: "tab", "aria-selected": "false", "aria-controls": this.compare.el.id, dataset: { view: "compare" }, text: "Compare", onclick: () => this.setMode("compare") }),
    };
    const switcher = h("div", { class: "view-switch tabs", role: "tablist", "aria-label": "Run view" }, this.switchButtons.columns, this.switchButtons.compare);
    this.push = new PushPanel({ runId: run.id });
    replace(this.el, this.header.el, switcher, grid, this.compare.el, this.push.el);
    this.setMode("columns");
    this.onKey = (e) => this.keydown(e);
    document.addEventListener("keydown", this.onKey);
    this.renderWinner();
    this.compare.setRun(run);
    this.stream = new RunStream(run.id, { onEvent: (name, data, id) => this.onEvent(name, data, id), onState: (s) => this.header.setConnection(s) });
    this.stream.start();
    this.timers.push(setInterval(() => this.tick(), 1000));
    this.timers.push(setInterval(() => !TERMINAL_RUN.has(this.run.status) && this.refresh(), POLL_MS));
  }

  onEvent(name, data, id) {
    const vid = data.variation_id;
    switch (name) {
      case "agent_output": {
        const column = this.columns.get(vid);
        if (column && data.turn > 1) column.beginTurn(data.turn, null);
        if (column) column.addLine(id, data);
        break;
      }
      case "gateway_refusal": {
        // Shown as an error line of the variation: its request never left the host.
        const column = this.columns.get(vid);
        if (column) column.addLine(id, { seq: null, type: "error", text: `gateway refused: ${data.message}`, data: { ...data, code: String(data.rule ?? "refused"), source: "gateway" } });
        break;
      }
      case "setup_output":
        this.addSetupLine(data.text);
        break;
      case "egress": {
        if (data.allowed) break;
        const text = `egress refused ${data.host}:${data.port}: ${data.reason}`;
        const column = this.columns.get(vid);
        if (column) column.addLine(id, { seq: null, type: "error", text, data });
        else this.addSetupLine(text);
        break;
      }
      case "variation_status":
        if (data.turn > 1 && data.status === "running") this.turnStarted(vid, data.turn, data.prompt, true);
        else this.patchVariation(vid, { status: data.status, error: data.error ?? null, ...(data.turn ? { turn: data.turn } : {}), ...this.unknownContinuation(vid, data) });
        this.scheduleRefresh();
        break;
      case "variation_result": {
        const { variation_id: _, score, ...fields } = data;
        this.patchVariation(vid, fields);
        break;
      }
      case "run_status": {
        const wasTerminal = TERMINAL_RUN.has(this.run.status);
        // After a `complete`, `running` is a follow-up turn reopening the run.
        if (this.sawComplete && !TERMINAL_RUN.has(data.status) && TERMINAL_RUN.has(this.run.status)) {
          this.epoch += 1;
          this.run.status = data.status;
        }
        merge(this.run, { status: data.status, ...(data.base_sha ? { base_sha: data.base_sha } : {}), ...(data.error ? { error: data.error } : {}) }, TERMINAL_RUN);
        if (TERMINAL_RUN.has(data.status) && !wasTerminal) for (const v of this.run.variations) this.patchVariation(v.variation_id, this.unknownContinuation(v.variation_id));
        for (const s of data.scores || []) this.patchVariation(s.variation_id, { score: s.score, score_parts: s.score_parts });
        this.renderWinner();
        this.scheduleRefresh();
        break;
      }
      case "judge":
        this.run.judge = { model: data.model, status: data.status, error: data.error ?? null, cost_usd: data.cost_usd, calls: data.calls ?? 1 };
        // A later event (the judge asked again after synthesis) replaces every badge: a
        // variation it no longer names loses its badge.
        for (const v of this.run.variations) {
          const said = (data.verdicts || {})[String(v.variation_id)] ?? null;
          if (said || v.judge) this.patchVariation(v.variation_id, { judge: said });
        }
        break;
      case "winner":
        Object.assign(this.run, { winning_variation_id: data.variation_id, winner_selected_by: data.selected_by, winner_reason: data.reason ?? null });
        this.renderWinner();
        break;
      case "delivered":
        this.push.addDelivery(data);
        break;
      case "complete":
        this.sawComplete = true;
        merge(this.run, { status: data.status }, TERMINAL_RUN);
        this.header.update(this.run);
        this.scheduleRefresh(0);
        break;
      default:
        break;
    }
  }

  /** The setup command's output, in a box above the columns (made on its first line). */
  addSetupLine(text) {
    if (!this.setupLog) {
      this.setupLog = h("pre", { class: "setup-lines" });
      const box = h("details", { class: "card setup-log", open: true }, h("summary", { text: "Setup" }), this.setupLog);
      this.header.el.after(box);
    }
    this.setupLog.append(`${text}\n`);
  }

  patchVariation(vid, fields, force = false) {
    const target = this.run.variations.find((v) => v.variation_id === vid);
    if (!target) return;
    Object.assign(target, newerFields(target, fields, force));
    const column = this.columns.get(vid);
    if (column) column.update({ ...fields }, force);
    const controls = this.controls.get(vid);
    if (controls) controls.update(this.run, target);
    this.compare.setRun(this.run);
  }

  unknownContinuation(vid, change = null) {
    return unknownContinuation(this.run.variations.find((v) => v.variation_id === vid), change);
  }

  /**
   * Follow-up turn `turn` of variation `vid` started: its stream event (`fromStream`), or the
   * 202 of our own message, which changes nothing once the stream has shown that turn.
   */
  turnStarted(vid, turn, prompt, fromStream = false) {
    const column = this.columns.get(vid);
    const fresh = column ? column.beginTurn(turn, prompt) : false;
    if (!fromStream && !fresh) return;
    const target = this.run.variations.find((v) => v.variation_id === vid);
    if (!target || (target.turn ?? 1) > turn) return;
    if ((target.turn ?? 1) < turn || TERMINAL_RUN.has(this.run.status)) this.epoch += 1;
    this.run.status = "running";
    this.patchVariation(vid, { status: "running", error: null, turn, ...this.unknownContinuation(vid) }, true);
    this.renderWinner();
  }

  renderControls() {
    for (const v of this.run.variations) {
      const controls = this.controls.get(v.variation_id);
      if (controls) controls.update(this.run, v);
    }
  }

  /** Take a full run read (GET, select, cancel) as the new truth. */
  applyRun(fresh) {
    if (this.destroyed || !this.run) return;
    const { variations, ...fields } = fresh;
    merge(this.run, fields, TERMINAL_RUN);
    for (const v of variations || []) {
      const target = this.run.variations.find((x) => x.variation_id === v.variation_id);
      if (target) Object.assign(target, newerFields(target, v));
      else this.addColumn(v); // the run's synthesized variation, made once the others ended
      const column = this.columns.get(v.variation_id);
      if (column) column.update({ ...v });
    }
    this.header.update(this.run);
    this.renderWinner();
  }

  /** Variation `v`'s column, with its Fork… and message box, at the end of the grid. */
  makeColumn(v) {
    const runId = this.run.id;
    const controls = new ColumnControls({ runId, variationId: v.variation_id, onSent: (n, turn, prompt) => this.turnStarted(n, turn, prompt) });
    this.controls.set(v.variation_id, controls);
    const column = new VariationColumn(v, { runId, onViewDiff: (n) => this.showCompare(n), controls: controls.elements });
    this.columns.set(v.variation_id, column);
    this.grid.append(column.el);
    controls.update(this.run, v);
  }

  /** A variation the run gained after the page loaded gets its column. */
  addColumn(v) {
    this.run.variations.push(v);
    this.makeColumn(v);
    this.grid.style.setProperty("--n", String(this.run.variations.length));
    this.compare.setRun(this.run);
  }

  /** Live columns, or Compare in their place (right under the header, above the fold). */
  setMode(mode) {
    this.mode = mode;
    this.grid.hidden = mode !== "columns";
    this.compare.el.hidden = mode !== "compare";
    for (const [name, button] of Object.entries(this.switchButtons)) {
      button.classList.toggle("on", name === mode);
      button.setAttribute("aria-selected", name === mode ? "true" : "false");
    }
    this.el.dataset.mode = mode;
  }

  showCompare(n) {
    this.compare.select(n);
    this.setMode("compare");
    this.compare.el.focus({ preventScroll: true });
  }

  /** Compare keys: j / k next / previous variation, a against, w pick, Escape back. */
  keydown(e) {
    if (this.mode !== "compare" || e.ctrlKey || e.metaKey || e.altKey) return;
    const target = e.target;
    if (target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName))) return;
    const actions = {
      j: () => this.compare.step(1),
      k: () => this.compare.step(-1),
      a: () => this.compare.cycleAgainst(),
      w: () => this.compare.pickButton.disabled || this.compare.pick(),
      Escape: () => this.setMode("columns"),
    };
    const action = actions[e.key];
    if (!action) return;
    e.preventDefault();
    action();
  }

  renderWinner() {
    const suggested = suggestedId(this.run);
    for (const [vid, column] of this.columns) column.setSuggested(suggested === vid);
    for (const [vid, column] of this.columns) column.setWinner(this.run.winning_variation_id === vid);
    this.header.update(this.run);
    this.compare.setRun(this.run);
    this.push.setRun(this.run);
    this.renderControls();
  }

  scheduleRefresh(delay = REFRESH_DELAY_MS) {
    if (this.refreshTimer !== null) return;
    this.refreshTimer = setTimeout(() => {
      this.refreshTimer = null;
      this.refresh();
    }, delay);
  }

  async refresh() {
    const epoch = this.epoch;
    try {
      const fresh = await getRun(this.runId);
      if (epoch !== this.epoch) return; // asked before a turn started: the poll asks again
      this.applyRun(fresh);
    } catch {
      // the stream and the next poll carry on; a failed GET changes nothing shown
    }
  }

  tick() {
    this.header.tick();
    for (const column of this.columns.values()) column.tick();
  }

  destroy() {
    this.destroyed = true;
    if (this.onKey) document.removeEventListener("keydown", this.onKey);
    if (this.stream) this.stream.stop();
    for (const t of this.timers) clearInterval(t);
    clearTimeout(this.refreshTimer);
    document.title = "AIdeator";
  }
}
