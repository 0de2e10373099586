// The run's SSE stream. Event ids are the server's row ids (monotonic per run), so one
// last-id guard makes every event count exactly once, whatever a reconnect replays.

import { openableStreamUrl } from "./api.js";
import { TERMINAL_RUN } from "./format.js";

// The server's list is app/events/payloads.py (EventType); a test keeps the two equal.
const EVENT_NAMES = ["agent_output", "gateway_refusal", "setup_output", "egress", "variation_status", "variation_result", "run_status", "judge", "winner", "delivered", "complete"];
const FIRST_RETRY_MS = 500;
const MAX_RETRY_MS = 10_000;

export class RunStream {
  /**
   * onEvent(name, data, id) gets each event once, in order.
   * onState(state) gets "connecting" | "live" | "reconnecting" | "ended".
   */
  constructor(runId, { onEvent, onState }) {
    this.runId = runId;
    this.onEvent = onEvent;
    this.onState = onState || (() => {});
    this.lastId = 0; // a page load starts from 0: a full replay
    this.completed = false;
    this.stopped = false;
    this.retryMs = FIRST_RETRY_MS;
    this.es = null;
    this.timer = null;
  }

  start() {
    this.onState("connecting");
    this.open();
  }

  // The cursor travels in the URL (`?last_event_id=`), so every (re)open resumes exactly
  // after the last event this page has seen.
  open() {
    if (this.stopped) return;
    openableStreamUrl(this.runId, this.lastId).then(
      (url) => this.attach(url),
      () => this.retryLater(),
    );
  }

  attach(url) {
    if (this.stopped) return;
    const es = new EventSource(url);
    for (const name of EVENT_NAMES) es.addEventListener(name, (e) => this.receive(es, name, e));
    es.addEventListener("open", () => {
      this.retryMs = FIRST_RETRY_MS;
      this.onState(this.completed ? "ended" : "live");
    });
    es.addEventListener("error", () => this.failed(es));
    this.es = es;
  }

  receive(es, name, event) {
    if (es !== this.es) return;
    const id = Number(event.lastEventId);
    if (!Number.isInteger(id) || id <= this.lastId) return; // already seen: replayed after a reconnect
    this.lastId = id;
    let data;
    try {
      data = JSON.parse(event.data);
    } catch {
      return;
    }
    // A follow-up turn reopens a finished run: the stream is live again until its `complete`.
    if (this.completed && name === "run_status" && !TERMINAL_RUN.has(data.status)) {
      this.completed = false;
      this.onState("live");
    }
    this.onEvent(name, data, id);
    if (name === "complete") this.ended(es);
  }

  // The server closes the stream after `complete`; close it first so the browser does not
  // reconnect and replay, then listen on at the last id for what a finished run still sends:
  // a later `winner` or delivery (each followed by a fresh `complete`), or a follow-up turn
  // (`run_status` running, the turn's events, a fresh `complete`). The id guard above keeps
  // every event once.
  ended(es) {
    this.completed = true;
    es.close();
    this.onState("ended");
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.open(), 0);
  }

  // The browser would reconnect by itself with Last-Event-ID, but a query cursor in the URL
  // would win over it on the server; reconnecting ourselves keeps the cursor current.
  failed(es) {
    if (es !== this.es || this.stopped) return;
    es.close();
    this.retryLater();
  }

  retryLater() {
    if (this.stopped) return;
    this.onState(this.completed ? "ended" : "reconnecting");
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.open(), this.retryMs);
    this.retryMs = Math.min(this.retryMs * 2, MAX_RETRY_MS);
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    if (this.es) this.es.close();
  }
}
