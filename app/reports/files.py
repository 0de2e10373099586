"""A report directory: report.json, report.md, and each variation's patch and transcript."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from aideator_scoring.markdown import render_markdown

from app.reports.build import build_report, patch_name, transcript_name
from app.schemas import RunRead


def _write(path: Path, text: str) -> None:
    # newline="" keeps patches byte-exact (no newline translation).
    path.write_text(text, encoding="utf-8", newline="")


def write_report(
    directory: Path,
    run: RunRead,
    diffs: Mapping[int, str],
    transcripts: Mapping[int, Sequence[Mapping[str, Any]]] | None = None,
) -> dict[str, Any]:
    """Write the report files into `directory` (created if needed); return the report object.

    Blocking file I/O: from async code, call it in a worker thread.
    """
    directory.mkdir(parents=True, exist_ok=True)
    report = build_report(run, with_transcripts=transcripts is not None)
    for v in run.variations:
        vid = v.variation_id
        _write(directory / patch_name(vid), diffs.get(vid, ""))
        if transcripts is not None:
            lines = transcripts.get(vid, ())
            _write(
                directory / transcript_name(vid),
                "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines),
            )
    winner = report["winner"]
    winner_patch = None if winner is None else diffs.get(winner["variation_id"])
    _write(directory / "report.json", json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    _write(directory / "report.md", render_markdown(report, winner_patch))
    return report
