// `#/`: the new-run form beside the runs list.

import { getRun } from "./api.js";
import { h } from "./dom.js";
import { RunForm } from "./run_form.js";
import { RunsList } from "./runs_list.js";

export class HomeView {
  constructor(root, { ready, focusForm, fromRun, suggestedCheck = false }) {
    this.form = new RunForm({ ready });
    this.list = new RunsList();
    root.append(h("div", { class: "page home" }, this.form.el, this.list.el));
    if (focusForm) this.form.focus();
    if (fromRun) this.prefill(fromRun, suggestedCheck);
  }

  /** "Run again": the form gets an earlier run's settings (and its suggested check, if asked). */
  async prefill(runId, suggestedCheck = false) {
    try {
      const run = await getRun(runId);
      if (!this.destroyed) this.form.prefill(run, { suggestedCheck });
    } catch (err) {
      this.form.formError.textContent = `Could not load run ${runId}: ${err.message}`;
      this.form.formError.hidden = false;
    }
  }

  /** Readiness arrived (it loads in parallel with the first view). */
  setReady(ready) {
    this.form.setReady(ready);
  }

  destroy() {
    this.destroyed = true;
    this.list.destroy();
  }
}
