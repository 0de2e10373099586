"""The live view takes a variation it was not told about (the run's synthesized one)."""

from __future__ import annotations

from io import StringIO

from rich.console import Console

from app.cli.live import RunView
from app.cli.sse import StreamEvent
from app.schemas import VariationAccepted


def test_a_new_variation_gets_its_own_prefix_and_transcript() -> None:
    buffer = StringIO()
    console = Console(file=buffer, width=120, color_system=None)
    view = RunView(
        console, [VariationAccepted(variation_id=0, spec={"model": "scripted/fix-correct"})]
    )
    line = {"variation_id": 1, "seq": 0, "type": "text", "text": "Combining both fixes."}
    view.handle(StreamEvent(5, "agent_output", line))  # before its status: not shown
    view.handle(StreamEvent(6, "variation_status", {"variation_id": 1, "status": "queued"}))
    view.handle(StreamEvent(7, "agent_output", line | {"seq": 1}))
    printed = buffer.getvalue()
    assert printed.count("Combining both fixes.") == 1
    assert "v1 synthesis" in printed
    assert view.transcripts[1] == [line | {"seq": 1}]
