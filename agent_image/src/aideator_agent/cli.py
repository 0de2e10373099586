"""Command line: `python -m aideator_agent [--spec-file PATH] [--workdir DIR]`."""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from aideator_agent import __version__
from aideator_agent.emitter import LineEmitter
from aideator_agent.protocol import zero_usage
from aideator_agent.start import EXIT_SETUP_FAILED, announce

if TYPE_CHECKING:
    from aideator_agent.relay import RelayClient

DEFAULT_RELAY_FLUSH_TIMEOUT = 10.0


class _ArgumentError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    # Bad arguments must still end in protocol lines, not in argparse's exit.
    def error(self, message: str) -> NoReturn:
        raise _ArgumentError(message)


def _parser() -> _Parser:
    parser = _Parser(prog="aideator_agent", description="Run one AIdeator variation.")
    parser.add_argument("--spec-file", type=Path, help="JSON spec (default: $AIDEATOR_SPEC)")
    parser.add_argument("--workdir", type=Path, help="checked-out repository (default: cwd)")
    parser.add_argument("--version", action="version", version=f"aideator-agent {__version__}")
    return parser


def _flush_timeout() -> float:
    try:
        return max(0.0, float(os.environ.get("RELAY_FLUSH_TIMEOUT", "")))
    except ValueError:
        return DEFAULT_RELAY_FLUSH_TIMEOUT


def _start_relay(emitter: LineEmitter) -> RelayClient | None:
    url = os.environ.get("RELAY_URL")
    if not url:
        return None
    # Imported only when relaying (http.client, urllib): a sandbox that prints its lines
    # starts sooner without them.
    from aideator_agent.relay import RelayClient

    relay = RelayClient(url, os.environ.get("RELAY_TOKEN"))
    relay.start()
    emitter.add_sink(relay.submit)
    return relay


def _crash_result(emitter: LineEmitter, message: str, code: str) -> None:
    """Close the stream with an error and a result when the normal path could not."""
    if emitter.result_sent:
        return
    emitter.emit("error", message, {"code": code})
    data = {
        "exit_code": EXIT_SETUP_FAILED,
        "diff": "",
        "diff_stats": {"files": 0, "insertions": 0, "deletions": 0},
        "usage": zero_usage(),
        "cost_usd": None,
        "duration_seconds": 0.0,
        "agent_version": __version__,
        "claude_code_version": None,
    }
    emitter.emit("result", message, data)


def main(argv: list[str] | None = None) -> int:
    """Run one variation; print protocol lines on stdout; return the exit status."""
    emitter = LineEmitter(
        secrets=(os.environ.get("ANTHROPIC_API_KEY"), os.environ.get("RELAY_TOKEN"))
    )
    relay = _start_relay(emitter)
    try:
        try:
            args = _parser().parse_args(argv)
        except _ArgumentError as exc:
            emitter.emit("status", "starting", {"kind": "unknown", "agent_version": __version__})
            _crash_result(emitter, f"bad arguments: {exc}", "bad_spec")
            return EXIT_SETUP_FAILED
        workdir = (args.workdir or Path.cwd()).resolve()
        announced = announce(emitter, args.spec_file)
        # Loaded after the first line: asyncio and the agent kinds are most of the start-up.
        import asyncio

        from aideator_agent.session import VariationSession

        session = VariationSession(emitter).run(args.spec_file, workdir, announced=announced)
        return asyncio.run(session)
    except Exception as exc:
        traceback.print_exc(file=sys.stderr)
        if emitter.seq == 0:
            emitter.emit("status", "starting", {"kind": "unknown", "agent_version": __version__})
        _crash_result(
            emitter, f"agent program failed: {type(exc).__name__}: {exc}", "internal_error"
        )
        return EXIT_SETUP_FAILED
    finally:
        if relay is not None:
            relay.close(_flush_timeout())
