"""Tables and summaries of runs for the terminal."""

from __future__ import annotations

from rich import box
from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from app.reports import first_line, variation_label
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
        if v.score is None and v.status == "failed" and v.error:
            return Text("not run", style="red")
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


# Columns of the score table; the ones with a drop order go first when the terminal is narrow.
_COLUMNS: tuple[tuple[str, str, int | None], ...] = (
    ("", "left", None),
    ("rank", "right", None),
    ("var", "right", None),
    ("model", "left", None),
    ("status", "left", None),
    ("check", "left", None),
    ("diff", "left", 4),
    ("tokens in/out", "right", 1),
    ("cost", "right", 5),
    ("time", "right", 3),
    ("score", "right", 2),
)
# Shown only when the run's judge ranked something: its verdict and rank on each variation.
_JUDGE_COLUMN: tuple[str, str, int | None] = ("judge", "left", 6)
_GAP = 2  # at most two spaces between two columns
_EDGES = 2  # rich's padding at the table's two edges


def _label(v: VariationRead) -> str:
    """The variation's model; a synthesized one also names what it combined."""
    if not v.synthesized_from:
        return variation_label(v.spec)
    return f"{variation_label(v.spec)} ⇐ {'+'.join(str(n) for n in v.synthesized_from)}"


def _judged(run: RunRead) -> bool:
    return any(v.judge is not None for v in run.variations)


def _verdict(v: VariationRead) -> str:
    return "-" if v.judge is None else f"{v.judge.verdict} #{v.judge.rank}"


def _cells(run: RunRead, v: VariationRead) -> list[str | Text]:
    u = v.usage
    tokens_in = u.input_tokens + u.cache_creation_input_tokens + u.cache_read_input_tokens
    rank = _rank(v)
    return [
        "★" if v.variation_id == run.winning_variation_id else "",
        "-" if rank is None else str(rank),
        str(v.variation_id),
        _label(v),
        Text(v.status, style=_STATUS_STYLE.get(v.status, "")),
        _check(v),
        _diff(v),
        f"{tokens_in:,} / {u.output_tokens:,}",
        f"${v.cost_usd:.4f}",
        "-" if v.duration_seconds is None else f"{v.duration_seconds:.1f} s",
        "-" if v.score is None else f"{v.score:g}",
        *([_verdict(v)] if _judged(run) else []),
    ]


def _fitting_columns(
    rows: list[list[str | Text]],
    width: int | None,
    columns: tuple[tuple[str, str, int | None], ...] = _COLUMNS,
) -> list[int]:
    """Indexes of the columns to show: drop the least useful until the table fits `width`."""
    keep = list(range(len(columns)))
    if width is None:
        return keep
    sizes = [
        max([len(name)] + [len(str(row[i])) for row in rows])
        for i, (name, _, _) in enumerate(columns)
    ]
    droppable = sorted((order, i) for i, (_, _, order) in enumerate(columns) if order is not None)
    for _, index in droppable:
        if sum(sizes[i] for i in keep) + _GAP * (len(keep) - 1) + _EDGES <= width:
            break
        keep.remove(index)
    return keep


def score_table(run: RunRead, width: int | None = None) -> Table:
    """One row per variation, best first: status, check, diff, tokens, cost, time, score.

    With a `width`, the least useful columns are left out until the table fits: the model
    name is never cut.
    """
    table = Table(
        title=f"run {run.id} · {run.status}",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        padding=(0, 1),
        pad_edge=False,
        collapse_padding=True,
    )
    ordered = sorted(run.variations, key=_order)
    rows = [_cells(run, v) for v in ordered]
    columns = (*_COLUMNS, _JUDGE_COLUMN) if _judged(run) else _COLUMNS
    keep = _fitting_columns(rows, width, columns)
    for i in keep:
        name, justify, _ = columns[i]
        table.add_column(name, justify=justify, no_wrap=True)  # type: ignore[arg-type]
    for row in rows:
        table.add_row(*(row[i] for i in keep))
    return table


def _unranked(run: RunRead) -> list[VariationRead]:
    return [v for v in run.variations if v.score is None and v.error and v.status == "failed"]


