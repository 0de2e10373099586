// What a variation's column offers beyond watching: Fork… and the follow-up message box.

import { ForkControl } from "./fork_control.js";
import { MessageBox, continueState } from "./message_box.js";

export class ColumnControls {
  /** onSent(variationId, turn, prompt): a follow-up turn was accepted. */
  constructor({ runId, variationId, onSent }) {
    this.fork = new ForkControl({ runId, variationId });
    this.box = new MessageBox({ runId, variationId, onSent: (turn, prompt) => onSent(variationId, turn, prompt) });
  }

  /** The elements the column places: {actions, foot, tail}. */
  get elements() {
    return { actions: [this.fork.button], foot: [this.fork.form], tail: this.box.el };
  }

  /** Show what the run and the variation allow now. */
  update(run, variation) {
    // A server that can fork says so in its run reads (`parent`, null unless forked).
    this.fork.setVariation(variation, Object.hasOwn(run, "parent"));
    this.box.setState(continueState(run, variation));
  }
}
