// The message box under a variation's column: a follow-up message becomes the variation's
// next turn (POST .../messages), and the column goes on from the run's stream. Disabled, with
// the reason, while its own turn runs (one turn at a time per variation); replaced by the
// reason once the variation cannot be continued.

import { sendMessage } from "./api.js";
import { h, setText } from "./dom.js";
import { TERMINAL_RUN, TERMINAL_VARIATION, when } from "./format.js";
import { newerFields } from "./variation_column.js";

/**
 * Whether variation `v` of `run` can take a follow-up now:
 * {mode: "open", until} | {mode: "busy", reason} | {mode: "closed", reason}.
 * The server's read says so (`continuable`, `continuable_reason`, `continuable_until`); null
 * means "changed since the last read" (a stream event), absent means an older server.
 */
export function continueState(run, v) {
  if (!TERMINAL_RUN.has(run.status)) {
    const inTurn = (x) => (x.turn ?? 1) > 1 && !TERMINAL_VARIATION.has(x.status);
    if (inTurn(v)) return { mode: "busy", reason: `Turn ${v.turn} is running…` };
    const turning = run.variations.find(inTurn);
    if (turning) {
      // One turn at a time per variation: the others may take a turn meanwhile (their
      // workspaces are kept while turns run, so no deadline shows).
      if (v.continuable === undefined) return { mode: "busy", reason: `Variation ${turning.variation_id} is taking turn ${turning.turn}…` };
      if (v.continuable === false) return { mode: "closed", reason: v.continuable_reason || "it cannot be continued" };
      return TERMINAL_VARIATION.has(v.status) ? { mode: "open", until: null } : { mode: "busy", reason: "Waiting for the variation to finish…" };
    }
    return { mode: "busy", reason: "The run is still going; a follow-up can be sent once it has finished." };
  }
  if (v.continuable === undefined) {
    if (run.status === "cancelled") return { mode: "closed", reason: "the run was cancelled; its variations cannot be continued" };
    if (v.status === "cancelled" || v.status === "interrupted") return { mode: "closed", reason: `variation ${v.variation_id} is ${v.status}; it cannot be continued` };
    return TERMINAL_VARIATION.has(v.status) ? { mode: "open", until: null } : { mode: "busy", reason: "Waiting for the variation to finish…" };
  }
  if (v.continuable === null) return { mode: "busy", reason: "Checking whether it can be continued…" };
  if (v.continuable) return { mode: "open", until: v.continuable_until ?? null };
  return { mode: "closed", reason: v.continuable_reason || "it cannot be continued" };
}

/**
 * A stream event changed what the last read said about continuing `v`: unknown until the
 * next read. A replayed event the read already reflects (`change` moves nothing) keeps it.
 */
export function unknownContinuation(v, change = null) {
  if (!v || v.continuable === undefined) return {};
  if (change && (v.status === change.status || !("status" in newerFields(v, { status: change.status, turn: change.turn })))) return {};
  return { continuable: null, continuable_until: null };
}

let boxes = 0;

export class MessageBox {
  /** onSent(turn, prompt) runs once the server accepted the turn (202). */
  constructor({ runId, variationId, onSent }) {
    this.runId = runId;
    this.variationId = variationId;
    this.onSent = onSent;
    this.sending = false;
    this.state = { mode: "busy", reason: "" };
    const id = `message-${(boxes += 1)}`;
    this.input = h("textarea", {
      id,
      name: "message",
      rows: "2",
      placeholder: "Ask for a change… (Ctrl+Enter sends)",
      onkeydown: (e) => {
        if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
          e.preventDefault();
          this.send();
        }
      },
    });
    this.button = h("button", { type: "submit", class: "button primary small", text: "Send" });
    this.status = h("span", { class: "continue-status", role: "status", "aria-live": "polite" });
    this.error = h("p", { class: "form-error", role: "alert", hidden: true });
    this.form = h(
      "form",
      { class: "continue-form", "aria-label": `Follow up on variation ${variationId}`, onsubmit: (e) => { e.preventDefault(); this.send(); } },
      h("label", { for: id, class: "continue-label", text: `Follow-up to variation ${variationId}` }),
      this.input,
      h("div", { class: "continue-actions" }, this.status, this.button),
      this.error,
    );
    this.closed = h("p", { class: "continue-closed", hidden: true });
    this.el = h("div", { class: "vcol-continue", dataset: { mode: "busy" } }, this.form, this.closed);
  }

  /** Show `state` (from continueState). */
  setState(state) {
    this.state = state;
    this.el.dataset.mode = state.mode;
    this.form.hidden = state.mode === "closed";
    this.closed.hidden = state.mode !== "closed";
    if (state.mode === "closed") setText(this.closed, `Can no longer be continued: ${state.reason}`);
    const disabled = state.mode !== "open" || this.sending;
    this.input.disabled = disabled;
    this.button.disabled = disabled;
    if (this.sending) return;
    if (state.mode === "open") setText(this.status, state.until ? `Can be continued until ${when(state.until)}` : "");
    else setText(this.status, state.mode === "busy" ? state.reason : "");
    this.status.title = state.until ? state.until : "";
  }

  async send() {
    if (this.sending || this.state.mode !== "open") return;
    const prompt = this.input.value;
    if (!prompt.trim()) {
      this.showError("Type a message first.");
      this.input.focus();
      return;
    }
    this.sending = true;
    this.error.hidden = true;
    setText(this.status, "Sending…");
    this.setState(this.state);
    let accepted = null;
    try {
      accepted = await sendMessage(this.runId, this.variationId, prompt);
    } catch (err) {
      this.showError(err.message);
    } finally {
      this.sending = false;
    }
    if (accepted) {
      this.input.value = "";
      setText(this.status, `Turn ${accepted.turn} started`);
      this.onSent(accepted.turn, prompt);
    } else {
      this.setState(this.state);
    }
  }

  showError(message) {
    setText(this.error, message);
    this.error.hidden = false;
  }
}
