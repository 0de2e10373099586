"""A hostile agent in the local sandbox tries to get out; every attempt must fail (G6, G9).

Each attempt is paired with a control that uses the same mechanism on something the
sandbox may touch, so a broken probe cannot pass for a blocked one.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from app.package_files import agent_source_dir
from app.runners.local import LocalRunner
from tests.runners.local.test_local_support import (
    command_job,
    needs_bwrap,
    run_job,
    sandbox_settings,
    stdout_texts,
    with_command,
    workspace,
)

pytestmark = needs_bwrap

CANARY_KEY = "sk-ant-canary-" + uuid.uuid4().hex
MARKER = "aideator-marker-" + uuid.uuid4().hex

HOSTILE = r"""
import json, os, socket, subprocess, sys

def report(name, fn):
    try:
        detail = fn()
        print(json.dumps({"attempt": name, "ok": True, "detail": str(detail)[:200]}), flush=True)
    except BaseException as exc:
        print(json.dumps({"attempt": name, "ok": False, "detail": repr(exc)[:200]}), flush=True)

def read(path):
    with open(path, "rb") as f:
        return f.read(64)

def write(path):
    with open(path, "w") as f:
        f.write("pwned")
    return path

def connect(host, port):
    with socket.create_connection((host, port), timeout=3):
        return "connected"

def listen_and_connect():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    return connect("127.0.0.1", server.getsockname()[1])

def grep_proc(needle):
    hits = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            for name in ("environ", "cmdline"):
                try:
                    if needle.encode() in open(f"/proc/{pid}/{name}", "rb").read():
                        hits.append(f"{pid}/{name}")
                except OSError:
                    pass
    if not hits:
        raise LookupError("not found")
    return hits

def in_env(needle):
    hits = [k for k, v in os.environ.items() if needle in v or needle in k]
    if not hits:
        raise LookupError("not found")
    return hits

def run(*argv):
    done = subprocess.run(argv, capture_output=True, text=True)
    if done.returncode != 0:
        raise OSError(done.returncode, done.stderr.strip())
    return done.stdout

args = json.loads(sys.argv[1])
# Needles arrive reversed, so they are not found in this program's own command line.
needles = {name: args[name][::-1] for name in ("marker", "canary")}
report("control_read_own", lambda: read("/workspace/README.md"))
report("read_sibling", lambda: read(args["sibling"]))
report("read_sibling_relative", lambda: read("/workspace/../" + args["sibling_name"]))
report("read_database", lambda: read(args["database"]))
report("read_home_canary", lambda: read(args["home_canary"]))
report("list_home", lambda: os.listdir(args["home"]).index(args["home_canary_name"]))
report("control_write_workspace", lambda: write("/workspace/agent-was-here"))
report("control_write_tmp", lambda: write("/tmp/agent-was-here"))
for target in args["write_targets"]:
    report("write " + target, lambda target=target: write(target))
report("control_connect_sandbox_loopback", listen_and_connect)
report("connect_host_port", lambda: connect("127.0.0.1", args["host_port"]))
report("connect_outside", lambda: connect("1.1.1.1", 443))
report("control_marker_in_proc", lambda: grep_proc(needles["marker"]))
report("canary_in_proc", lambda: grep_proc(needles["canary"]))
report("canary_in_env", lambda: in_env(needles["canary"]))
report("kill_host_process", lambda: os.kill(args["host_pid"], 9))
report("nested_user_namespace", lambda: run("unshare", "--user", "true"))
"""


@pytest.fixture
def host_listener() -> Iterator[int]:
    """A TCP server on the host's loopback (what a sandbox must not reach)."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        yield server.getsockname()[1]


@pytest.fixture
async def host_sleeper() -> AsyncIterator[asyncio.subprocess.Process]:
    """A host process the sandbox will try to kill."""
    process = await asyncio.create_subprocess_exec("sleep", "120")
    yield process
    process.kill()
    await process.wait()


@pytest.fixture
def home_canary() -> Iterator[Path]:
    """A private file in the server user's home directory."""
    path = Path.home() / f".aideator-canary-{uuid.uuid4().hex}"
    path.write_text("host secret\n")
    path.chmod(0o600)
    yield path
    path.unlink(missing_ok=True)


