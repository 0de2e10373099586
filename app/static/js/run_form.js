// The "New run" form: client-side hints first, then the server's 4xx messages beside the
// field they name (`repo_url`, `variations.0.model`, ...).

import { ApiError, createRun } from "./api.js";
import { h, replace } from "./dom.js";

const SCRIPTED_MODELS = ["scripted/fix-correct", "scripted/fix-bad", "scripted/no-change", "scripted/fix-alt", "scripted/synthesize-median", "scripted/judge"];
const CLAUDE_MODELS = ["claude-sonnet-4-5", "claude-opus-4-1", "claude-haiku-4-5"];
const COMMON_CHECKS = ["python3 -m pytest -q", "python3 -m unittest -q", "npm test", "go test ./...", "cargo test"];
const MAX_ROWS = 50; // the server's own limit (5 by default) is the one that counts

let formCount = 0;

function field(name, label, control, hint) {
  control.id ||= `f${++formCount}-${name.replaceAll(".", "-")}`;
  control.name = name;
  const error = h("p", { class: "field-error", id: `${control.id}-error`, role: "alert", hidden: true });
  control.setAttribute("aria-describedby", `${control.id}-error`);
  return h(
    "div",
    { class: "field", dataset: { field: name } },
    label && h("label", { for: control.id, text: label }),
    control,
    hint && h("p", { class: "hint", text: hint }),
    error,
  );
}

export class RunForm {
  constructor({ ready }) {
    this.models = h("datalist", { id: `models-${++formCount}` });
    this.rowsEl = h("div", { class: "var-rows" });
    this.rows = [];
    this.count = h("input", { type: "number", min: "1", max: String(MAX_ROWS), step: "1", value: "3", class: "count", inputmode: "numeric", id: `count-${formCount}`, "aria-label": "Number of variations" });
    this.count.addEventListener("input", () => this.syncRows());
    this.formError = h("div", { class: "form-error", role: "alert", hidden: true });
    this.submit = h("button", { type: "submit", class: "button primary", text: "Start run" });
    this.inputs = {
      repo_url: h("input", { type: "text", placeholder: "https://github.com/owner/repo", autocomplete: "url", spellcheck: "false", required: true }),
      ref: h("input", { type: "text", placeholder: "default branch", spellcheck: "false" }),
      prompt: h("textarea", { rows: "4", placeholder: "Fix the failing test in tests/test_summary.py", required: true }),
      check_command: h("input", { type: "text", class: "mono", placeholder: "none", spellcheck: "false" }),
      budget_usd: h("input", { type: "number", min: "0", step: "0.01", placeholder: "no limit", inputmode: "decimal" }),
      early_stop: h(
        "select",
        {},
        h("option", { value: "never", text: "Never" }),
        h("option", { value: "first_pass", text: "When one passes" }),
        h("option", { value: "passing", text: "When K have passed" }),
      ),
      early_stop_passing: h("input", { type: "number", min: "1", step: "1", value: "2", inputmode: "numeric", "aria-label": "Early stop: passing variations (K)" }),
      judge_model: h("input", { type: "text", class: "mono", placeholder: "no judge", spellcheck: "false" }),
      judge_instructions: h("input", { type: "text", placeholder: "what matters most (optional)" }),
      synthesize_top: h("input", { type: "number", min: "2", step: "1", placeholder: "off", inputmode: "numeric" }),
      synthesize_model: h("input", { type: "text", class: "mono", placeholder: "first variation's model", spellcheck: "false" }),
      winner_policy: h(
        "select",
        {},
        h("option", { value: "manual", text: "I pick the winner" }),
        h("option", { value: "best_score", text: "Best score wins" }),
      ),
    };
    const stepper = (delta, label) =>
      h("button", { type: "button", class: "button ghost step", "aria-label": label, text: delta > 0 ? "+" : "−", onclick: () => this.step(delta) });
    this.el = h(
      "form",
      { class: "card run-form", novalidate: true, "aria-label": "New run", onsubmit: (e) => this.onSubmit(e) },
      h("h2", { text: "New run" }),
      field("repo_url", "Repository URL", this.inputs.repo_url, "A git repository the server may clone (https)."),
      h(
        "div",
        { class: "field-row" },
        field("ref", "Ref", this.inputs.ref, "Branch, tag or commit."),
        field("budget_usd", "Budget (USD)", this.inputs.budget_usd, "Model spend cap for the whole run."),
      ),
      field("prompt", "Prompt", this.inputs.prompt, "The task every variation gets."),
      field("check_command", "Check command", this.inputs.check_command, "Runs on each variation's tree afterwards; exit 0 = pass."),
      this.checkHelp(),
      h(
        "fieldset",
        { class: "variations" },
        h("legend", { text: "Variations" }),
        h(
          "div",
          { class: "field count-field", dataset: { field: "variations" } },
          h("div", { class: "stepper" }, stepper(-1, "Fewer variations"), this.count, stepper(1, "More variations")),
          h("p", { class: "hint", text: "One row per variation; leave a model empty for the server's default." }),
          h("p", { class: "field-error", role: "alert", hidden: true }),
        ),
        this.rowsEl,
        this.models,
      ),
      this.afterVariations(),
      field("winner_policy", "Winner", this.inputs.winner_policy),
      this.formError,
      h("div", { class: "form-actions" }, this.submit),
    );
    this.setReady(ready);
    this.syncRows();
    this.syncCheckHelp();
  }

