// Hash routing: one static page serves `#/` (new run + runs list) and `#/runs/<id>`.

import { getReady } from "./api.js";
import { setText } from "./dom.js";
import { HomeView } from "./home_view.js";
import { RunView } from "./run_view.js";

const view = document.getElementById("view");
const banner = document.getElementById("scripted-banner");
const serverInfo = document.getElementById("server-info");
let current = null;
let readyInfo = null;

/** Show or hide the "scripted model, not Claude" banner. */
export function showScriptedBanner(on) {
  banner.hidden = !on;
}

function route() {
  const hash = location.hash || "#/";
  const run = /^#\/runs\/([A-Za-z0-9-]{1,64})\/?$/.exec(hash);
  if (current) current.destroy();
  view.replaceChildren();
  if (run) {
    current = new RunView(view, run[1], { onScripted: showScriptedBanner });
  } else {
    const from = /^#\/new\?from=([A-Za-z0-9-]{1,64})(&check=suggested)?$/.exec(hash);
    current = new HomeView(view, { ready: readyInfo, focusForm: hash === "#/new", fromRun: from ? from[1] : null, suggestedCheck: Boolean(from && from[2]) });
  }
  document.documentElement.dataset.route = run ? "run" : "home";
  window.scrollTo(0, 0);
}

async function loadReady() {
  readyInfo = await getReady();
  const checks = readyInfo.checks || {};
  const scripted = typeof checks.model === "string" && checks.model.startsWith("scripted");
  if (scripted) showScriptedBanner(true);
  const backend = checks.backend ? `${checks.backend.name} backend${checks.backend.ok ? "" : " (unavailable)"}` : "";
  setText(serverInfo, [backend, scripted ? "scripted model" : checks.model ? "Claude" : ""].filter(Boolean).join(" · "));
  serverInfo.title = checks.backend && checks.backend.detail ? checks.backend.detail : "";
  if (current && current.setReady) current.setReady(readyInfo);
}

window.addEventListener("hashchange", route);
route();
loadReady();