def outcome_notes(run: RunRead) -> list[Text]:
    """What the table cannot say: unranked causes, a missing check, an early stop."""
    notes: list[Text] = []
    unranked = _unranked(run)
    causes = {first_line(v.error) for v in unranked}
    if run.error and unranked and causes == {first_line(run.error)}:
        notes.append(Text(f"not ranked: {first_line(run.error)}", style="red"))
    else:
        for v in unranked:
            notes.append(
                Text(f"variation {v.variation_id} not ranked: {first_line(v.error)}", "red")
            )
    if not run.check_command and len(unranked) < len(run.variations):
        notes.append(
            Text(
                "no check command: nothing tested the variations, so the ranking is by diff, "
                "cost and time only",
                style="yellow",
            )
        )
    stop = run.early_stop
    if stop.stopped_variation_ids and stop.reason:
        ids = ", ".join(str(v) for v in stop.stopped_variation_ids)
        saved = "" if stop.saved_usd is None else f"; saved about ${stop.saved_usd:.4f}"
        notes.append(Text(f"{stop.reason}: cancelled {ids}{saved}", style="cyan"))
    notes += _judge_notes(run)
    synth = run.synthesis
    if synth is not None and synth.status == "skipped":
        notes.append(Text(f"synthesis skipped: {synth.reason}", style="yellow"))
    elif synth is not None and synth.variation_id is not None:
        ids = " and ".join(str(v) for v in synth.synthesized_from)
        notes.append(
            Text(f"variation {synth.variation_id} synthesized from variations {ids}", "cyan")
        )
    return notes


def _judge_notes(run: RunRead) -> list[Text]:
    """The judge's call, and its rationale for each variation, best first."""
    judge = run.judge
    if judge is None:
        return []
    if judge.status != "ok":
        return [Text(f"judge {judge.model} {judge.status}: {judge.error}", style="yellow")]
    notes = [Text(f"judge {judge.model} (${judge.cost_usd:.4f}):", style="cyan")]
    if judge.error:  # ok, but its second call (after synthesis) gave no answer
        notes.append(Text(f"  {judge.error}", style="yellow"))
    said = sorted((v for v in run.variations if v.judge is not None), key=_judge_rank)
    for v in said:
        assert v.judge is not None
        notes.append(
            Text.assemble(
                f"  #{v.judge.rank} variation {v.variation_id} ",
                (v.judge.verdict, "bold"),
                f": {v.judge.rationale}",
            )
        )
    return notes


def _judge_rank(v: VariationRead) -> int:
    return 0 if v.judge is None else v.judge.rank


def winner_line(run: RunRead) -> Text:
    """Who won and who said so, the suggested pick, or why there is nothing to pick."""
    vid = run.winning_variation_id
    if vid is None:
        ranked = sorted((v for v in run.variations if _rank(v) is not None), key=_order)
        if not ranked:
            return Text("no winner recorded: no variation produced a result to judge", "bold")
        best = next((v for v in ranked if v.score_parts.get("qualifies")), None)
        suggestion = "" if best is None else f" — suggested: variation {best.variation_id};"
        return Text.assemble(
            ("no winner recorded", "bold"),
            suggestion,
            f" pick one: aideator runs select {run.id[:8]} <variation> --reason '…'",
        )
    reason = f": {run.winner_reason}" if run.winner_reason else ""
    return Text.assemble(
        (f"★ winner: variation {vid}", "bold green"),
        f" (selected by {run.winner_selected_by}{reason})",
    )


def _tail(text: str, width: int) -> str:
    return text if len(text) <= width else "…" + text[-(width - 1) :]


def lineage(run: RunSummary) -> str | None:
    """`abc12345/2` for a fork of run abc12345's variation 2; None for a run of its own."""
    if run.parent is None:
        return None
    return f"{run.parent.run_id[:8]}/{run.parent.variation_id}"


def runs_table(items: list[RunSummary], width: int) -> Group:
    """Runs, newest first, one line each, fitted to `width` columns (the prompt is cut)."""
    head = f"{'id':<8}  {'created':<16}  {'status':<11}  {'vars':>4}  {'winner':<10}  "
    head += f"{'cost':>8}  {'from':<10}  {'repo':<28}  "
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
                f"{lineage(r) or '-':<10}  {_tail(r.repo_url, 28):<28}  {prompt}",
            )
        )
    return Group(*lines)


def print_outcome(console: Console, run: RunRead) -> None:
    """The score table fitted to the terminal, what it cannot say, and the winner line."""
    console.print(score_table(run, console.width))
    for note in outcome_notes(run):
        console.print(note, soft_wrap=True)
    console.print(winner_line(run), soft_wrap=True)
