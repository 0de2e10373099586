"""STAND-IN for the `dagger` CLI in the DaggerRunner tests. It is not Dagger.

It records the argv and environment it was started with, then behaves as
FAKE_DAGGER_MODE says:
  result       print a final result JSON on stdout (like `dagger call ... result`), exit 0
  agent-failed the same, with the agent's exit code 3
  no-result    print an error on stderr, exit 1
  sleep        start a grandchild in the same process group, then sleep forever
  stubborn     ignore SIGTERM, start a grandchild that ignores it too, then sleep forever
  agent        act like the module's `stream-agent ... result`: run the real agent program
               on a private clone of --source, relay its lines to --relay, print its result
               (used by the backend contract tests, tests/runners/test_contract.py)
`version` prints a version line (FAKE_DAGGER_VERSION) like `dagger version` does.

For the engine pool tests: a call whose _EXPERIMENTAL_DAGGER_RUNNER_HOST is listed in
FAKE_DAGGER_REFUSE (comma-separated) fails the way the CLI does when its engine refuses
the connection; FAKE_DAGGER_DELAY (seconds) delays every other call; FAKE_DAGGER_LOG names
a file that gets one JSON line per call: the engine, start and end times.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

AGENT_SRC = Path(__file__).resolve().parents[3] / "agent_image" / "src"

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
    for arg in sys.argv[1:]:
        if arg.startswith("--prompt-file="):  # the file exists only while the call runs
            record["prompt_file_text"] = Path(arg.partition("=")[2]).read_text()
    tmp = Path(path + ".tmp")
    tmp.write_text(json.dumps(record))
    tmp.replace(path)


def _sleep_forever() -> None:
    while True:
        time.sleep(60)


def _flags(argv: list[str]) -> dict[str, list[str]]:
    """`--name=value` flags; list flags (repeated, CSV-quoted) keep every value."""
    flags: dict[str, list[str]] = {}
    for arg in argv:
        name, sep, value = arg.partition("=")
        if sep and name.startswith("--"):
            flags.setdefault(name[2:], []).append(value)
    return flags


def _agent_like_the_module(flags: dict[str, list[str]]) -> int:
    """What `stream-agent` does in the engine, minus the container: clone, run, relay, return."""
    one = {name: values[-1] for name, values in flags.items()}
    work = Path(tempfile.mkdtemp(prefix="fake-dagger-")) / "workspace"
    source = one["source"]
    base_sha = subprocess.run(
        ["git", "-C", source, "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()
    subprocess.run(["git", "clone", "-q", "--no-checkout", source, str(work)], check=True)
    subprocess.run(["git", "-C", str(work), "checkout", "-q", "--detach", base_sha], check=True)
    spec = {
        "agent": one.get("agent", "claude-code"),
        "command": [next(csv.reader([v]))[0] for v in flags.get("command", [])],
        "prompt": Path(one["prompt-file"]).read_text() if "prompt-file" in one else one["prompt"],
        "base_sha": base_sha,
        "run_id": one["run-id"],
        "variation_id": int(one["variation-id"]),
    }
    env = {
        "PATH": os.environ.get("PATH", os.defpath),
        "HOME": str(work.parent),
        "LANG": "C.UTF-8",
        "PYTHONPATH": str(AGENT_SRC),
        "PYTHONUNBUFFERED": "1",
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "AIDEATOR_SPEC": json.dumps(spec),
    }
    if "gateway" in one:
        # The module binds the gateway service as http://gateway:PORT<path>; no container
        # here, so the agent reaches the same host service directly.
        env["ANTHROPIC_BASE_URL"] = one["gateway"].replace("tcp://", "http://") + one.get(
            "gateway-path", ""
        )
    if "anthropic-api-key" in one:
        env["ANTHROPIC_API_KEY"] = os.environ[one["anthropic-api-key"].removeprefix("env://")]
    if "relay" in one:
        env["RELAY_URL"] = one["relay"].replace("tcp://", "http://") + one.get("relay-path", "")
        env["RELAY_TOKEN"] = os.environ[one["relay-token"].removeprefix("env://")]
    agent = subprocess.Popen(
        [sys.executable, "-m", "aideator_agent"], cwd=work, env=env, stdout=subprocess.PIPE
    )
    _record({"agent": agent.pid})
    assert agent.stdout is not None
    result: dict[str, object] | None = None
    for raw in agent.stdout:  # the engine prints nothing until the end; lines go by the relay
        line = json.loads(raw) if raw.startswith(b"{") else {}
        if line.get("type") == "result":
            result = line.get("data")
    agent.wait()
    shutil.rmtree(work.parent, ignore_errors=True)
    if result is None:
        print("Error: the agent printed no result", file=sys.stderr)
        return 1
    sys.stdout.write(json.dumps(result))
    return 0


def main() -> int:
    """Act like the dagger CLI in the way FAKE_DAGGER_MODE asks."""
    if sys.argv[1:] == ["version"]:
        print(os.environ.get("FAKE_DAGGER_VERSION", "dagger v0.21.11 (stand-in) linux/amd64"))
        return 0
    engine = os.environ.get("_EXPERIMENTAL_DAGGER_RUNNER_HOST", "")
    if engine and engine in os.environ.get("FAKE_DAGGER_REFUSE", "").split(","):
        print(
            f"Error: failed to connect to engine: dial tcp {engine.removeprefix('tcp://')}: "
            "connect: connection refused",
            file=sys.stderr,
        )
        return 1
    started = time.time()
    time.sleep(float(os.environ.get("FAKE_DAGGER_DELAY", "0")))
    try:
        return _act(os.environ.get("FAKE_DAGGER_MODE", "result"))
    finally:
        if log := os.environ.get("FAKE_DAGGER_LOG"):
            entry = {"engine": engine, "start": started, "end": time.time(), "argv": sys.argv[1:]}
            with open(log, "a") as out:
                out.write(json.dumps(entry) + "\n")


def _act(mode: str) -> int:
    token = os.environ.get("AIDEATOR_GATEWAY_TOKEN", "")
    if mode in ("result", "agent-failed"):
        _record({})
        # A careless CLI echoing a secret: the runner must mask it in the debug log.
        print(f"progress: connecting to engine (token {token})", file=sys.stderr, flush=True)
        result = dict(RESULT, exit_code=3 if mode == "agent-failed" else 0)
        sys.stdout.write(json.dumps(result))
        return 0
    if mode == "agent":
        return _agent_like_the_module(_flags(sys.argv[1:]))
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