  /** Early stop and synthesis (`early_stop`, `synthesize`). */
  afterVariations() {
    const stop = this.inputs.early_stop;
    const passing = field("early_stop.passing", null, this.inputs.early_stop_passing);
    const syncStop = () => {
      passing.hidden = stop.value !== "passing";
    };
    stop.addEventListener("change", syncStop);
    this.syncStop = syncStop;
    syncStop();
    return h(
      "fieldset",
      { class: "after-variations" },
      h("legend", { text: "Stop early, judge, combine" }),
      h(
        "div",
        { class: "field-row" },
        field("early_stop", "Early stop", stop, "Cancel the variations still running once enough passed the check (needs a check command)."),
        passing,
      ),
      h(
        "div",
        { class: "field-row" },
        field("judge.model", "Judge model", this.inputs.judge_model, "Ranks the finished variations with a verdict each; its rank comes right after the check."),
        field("judge.instructions", "Judge instructions", this.inputs.judge_instructions),
      ),
      h(
        "div",
        { class: "field-row" },
        field("synthesize.top", "Synthesize the top K", this.inputs.synthesize_top, "Afterwards one more variation combines the K best diffs into one change. Empty: off."),
        field("synthesize.model", "Synthesis model", this.inputs.synthesize_model),
      ),
    );
  }

  focus() {
    this.inputs.repo_url.focus();
  }

  /** Without a check the ranking is by diff, cost and time only: say so, offer the usual ones. */
  checkHelp() {
    const use = (command) => h("button", { type: "button", class: "chip chip-button mono", text: command, onclick: () => { this.inputs.check_command.value = command; this.syncCheckHelp(); } });
    this.noCheckNote = h(
      "div",
      { class: "notice warn no-check", role: "note" },
      h("p", { text: "No check: nothing will test the variations, so the ranking is by diff, cost and time only." }),
      h("p", { class: "check-choices" }, h("span", { text: "Common: " }), ...COMMON_CHECKS.map(use)),
    );
    this.inputs.check_command.addEventListener("input", () => this.syncCheckHelp());
    return this.noCheckNote;
  }

  syncCheckHelp() {
    this.noCheckNote.hidden = Boolean(this.inputs.check_command.value.trim());
  }

