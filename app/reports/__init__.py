"""Comparison reports: `report.json` (schema version 1), `report.md` and one patch per variation.

One implementation for every producer: the CLI writes a report directory from a finished
run; a server route could do the same (call `write_report` in a worker thread).
"""

from aideator_scoring.markdown import first_line, render_markdown

from app.reports.build import (
    SCHEMA_VERSION,
    build_report,
    patch_name,
    run_outcome,
    transcript_name,
    variation_label,
    variation_passed,
)
from app.reports.files import write_report

__all__ = [
    "SCHEMA_VERSION",
    "build_report",
    "first_line",
    "patch_name",
    "render_markdown",
    "run_outcome",
    "transcript_name",
    "variation_label",
    "variation_passed",
    "write_report",
]
