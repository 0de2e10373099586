// "Fork…" on a variation: a new run that starts from this variation's tree, with a new prompt
// and 1-8 variations (POST .../fork). On success the page moves to the new run.

import { forkVariation } from "./api.js";
import { h, setText } from "./dom.js";
import { TERMINAL_VARIATION } from "./format.js";
import { isUnranked } from "./outcome.js";

export const MAX_FORK = 8;
let forms = 0;

/** A variation can be forked once it has finished with a change (its tree is its diff). */
export function canFork(v) {
  return TERMINAL_VARIATION.has(v.status) && !isUnranked(v) && Boolean(v.diff_stats && v.diff_stats.files);
}

export class ForkControl {
  constructor({ runId, variationId }) {
    this.runId = runId;
    this.variationId = variationId;
    const n = (forms += 1);
    this.prompt = h("textarea", { id: `fork-prompt-${n}`, name: "prompt", rows: "3", placeholder: "What the new variations should do next" });
    this.count = h("input", { id: `fork-count-${n}`, name: "variations", type: "number", min: "1", max: String(MAX_FORK), value: "3", class: "fork-count" });
    this.submit = h("button", { type: "submit", class: "button primary small", text: "Fork" });
    this.error = h("p", { class: "form-error", role: "alert", hidden: true });
    this.form = h(
      "form",
      { class: "fork-form", id: `fork-form-${n}`, hidden: true, novalidate: true, "aria-label": `Fork variation ${variationId}`, onsubmit: (e) => { e.preventDefault(); this.fork(); } },
      h("label", { for: this.prompt.id, text: `Fork variation ${variationId} into a new run` }),
      this.prompt,
      h(
        "div",
        { class: "fork-actions" },
        h("label", { for: this.count.id, text: "Variations" }),
        this.count,
        this.submit,
        h("button", { type: "button", class: "button ghost small", text: "Cancel", onclick: () => this.toggle(false) }),
      ),
      this.error,
    );
    this.button = h("button", {
      type: "button",
      class: "button small",
      text: "Fork…",
      title: "A new run that starts from this variation's files",
      "aria-expanded": "false",
      "aria-controls": this.form.id,
      dataset: { action: "fork" },
      onclick: () => this.toggle(this.form.hidden),
    });
    this.prompt.addEventListener("keydown", (e) => {
      if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
        e.preventDefault();
        this.fork();
      }
    });
  }

  toggle(open) {
    this.form.hidden = !open;
    this.button.setAttribute("aria-expanded", open ? "true" : "false");
    if (open) this.prompt.focus();
  }

  /** Shown for variations that can be forked, on a server that forks. */
  setVariation(v, supported = true) {
    const ok = supported && canFork(v);
    this.button.hidden = !ok;
    if (!ok) this.toggle(false);
  }

  async fork() {
    const prompt = this.prompt.value;
    const count = Number(this.count.value);
    if (!prompt.trim()) return this.showError("Type a prompt for the new run.");
    if (!Number.isInteger(count) || count < 1 || count > MAX_FORK) return this.showError(`Variations: a whole number from 1 to ${MAX_FORK}.`);
    this.error.hidden = true;
    this.submit.disabled = true;
    try {
      const accepted = await forkVariation(this.runId, this.variationId, { prompt, variations: count });
      location.hash = `#/runs/${encodeURIComponent(accepted.run_id)}`;
    } catch (err) {
      this.showError(err.message);
    } finally {
      this.submit.disabled = false;
    }
  }

  showError(message) {
    setText(this.error, message);
    this.error.hidden = false;
  }
}