async def test_hostile_agent_cannot_leave_its_sandbox(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    host_listener: int,
    host_sleeper: asyncio.subprocess.Process,
    home_canary: Path,
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", CANARY_KEY)  # the server's own environment
    settings = sandbox_settings(tmp_path)
    database = tmp_path / "aideator.db"
    database.write_bytes(b"SQLite format 3\x00 server secrets")
    workspaces = tmp_path / "data" / "repos" / "workspaces" / "run-x"
    tree, sha = workspace(workspaces / "0")
    sibling, _ = workspace(workspaces / "1", {"README.md": "the sibling's secret\n"})
    write_targets = [
        "/usr/pwned",
        "/etc/pwned",
        "/pwned",
        "/run/aideator/pwned",
        str(agent_source_dir() / "pwned"),
        str(Path(sys.prefix) / "pwned"),
        str(tmp_path / "pwned"),
    ]
    args = {
        "sibling": str(sibling / "README.md"),
        "sibling_name": "1",
        "database": str(database),
        "home": str(Path.home()),
        "home_canary": str(home_canary),
        "home_canary_name": home_canary.name,
        "write_targets": write_targets,
        "host_port": host_listener,
        "marker": MARKER[::-1],
        "canary": CANARY_KEY[::-1],
        "host_pid": host_sleeper.pid,
    }
    job = with_command(
        command_job(tree, sha, "", env={"TEST_MARKER": MARKER}),
        ["python3", "-c", HOSTILE, json.dumps(args)],
    )

    lines, final = await run_job(LocalRunner(settings.local_settings), job)

    attempts = _attempts(stdout_texts(lines))
    assert final.exit_code == 0, final
    assert attempts["control_read_own"]["ok"], attempts["control_read_own"]
    assert attempts["control_write_workspace"]["ok"], attempts["control_write_workspace"]
    assert attempts["control_write_tmp"]["ok"], attempts["control_write_tmp"]
    assert attempts["control_connect_sandbox_loopback"]["ok"]
    assert attempts["control_marker_in_proc"]["ok"], attempts["control_marker_in_proc"]
    assert (tree / "agent-was-here").read_text() == "pwned"

    assert not attempts["read_sibling"]["ok"], attempts["read_sibling"]
    assert not attempts["read_sibling_relative"]["ok"], attempts["read_sibling_relative"]
    assert not attempts["read_database"]["ok"], attempts["read_database"]
    assert not attempts["read_home_canary"]["ok"], attempts["read_home_canary"]
    assert not attempts["list_home"]["ok"], attempts["list_home"]
    for target in write_targets:
        assert not attempts[f"write {target}"]["ok"], attempts[f"write {target}"]
    written = await asyncio.to_thread(lambda: [t for t in write_targets if os.path.exists(t)])
    assert written == [], "written from inside the sandbox"
    assert not attempts["connect_host_port"]["ok"], attempts["connect_host_port"]
    assert not attempts["connect_outside"]["ok"], attempts["connect_outside"]
    assert not attempts["canary_in_proc"]["ok"], attempts["canary_in_proc"]
    assert not attempts["canary_in_env"]["ok"], attempts["canary_in_env"]
    assert not attempts["kill_host_process"]["ok"], attempts["kill_host_process"]
    assert host_sleeper.returncode is None
    os.kill(host_sleeper.pid, 0)  # still alive
    assert not attempts["nested_user_namespace"]["ok"], attempts["nested_user_namespace"]
    assert (sibling / "README.md").read_text() == "the sibling's secret\n"


async def test_sandbox_runs_as_an_unprivileged_user(tmp_path: Path) -> None:
    tree, sha = workspace(tmp_path / "ws")
    script = (
        "id -u; id -g; grep -E '^(CapEff|CapBnd|NoNewPrivs|Groups):' /proc/self/status; hostname"
    )
    lines, final = await run_job(
        LocalRunner(sandbox_settings(tmp_path).local_settings), command_job(tree, sha, script)
    )
    out = stdout_texts(lines)
    assert final.exit_code == 0
    assert out[:2] == ["1000", "1000"]
    status = dict(line.split(":", 1) for line in out[2:6])
    assert status["CapEff"].strip() == "0000000000000000"
    assert status["CapBnd"].strip() == "0000000000000000"
    assert status["NoNewPrivs"].strip() == "1"
    assert status["Groups"].strip() == ""
    assert out[6] == "sandbox"
    if os.geteuid() == 0:
        # As root the sandbox user is a dedicated unprivileged host uid, never root.
        owner = (tree / ".git").stat().st_uid
        assert owner == 2_000_000_000, owner


def _attempts(texts: list[str]) -> dict[str, dict[str, Any]]:
    attempts = {}
    for text in texts:
        if text.startswith('{"attempt"'):
            entry = json.loads(text)
            attempts[entry["attempt"]] = entry
    return attempts