  /** Fill the form from an earlier run ("Run again"). */
  prefill(run, { suggestedCheck = false } = {}) {
    const set = (name, value) => {
      this.inputs[name].value = value === null || value === undefined ? "" : String(value);
    };
    set("repo_url", run.repo_url);
    set("ref", run.ref);
    set("prompt", run.prompt);
    set("check_command", run.check_command || (suggestedCheck ? run.suggested_check_command : null));
    set("budget_usd", run.budget_usd);
    set("winner_policy", run.winner_policy || "manual");
    const passing = run.early_stop && run.early_stop.passing;
    set("early_stop", passing ? (passing === 1 ? "first_pass" : "passing") : "never");
    if (passing > 1) set("early_stop_passing", passing);
    this.syncStop();
    set("judge_model", run.judge ? run.judge.model : null);
    set("synthesize_top", run.synthesis ? run.synthesis.top : null);
    set("synthesize_model", run.synthesis ? run.synthesis.model : null);
    const specs = (run.variations || []).map((v) => v.spec || {});
    this.count.value = String(Math.max(1, specs.length));
    this.syncRows();
    specs.forEach((spec, i) => {
      this.rows[i].model.value = spec.model || "";
      this.rows[i].append.value = spec.system_prompt_append || "";
    });
    this.syncCheckHelp();
    const commands = specs.filter((spec) => spec.agent === "command").length;
    this.formError.textContent = commands ? `${commands} variation(s) of that run were commands, which this form cannot start; they are Claude Code rows here.` : "";
    this.formError.hidden = !commands;
    this.inputs.prompt.focus();
  }

  /** Model suggestions depend on whether the server uses the scripted model. */
  setReady(ready) {
    if (!ready) return;
    const model = ready.checks && ready.checks.model;
    const scripted = typeof model === "string" && model.startsWith("scripted");
    replace(this.models, ...(scripted ? SCRIPTED_MODELS : CLAUDE_MODELS).map((m) => h("option", { value: m })));
  }

  step(delta) {
    const n = Math.min(MAX_ROWS, Math.max(1, (parseInt(this.count.value, 10) || 0) + delta));
    this.count.value = String(n);
    this.syncRows();
  }

  // Keep one row per variation; rows beyond the count are kept (hidden) so values survive.
  syncRows() {
    const n = Math.min(MAX_ROWS, Math.max(0, parseInt(this.count.value, 10) || 0));
    while (this.rows.length < n) this.rows.push(this.makeRow(this.rows.length));
    this.rows.forEach((row, i) => {
      row.el.hidden = i >= n;
    });
  }

  makeRow(i) {
    const model = h("input", { type: "text", class: "mono", placeholder: "default model", list: this.models.id, spellcheck: "false", "aria-label": `Variation ${i} model` });
    const append = h("input", { type: "text", placeholder: "system prompt addition (optional)", "aria-label": `Variation ${i} system prompt append` });
    const el = h(
      "div",
      { class: "var-row", dataset: { field: `variations.${i}` } },
      h("span", { class: "var-index", text: `#${i}` }),
      field(`variations.${i}.model`, null, model),
      field(`variations.${i}.system_prompt_append`, null, append),
      h("p", { class: "field-error row-error", role: "alert", hidden: true }),
    );
    this.rowsEl.append(el);
    return { el, model, append };
  }

  /** The run spec the API takes, from the form's values. */
  spec() {
    const v = (name) => this.inputs[name].value.trim();
    const spec = { repo_url: v("repo_url"), prompt: this.inputs.prompt.value };
    if (v("ref")) spec.ref = v("ref");
    if (v("check_command")) spec.check_command = v("check_command");
    if (v("budget_usd")) spec.budget_usd = Number(v("budget_usd"));
    if (v("winner_policy") !== "manual") spec.winner_policy = v("winner_policy");
    if (v("early_stop") === "first_pass") spec.early_stop = "first_pass";
    if (v("early_stop") === "passing") spec.early_stop = { passing: Number(v("early_stop_passing")) };
    if (v("judge_model")) {
      spec.judge = { model: v("judge_model") };
      if (v("judge_instructions")) spec.judge.instructions = v("judge_instructions");
    }
    if (v("synthesize_top")) {
      spec.synthesize = { top: Number(v("synthesize_top")) };
      if (v("synthesize_model")) spec.synthesize.model = v("synthesize_model");
    }
    const n = parseInt(this.count.value, 10);
    const rows = this.rows.slice(0, Math.max(0, n || 0)).map((row) => {
      const item = {};
      if (row.model.value.trim()) item.model = row.model.value.trim();
      if (row.append.value.trim()) item.system_prompt_append = row.append.value;
      return item;
    });
    spec.variations = rows.length && rows.some((r) => Object.keys(r).length) ? rows : n;
    return spec;
  }

