"""Tables and summaries of runs for the terminal."""

from __future__ import annotations

from rich import box
from rich.console import Group
from rich.table import Table
from rich.text import Text

from app.reports import variation_label
from app.schemas import RunRead, RunSummary, VariationRead

_STATUS_STYLE = {
    "succeeded": "green",
    "failed": "red",
    "timed_out": "red",
    "cancelled": "yellow",
    "interrupted": "yellow",
    "running": "bold",
}


def _rank(v: VariationRead) -> int | None:
    rank = v.score_parts.get("rank") if v.score_parts else None
    return rank if isinstance(rank, int) else None


def _order(v: VariationRead) -> tuple[int, int]:
    rank = _rank(v)
    return (rank if rank is not None else 1_000_000, v.variation_id)


def _check(v: VariationRead) -> Text:
    if v.check is None:
        return Text("-", style="dim")
    if v.check.passed:
        return Text("passed", style="green")
    return Text(f"failed ({v.check.exit_code})", style="red")


def _diff(v: VariationRead) -> str:
    stats = v.diff_stats
    if stats is None or not stats.files:
        return "no change"
    files = f"{stats.files} file" + ("s" if stats.files != 1 else "")
    return f"{files} +{stats.insertions}/-{stats.deletions}"


def score_table(run: RunRead) -> Table:
    """One row per variation, best first: status, check, diff, tokens, cost, time, score."""
    table = Table(
        title=f"run {run.id} · {run.status}",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        padding=(0, 1),
        pad_edge=False,
        collapse_padding=True,
    )
    for name, justify in (
        ("", "left"),
        ("rank", "right"),
        ("var", "right"),
        ("model", "left"),
        ("status", "left"),
        ("check", "left"),
        ("diff", "left"),
        ("tokens in/out", "right"),
        ("cost", "right"),
        ("time", "right"),
        ("score", "right"),
    ):
        table.add_column(name, justify=justify, no_wrap=name != "model")  # type: ignore[arg-type]
    for v in sorted(run.variations, key=_order):
        u = v.usage
        tokens_in = u.input_tokens + u.cache_creation_input_tokens + u.cache_read_input_tokens
        rank = _rank(v)
        table.add_row(
            "★" if v.variation_id == run.winning_variation_id else "",
            "-" if rank is None else str(rank),
            str(v.variation_id),
            variation_label(v.spec),
            Text(v.status, style=_STATUS_STYLE.get(v.status, "")),
            _check(v),
            _diff(v),
            f"{tokens_in:,} / {u.output_tokens:,}",
            f"${v.cost_usd:.4f}",
            "-" if v.duration_seconds is None else f"{v.duration_seconds:.1f} s",
            "-" if v.score is None else f"{v.score:g}",
        )
    return table


def winner_line(run: RunRead) -> Text:
    """Who won and who said so, or how to pick a winner."""
    vid = run.winning_variation_id
    if vid is None:
        return Text.assemble(
            ("no winner recorded", "bold"),
            f" — pick one: aideator runs select {run.id[:8]} <variation> --reason '…'",
        )
    reason = f": {run.winner_reason}" if run.winner_reason else ""
    return Text.assemble(
        (f"★ winner: variation {vid}", "bold green"),
        f" (selected by {run.winner_selected_by}{reason})",
    )


def _tail(text: str, width: int) -> str:
    return text if len(text) <= width else "…" + text[-(width - 1) :]


def runs_table(items: list[RunSummary], width: int) -> Group:
    """Runs, newest first, one line each, fitted to `width` columns (the prompt is cut)."""
    head = f"{'id':<8}  {'created':<16}  {'status':<11}  {'vars':>4}  {'winner':<10}  "
    head += f"{'cost':>8}  {'repo':<28}  "
    room = max(width - len(head), 10)
    lines = [Text(head + "prompt", style="bold")]
    for r in items:
        prompt = r.prompt.splitlines()[0] if r.prompt.strip() else ""
        if len(prompt) > room:
            prompt = prompt[: room - 1] + "…"
        winner = "-" if r.winning_variation_id is None else f"{r.winning_variation_id}"
        if r.winner_selected_by:
            winner += f" ({r.winner_selected_by})"
        lines.append(
            Text.assemble(
                f"{r.id[:8]:<8}  {r.created_at.strftime('%Y-%m-%d %H:%M'):<16}  ",
                (f"{r.status:<11}", _STATUS_STYLE.get(r.status, "")),
                f"  {r.variation_count:>4}  {winner:<10}  {f'${r.cost_usd:.4f}':>8}  ",
                f"{_tail(r.repo_url, 28):<28}  {prompt}",
            )
        )
    return Group(*lines)
