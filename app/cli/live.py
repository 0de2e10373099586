"""The live view of a run: every agent line with its variation's colour and prefix, and a
status line per variation (elapsed time, tokens, cost)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from rich.console import Console, RenderableType
from rich.table import Table
from rich.text import Text

from app.cli.sse import StreamEvent
from app.reports import variation_label
from app.schemas import RunRead, VariationAccepted

PALETTE = ("cyan", "magenta", "green", "yellow", "blue", "bright_red", "bright_cyan", "white")
MAX_LINE_CHARS = 300
TOOL_RESULT_LINES = 6
_TERMINAL = {"succeeded", "failed", "cancelled", "timed_out", "interrupted"}
_STATUS_STYLE = {"succeeded": "green", "failed": "red", "timed_out": "red", "running": "bold"}


@dataclass
class VariationState:
    """What the status line of one variation shows."""

    vid: int
    label: str
    colour: str
    status: str = "queued"
    started: float | None = None
    ended: float | None = None
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0
    check: bool | None = None

    def elapsed(self) -> float | None:
        """Seconds since it started running (frozen once it ended)."""
        if self.started is None:
            return None
        return (self.ended or time.monotonic()) - self.started


def _clip(line: str) -> str:
    return line if len(line) <= MAX_LINE_CHARS else line[: MAX_LINE_CHARS - 1] + "…"


def _tokens_in(usage: dict[str, Any]) -> int:
    keys = ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")
    return sum(int(usage.get(k) or 0) for k in keys)


UNRECOGNIZED_MODEL = "[claude-code:unrecognized_model]"


def is_noise(payload: dict[str, Any]) -> bool:
    """Claude Code's warning that it does not know a `scripted/...` model: expected, not news."""
    text = str(payload.get("text") or "")
    return text.startswith(UNRECOGNIZED_MODEL) and '"scripted/' in text


def agent_line_texts(payload: dict[str, Any]) -> list[Text]:
    """How one `agent_output` payload is shown: zero or more styled lines."""
    kind, text = payload.get("type"), payload.get("text") or ""
    data = payload.get("data") or {}
    if kind == "usage" or is_noise(payload):
        return []
    if kind == "tool_result":
        lines = text.splitlines() or [""]
        shown = [f"← {line}" for line in lines[:TOOL_RESULT_LINES]]
        if len(lines) > TOOL_RESULT_LINES:
            shown.append(f"← … {len(lines) - TOOL_RESULT_LINES} more lines")
        style = "red" if data.get("is_error") else "dim"
        return [Text(_clip(line), style=style) for line in shown]
    styles = {"status": "dim", "log": "dim", "error": "bold red", "tool_use": "bold"}
    marks = {"status": "· ", "tool_use": "→ ", "error": "✗ ", "result": "■ "}
    if kind == "status" and data.get("model"):
        text = f"{text} ({data['model']})"
    return [
        Text(_clip(marks.get(str(kind), "") + line), style=styles.get(str(kind), ""))
        for line in (text.splitlines() or [""])
        if line.strip()
    ]