  /** Client-side hints: the obvious mistakes, before a round trip. */
  check(spec) {
    const errors = [];
    if (!spec.repo_url) errors.push({ field: "repo_url", message: "Enter the URL of a git repository." });
    else if (/^(git@|ssh:|git:)/.test(spec.repo_url)) errors.push({ field: "repo_url", message: "Use an https:// URL; ssh and git:// are not accepted." });
    if (!spec.prompt.trim()) errors.push({ field: "prompt", message: "Describe the task for the agents." });
    const n = Array.isArray(spec.variations) ? spec.variations.length : spec.variations;
    if (!Number.isInteger(n) || n < 1) errors.push({ field: "variations", message: "At least one variation." });
    if (spec.synthesize && !(Number.isInteger(spec.synthesize.top) && spec.synthesize.top >= 2)) errors.push({ field: "synthesize.top", message: "At least 2 (it combines the best K diffs), or leave it empty." });
    if (spec.early_stop && spec.early_stop.passing !== undefined && !(Number.isInteger(spec.early_stop.passing) && spec.early_stop.passing >= 1)) errors.push({ field: "early_stop.passing", message: "A whole number of passing variations, 1 or more." });
    if ("budget_usd" in spec && !(spec.budget_usd > 0)) errors.push({ field: "budget_usd", message: "A positive amount in USD, or leave it empty." });
    return errors;
  }

  clearErrors() {
    for (const el of this.el.querySelectorAll(".field-error")) {
      el.hidden = true;
      el.textContent = "";
    }
    for (const el of this.el.querySelectorAll("[aria-invalid]")) el.removeAttribute("aria-invalid");
    this.formError.hidden = true;
    this.formError.replaceChildren();
  }

  // The most specific element the path names: `variations.0.model`, else `variations.0`, ...
  fieldFor(path) {
    const byName = new Map([...this.el.querySelectorAll("[data-field]")].filter((el) => !el.closest("[hidden]")).map((el) => [el.dataset.field, el]));
    const parts = path.split(".");
    while (parts.length) {
      const found = byName.get(parts.join("."));
      if (found) return found;
      parts.pop();
    }
    return null;
  }

  showErrors(errors, fallback) {
    const unplaced = [];
    let first = null;
    for (const { field: path, message } of errors) {
      const container = path ? this.fieldFor(path) : null;
      const slot = container && container.querySelector(":scope > .field-error");
      if (!slot) {
        unplaced.push(path ? `${path}: ${message}` : message);
        continue;
      }
      slot.textContent = slot.textContent ? `${slot.textContent} ${message}` : message;
      slot.hidden = false;
      const control = container.querySelector("input, textarea, select");
      if (control) control.setAttribute("aria-invalid", "true");
      first ||= control || container;
    }
    if (unplaced.length || (!errors.length && fallback)) {
      this.formError.append(...(unplaced.length ? unplaced : [fallback]).map((m) => h("p", { text: m })));
      this.formError.hidden = false;
    }
    if (first && first.focus) first.focus();
  }

  async onSubmit(event) {
    event.preventDefault();
    this.clearErrors();
    const spec = this.spec();
    const problems = this.check(spec);
    if (problems.length) {
      this.showErrors(problems);
      return;
    }
    this.submit.disabled = true;
    this.submit.textContent = "Starting…";
    try {
      const accepted = await createRun(spec);
      location.hash = `#/runs/${accepted.run_id}`;
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      const hint = err.details && typeof err.details.hint === "string" ? ` ${err.details.hint}` : "";
      this.showErrors(err.fieldErrors(), `${err.message}${hint}`);
    } finally {
      this.submit.disabled = false;
      this.submit.textContent = "Start run";
    }
  }
}
