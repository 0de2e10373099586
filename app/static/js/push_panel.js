// "Bring it home": push a finished variation as a new branch (optionally a pull request) and
// list the branches this run was pushed as. The server holds the git credentials; the page
// only names the variation, the branch and whether to open a pull request.

import { ApiError, listDeliveries, pushVariation } from "./api.js";
import { h, replace } from "./dom.js";
import { TERMINAL_RUN, specLabel } from "./format.js";

// Where a branch can be browsed: the repository's web address + /tree/<branch> (GitHub,
// GitLab and Gitea all use it). Only http(s) repositories get a link.
export function branchUrl(repoUrl, branch) {
  if (!/^https?:\/\//.test(repoUrl)) return null;
  const base = repoUrl.replace(/\.git$/, "").replace(/\/+$/, "");
  return `${base}/tree/${branch.split("/").map(encodeURIComponent).join("/")}`;
}

export class PushPanel {
  constructor({ runId }) {
    this.runId = runId;
    this.run = null;
    this.seen = new Set(); // commit|branch already listed
    this.variation = h("select", { name: "push_variation", "aria-label": "Variation to push" });
    this.branch = h("input", { name: "push_branch", type: "text", maxlength: "200", "aria-label": "New branch name", placeholder: "aideator/…" });
    this.pr = h("input", { name: "push_pr", type: "checkbox" });
    this.button = h("button", { type: "button", class: "button", dataset: { action: "push" }, text: "Push as new branch", onclick: () => this.push() });
    this.error = h("p", { class: "field-error", role: "alert", hidden: true });
    this.list = h("ul", { class: "deliveries", "aria-live": "polite" });
    this.el = h(
      "section",
      { class: "card push-panel", "aria-label": "Push a variation" },
      h("div", { class: "card-head" }, h("h2", { text: "Bring it home" })),
      h("p", { class: "muted", text: "One commit with exactly the variation's diff on the run's base commit, on a new branch of the repository (never an existing one)." }),
      h("div", { class: "push-form" }, this.variation, this.branch, h("label", {}, this.pr, " open a pull request"), this.button),
      this.error,
      this.list,
    );
  }

  /** Follow the run: which variations can be pushed, and whether it has finished. */
  setRun(run) {
    const first = this.run === null;
    this.run = run;
    const chosen = this.variation.value || String(run.winning_variation_id ?? 0);
    replace(
      this.variation,
      ...run.variations.map((v) => {
        const star = run.winning_variation_id === v.variation_id ? "★ " : "";
        return h("option", { value: String(v.variation_id), text: `${star}#${v.variation_id} ${specLabel(v.spec)}` });
      }),
    );
    this.variation.value = chosen;
    this.branch.placeholder = `aideator/${run.id.slice(0, 8)}-v${this.variation.value || 0}`;
    this.button.disabled = !TERMINAL_RUN.has(run.status) || this.busy === true;
    if (first) this.load();
  }

  async load() {
    try {
      for (const d of await listDeliveries(this.runId)) this.addDelivery(d);
    } catch {
      // the list is a convenience; `delivered` events still arrive
    }
  }

  /** Show one pushed branch (from the list or a `delivered` event), once. */
  addDelivery(d) {
    const key = `${d.commit}|${d.branch}`;
    if (this.seen.has(key) || !this.run) return;
    this.seen.add(key);
    const url = branchUrl(this.run.repo_url, d.branch);
    const name = url ? h("a", { href: url, class: "branch-link mono", target: "_blank", rel: "noopener", text: d.branch }) : h("span", { class: "mono", text: d.branch });
    this.list.append(
      h(
        "li",
        { dataset: { variation: String(d.variation_id) } },
        `#${d.variation_id} → `,
        name,
        h("span", { class: "muted mono", text: ` ${d.commit.slice(0, 12)}` }),
        d.pull_request_url ? [" · ", h("a", { href: d.pull_request_url, class: "pr-link", target: "_blank", rel: "noopener", text: "pull request" })] : null,
      ),
    );
  }

  async push() {
    this.error.hidden = true;
    this.busy = true;
    this.button.disabled = true;
    try {
      const result = await pushVariation(this.runId, Number(this.variation.value), { branch: this.branch.value.trim(), pullRequest: this.pr.checked });
      this.addDelivery({ ...result, variation_id: Number(this.variation.value) });
      this.branch.value = "";
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      this.error.textContent = err.message;
      this.error.hidden = false;
    } finally {
      this.busy = false;
      if (this.run) this.button.disabled = !TERMINAL_RUN.has(this.run.status);
    }
  }
}
