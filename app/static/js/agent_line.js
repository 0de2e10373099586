// One agent line (docs/protocol.md) as a DOM element, and as text for the log download.
// Everything from the agent goes in via textContent: it is hostile input.

import { h } from "./dom.js";
import { renderMarkdown } from "./markdown.js";

const MAX_SUMMARY_CHARS = 160;

function firstLine(text) {
  // Read results come numbered (`   1\tcode`); the number adds nothing to a one-line preview.
  const line = (String(text ?? "").split("\n").find((l) => l.trim()) ?? "").replace(/^\s*\d+\t/, "");
  return line.length > MAX_SUMMARY_CHARS ? `${line.slice(0, MAX_SUMMARY_CHARS)}…` : line;
}

function lineCount(text) {
  const t = String(text ?? "").replace(/\n+$/, "");
  return t ? t.split("\n").length : 0;
}

function pretty(value) {
  try {
    return JSON.stringify(value, null, 2);
  } catch {
    return String(value);
  }
}

function toolUse(line) {
  const data = line.data || {};
  const text = String(line.text ?? "");
  const name = typeof data.name === "string" ? data.name : text.split(" ", 1)[0];
  const rest = text.startsWith(name) ? text.slice(name.length).trim() : text;
  return h(
    "details",
    { class: "line l-tool" },
    h("summary", {}, h("span", { class: "tool-name", text: name || "tool" }), h("span", { class: "tool-arg", text: rest })),
    h("pre", { class: "line-body", text: data.input === undefined ? text : pretty(data.input) }),
  );
}

function toolResult(line) {
  const isError = Boolean(line.data && line.data.is_error);
  const n = lineCount(line.text);
  return h(
    "details",
    { class: `line l-result${isError ? " is-error" : ""}` },
    h(
      "summary",
      {},
      h("span", { class: "result-arrow", text: isError ? "✗" : "↳" }),
      h("span", { class: "tool-arg", text: firstLine(line.text) || "(no output)" }),
      n > 1 ? h("span", { class: "result-count", text: `${n} lines` }) : null,
    ),
    h("pre", { class: "line-body", text: String(line.text ?? "") }),
  );
}

/** The element for a line, or null for lines shown elsewhere (usage feeds the counters). */
export function renderLine(line) {
  let el;
  switch (line.type) {
    case "usage":
      return null;
    case "assistant_text":
      el = h("div", { class: "line l-text md" }, renderMarkdown(line.text ?? ""));
      break;
    case "tool_use":
      el = toolUse(line);
      break;
    case "tool_result":
      el = toolResult(line);
      break;
    case "error": {
      const code = line.data && typeof line.data.code === "string" ? line.data.code : null;
      el = h("div", { class: "line l-error" }, code ? h("span", { class: "error-code", text: code }) : null, line.text ?? "error");
      break;
    }
    case "status":
      el = h("div", { class: "line l-status", text: line.text ?? "" });
      break;
    case "result":
      el = h("div", { class: "line l-final", text: line.text ?? "finished" });
      break;
    default:
      el = h("div", { class: `line l-log${line.data && line.data.source === "stderr" ? " is-stderr" : ""}`, text: line.text ?? "" });
  }
  el.dataset.id = String(line.id);
  return el;
}

const UNRECOGNIZED_MODEL = "[claude-code:unrecognized_model]";

/** Claude Code's warning that it does not know a `scripted/...` model: expected, not news. */
export function isNoise(line) {
  const text = String(line.text ?? "");
  return line.type === "log" && text.startsWith(UNRECOGNIZED_MODEL) && text.includes('"scripted/');
}

/** True when the line gets an element in the column. */
export function isShown(line) {
  return line.type !== "usage" && !isNoise(line);
}

/** A line of the downloadable log: `seq type text`, continuation lines indented. */
export function lineToText(line) {
  const seq = line.seq === null || line.seq === undefined ? "-" : String(line.seq);
  let body = line.text ?? "";
  if (line.type === "tool_use" && line.data && line.data.input !== undefined) {
    body = `${body} ${JSON.stringify(line.data.input)}`;
  } else if (line.type === "usage" && line.data) {
    body = `input=${line.data.input_tokens ?? 0} output=${line.data.output_tokens ?? 0}`;
  }
  return `${seq.padStart(5)} ${line.type.padEnd(14)} ${String(body).replaceAll("\n", "\n" + " ".repeat(21))}`;
}
