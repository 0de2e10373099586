"""`python -m app.scripted_model --host 127.0.0.1 --port N`: serve the scripted model."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import uvicorn

from app.scripted_model.scenarios import SCENARIO_DIR, list_scenarios
from app.scripted_model.server import create_app


def main(argv: list[str] | None = None) -> None:
    """Parse arguments and serve the scripted model with uvicorn until interrupted."""
    parser = argparse.ArgumentParser(
        prog="python -m app.scripted_model",
        description="Anthropic Messages API look-alike that plays scripted scenarios (not Claude).",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8787, help="port to bind (0: any free port)")
    parser.add_argument(
        "--scenarios", type=Path, default=SCENARIO_DIR, help="directory of scenario JSON files"
    )
    parser.add_argument(
        "--chunk-delay",
        type=float,
        default=0.0,
        help="seconds to pause between streamed events, so a demo visibly streams",
    )
    parser.add_argument("--log-level", default="info")
    args = parser.parse_args(argv)
    app = create_app(args.scenarios, chunk_delay=args.chunk_delay)
    names = ", ".join(list_scenarios(args.scenarios))
    # Loud on purpose: nobody should mistake this server for Claude.
    print(
        f"scripted model, not Claude: http://{args.host}:{args.port} (scenarios: {names})",
        file=sys.stderr,
        flush=True,
    )
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level)


if __name__ == "__main__":
    main()
