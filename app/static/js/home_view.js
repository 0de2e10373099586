// `#/`: the new-run form beside the runs list.

import { h } from "./dom.js";
import { RunForm } from "./run_form.js";
import { RunsList } from "./runs_list.js";

export class HomeView {
  constructor(root, { ready, focusForm }) {
    this.form = new RunForm({ ready });
    this.list = new RunsList();
    root.append(h("div", { class: "page home" }, this.form.el, this.list.el));
    if (focusForm) this.form.focus();
  }

  /** Readiness arrived (it loads in parallel with the first view). */
  setReady(ready) {
    this.form.setReady(ready);
  }

  destroy() {
    this.list.destroy();
  }
}