class RunView:
    """Turns a run's stream events into printed lines and live status lines."""

    def __init__(
        self,
        console: Console,
        variations: list[VariationAccepted],
        *,
        show_lines: bool = True,
        quiet: bool = False,
    ) -> None:
        self.console = console
        self.show_lines = show_lines
        self.quiet = quiet  # statuses, results and errors only
        self.states = {
            v.variation_id: VariationState(
                v.variation_id, variation_label(v.spec), PALETTE[v.variation_id % len(PALETTE)]
            )
            for v in variations
        }
        self.transcripts: dict[int, list[dict[str, Any]]] = {vid: [] for vid in self.states}
        self.last_event_id = 0
        width = max((len(s.label) for s in self.states.values()), default=8)
        self._width = min(width, 24)

    def _added(self, vid: int) -> VariationState:
        state = VariationState(vid, "synthesis", PALETTE[vid % len(PALETTE)])
        self.states[vid] = state
        self.transcripts[vid] = []
        return state

    def prefix(self, vid: int) -> Text:
        """`v0 model │ ` in the variation's colour."""
        state = self.states.get(vid)
        label = state.label if state else "?"
        if len(label) > self._width:
            label = label[: self._width - 1] + "…"
        return Text(f"v{vid} {label:<{self._width}} │ ", style=state.colour if state else "")

    def say(self, vid: int, line: Text) -> None:
        """Print one line under the variation's prefix."""
        if self.show_lines:
            self.console.print(Text.assemble(self.prefix(vid), line), soft_wrap=True)

    def handle(self, event: StreamEvent) -> None:
        """Apply one stream event: print its lines, update the status lines."""
        data = event.data
        vid = data.get("variation_id")
        state = self.states.get(vid) if isinstance(vid, int) else None
        if state is None and isinstance(vid, int) and event.event == "variation_status":
            state = self._added(vid)  # the run's synthesized variation, made once others end
        if event.event == "agent_output" and state is not None:
            self.transcripts[state.vid].append(data)
            if data.get("type") == "usage" and isinstance(data.get("data"), dict):
                state.tokens_in = _tokens_in(data["data"])
                state.tokens_out = int(data["data"].get("output_tokens") or 0)
            if self.quiet and data.get("type") != "error":
                return
            for line in agent_line_texts(data):
                self.say(state.vid, line)
        elif event.event == "gateway_refusal" and state is not None:
            self.say(
                state.vid, Text(_clip(f"✗ gateway refused: {data.get('message')}"), "bold red")
            )
        elif event.event == "variation_status" and state is not None:
            self._status(state, str(data.get("status")), data.get("error"))
        elif event.event == "variation_result" and state is not None:
            self._result(state, data)
        elif event.event == "setup_output" and self.show_lines and not self.quiet:
            self.console.print(Text(f"setup │ {data.get('text', '')}", style="dim"), soft_wrap=True)
        elif event.event == "egress" and not data.get("allowed") and self.show_lines:
            where = f"{data.get('host')}:{data.get('port')}"
            self.console.print(Text(f"egress refused {where}: {data.get('reason')}", "yellow"))
        elif (
            event.event == "run_status"
            and data.get("base_sha")
            and self.show_lines
            and not self.quiet
        ):
            self.console.print(Text(f"base commit {data['base_sha'][:12]}", style="dim"))
        elif event.event == "judge" and self.show_lines:
            why = f": {data.get('error')}" if data.get("error") else ""
            self.console.print(
                Text(f"judge {data.get('model')} {data.get('status')}{why}", style="cyan"),
                soft_wrap=True,
            )
        elif event.event == "winner" and self.show_lines:
            by = data.get("selected_by")
            self.console.print(
                Text(f"★ winner: variation {data.get('variation_id')} (selected by {by})", "bold")
            )

    def _status(self, state: VariationState, status: str, error: Any) -> None:
        state.status = status
        if status == "running" and state.started is None:
            state.started = time.monotonic()
        if status in _TERMINAL:
            state.ended = time.monotonic()
            shown = f"{status}: {error}" if error else status
            self.say(state.vid, Text(f"■ {shown}", style=_STATUS_STYLE.get(status, "yellow")))

    def _result(self, state: VariationState, data: dict[str, Any]) -> None:
        usage = data.get("usage") or {}
        state.tokens_in = _tokens_in(usage)
        state.tokens_out = int(usage.get("output_tokens") or 0)
        state.cost_usd = float(data.get("cost_usd") or 0.0)
        check = data.get("check")
        state.check = None if not isinstance(check, dict) else bool(check.get("passed"))
        stats = data.get("diff_stats") or {}
        diff = (
            f"{stats['files']} file(s) +{stats.get('insertions', 0)}/-{stats.get('deletions', 0)}"
            if stats.get("files")
            else "no change"
        )
        verdict = {None: "no check", True: "check passed", False: "check failed"}[state.check]
        self.say(state.vid, Text(f"■ {verdict} · {diff} · ${state.cost_usd:.4f}", style="bold"))

    def update_costs(self, run: RunRead) -> None:
        """Take the gateway's metered usage and cost (polled while the run goes)."""
        for v in run.variations:
            state = self.states.get(v.variation_id)
            if state is None:
                continue
            state.cost_usd = v.cost_usd
            u = v.usage
            tokens_in = u.input_tokens + u.cache_creation_input_tokens + u.cache_read_input_tokens
            state.tokens_in = max(state.tokens_in, tokens_in)
            state.tokens_out = max(state.tokens_out, u.output_tokens)

    def __rich__(self) -> RenderableType:
        grid = Table.grid(padding=(0, 2))
        for _ in range(6):
            grid.add_column()
        for s in self.states.values():
            elapsed = s.elapsed()
            check = {None: "", True: "check ✓", False: "check ✗"}[s.check]
            grid.add_row(
                Text(f"● v{s.vid} {s.label}", style=s.colour),
                Text(s.status, style=_STATUS_STYLE.get(s.status, "")),
                "" if elapsed is None else f"{elapsed:5.1f} s",
                f"{s.tokens_in:,} in / {s.tokens_out:,} out",
                f"${s.cost_usd:.4f}",
                check,
            )
        return grid
