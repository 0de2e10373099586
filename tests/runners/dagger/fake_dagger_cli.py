"""STAND-IN for the `dagger` CLI in the DaggerRunner tests. It is not Dagger.

It records the argv and environment it was started with, then behaves as
FAKE_DAGGER_MODE says:
  result       print a final result JSON on stdout (like `dagger call ... result`), exit 0
  agent-failed the same, with the agent's exit code 3
  no-result    print an error on stderr, exit 1
  sleep        start a grandchild in the same process group, then sleep forever
  stubborn     ignore SIGTERM, start a grandchild that ignores it too, then sleep forever
`version` prints a version line (FAKE_DAGGER_VERSION) like `dagger version` does.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

RESULT = {
    "exit_code": 0,
    "diff": "diff --git a/x.py b/x.py\n--- a/x.py\n+++ b/x.py\n@@ -1 +1 @@\n-a\n+b\n",
    "diff_stats": {"files": 1, "insertions": 1, "deletions": 1},
    "usage": {"input_tokens": 10, "output_tokens": 5},
    "cost_usd": None,
    "duration_seconds": 1.5,
}


def _record(extra: dict[str, object]) -> None:
    path = os.environ.get("FAKE_DAGGER_RECORD")
    if not path:
        return
    record = {"argv": sys.argv[1:], "env": dict(os.environ), "pid": os.getpid(), **extra}
    tmp = Path(path + ".tmp")
    tmp.write_text(json.dumps(record))
    tmp.replace(path)


def _sleep_forever() -> None:
    while True:
        time.sleep(60)


def main() -> int:
    """Act like the dagger CLI in the way FAKE_DAGGER_MODE asks."""
    if sys.argv[1:] == ["version"]:
        print(os.environ.get("FAKE_DAGGER_VERSION", "dagger v0.21.11 (stand-in) linux/amd64"))
        return 0
    mode = os.environ.get("FAKE_DAGGER_MODE", "result")
    token = os.environ.get("AIDEATOR_GATEWAY_TOKEN", "")
    if mode in ("result", "agent-failed"):
        _record({})
        # A careless CLI echoing a secret: the runner must mask it in the debug log.
        print(f"progress: connecting to engine (token {token})", file=sys.stderr, flush=True)
        result = dict(RESULT, exit_code=3 if mode == "agent-failed" else 0)
        sys.stdout.write(json.dumps(result))
        return 0
    if mode == "no-result":
        _record({})
        print("Error: engine exploded", file=sys.stderr)
        return 1
    if mode == "sleep":
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(3600)"])
        _record({"grandchild": child.pid})
        _sleep_forever()
    if mode == "stubborn":
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        code = (
            "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(3600)"
        )
        child = subprocess.Popen([sys.executable, "-c", code])
        _record({"grandchild": child.pid})
        _sleep_forever()
    print(f"unknown FAKE_DAGGER_MODE {mode!r}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
