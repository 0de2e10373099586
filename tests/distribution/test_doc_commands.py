"""Every shell command README.md and docs/cli.md show works as written.

The commands are read from the Markdown (```sh blocks, see doc_commands.py) and run in order
from the repository root, each with `bash -c`, in one shared environment: the server's data
and database in a temporary directory, no ANTHROPIC_API_KEY (so the scripted model), `uv tool`
installs into a temporary directory whose bin folder comes first on PATH.

A command that cannot run here is listed in CANNOT_RUN with the reason. A new command in
the docs runs by default: if it cannot run on this machine, add it there, saying why.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from doc_commands import DocCommand, commands_in

REPO_ROOT = Path(__file__).resolve().parents[2]
DOCS = ("README.md", "docs/cli.md")
COMMAND_SECONDS = 300

# Command prefix (as written) -> why it cannot run on this machine.
CANNOT_RUN: dict[str, str] = {
    "make test": "it is the whole suite, this test included; CI runs it as its own step",
    "curl -s localhost:8000/api/v1/runs -H": (
        "starts a run on https://github.com/you/project, a placeholder, and this machine "
        "reaches no code host; tests/api/test_runs.py posts the same body for a local repository"
    ),
    "curl -N localhost:8000/api/v1/runs/<run_id>/stream": (
        "<run_id> stands for the run started above; tests/e2e/test_stream_resume.py reads it"
    ),
    "curl -s localhost:8000/api/v1/runs/<run_id>/": (
        "<run_id> stands for the run started above; tests/api covers diff, select and push"
    ),
    "uv run aideator run --repo https://github.com/you/project": (
        "a placeholder repository, and this machine reaches no code host"
    ),
    "uv run aideator runs apply ID N": (
        "ID and N stand for a run and a variation; tests/cli/test_deliver.py applies one"
    ),
    "uv run aideator runs push ID N": (
        "ID and N stand for a run and a variation, and a push needs the repository's remote "
        "(a code host); tests/cli/test_deliver.py pushes to a local git server"
    ),
    "uv run aideator runs fork ID N": (
        "ID and N stand for a run and a variation; tests/cli/test_fork.py forks one"
    ),
    "uv run aideator compare --spec run.yaml --push-winner": (
        "run.yaml stands for your spec, and the push needs a code host; "
        "tests/cli/test_deliver.py covers --push-winner"
    ),
    "dagger call ": (
        "needs the Dagger CLI and a Dagger engine, neither of which exists here; "
        ".github/workflows/dagger.yml runs these on a real engine"
    ),
}
# Commands that serve until stopped: run until /api/v1/health answers, then Ctrl-C.
SERVES = ("uv run aideator serve",)

COMMANDS = [command for doc in DOCS for command in commands_in(REPO_ROOT / doc, REPO_ROOT)]


def cannot_run(command: DocCommand) -> str | None:
    """Why a command cannot run here, or None."""
    reasons = [why for prefix, why in CANNOT_RUN.items() if command.text.startswith(prefix)]
    assert len(reasons) <= 1, f"{command.where}: more than one CANNOT_RUN entry matches"
    return reasons[0] if reasons else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _untracked() -> set[str]:
    """Untracked paths in the checkout the documented commands may leave (out/, dist/ ...).

    Hidden paths (.hypothesis/, .schemathesis/ ...) and __pycache__/ are left out: tests
    running at the same time on another worker make those, and they must not be removed."""
    done = subprocess.run(
        ["git", "-C", str(REPO_ROOT), "ls-files", "--others", "--directory"],
        capture_output=True,
        text=True,
        check=True,
    )
    return {
        path
        for path in done.stdout.splitlines()
        if not any(part.startswith(".") or part == "__pycache__" for part in Path(path).parts)
    }


@dataclass(frozen=True)
class Shell:
    """The environment every documented command runs in."""

    env: dict[str, str]
    port: int

    def describe(self, command: DocCommand, done: subprocess.CompletedProcess[str]) -> str:
        return (
            f"{command.where}: `{command.text}` exited {done.returncode}\n"
            f"--- stdout (end) ---\n{done.stdout[-3000:]}\n"
            f"--- stderr (end) ---\n{done.stderr[-3000:]}"
        )


@pytest.fixture(scope="module")
def shell(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shell]:
    root = tmp_path_factory.mktemp("doc-commands")
    tool_bin = root / "tool-bin"
    port = _free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AIDEATOR_", "ANTHROPIC_", "VIRTUAL_ENV", "UV_TOOL", "COLUMNS"))
    }
    env |= {
        "PATH": os.pathsep.join([str(tool_bin), str(Path(sys.executable).parent), env["PATH"]]),
        "UV_TOOL_DIR": str(root / "tools"),
        "UV_TOOL_BIN_DIR": str(tool_bin),
        "UV_PYTHON_DOWNLOADS": "never",
        "AIDEATOR_DATA_DIR": str(root / "data"),
        "AIDEATOR_DATABASE_URL": f"sqlite+aiosqlite:///{root / 'aideator.db'}",
        "AIDEATOR_PORT": str(port),  # the docs' 8000 may be taken on a shared machine
        "AIDEATOR_SCRIPTED_CHUNK_DELAY": "0",
        "NO_COLOR": "1",
    }
    before = _untracked()
    yield Shell(env=env, port=port)
    for leftover in _untracked() - before:  # out/, prefs.jsonl, dist/ ...
        path = REPO_ROOT / leftover
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


def _serve_until_healthy(shell: Shell, command: DocCommand) -> None:
    proc = subprocess.Popen(
        ["bash", "-c", command.text],
        cwd=REPO_ROOT,
        env=shell.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{shell.port}/api/v1/health"
    deadline = time.monotonic() + COMMAND_SECONDS
    healthy = False
    while time.monotonic() < deadline and proc.poll() is None and not healthy:
        try:
            with urllib.request.urlopen(url, timeout=2) as res:
                healthy = res.status == 200
        except OSError:
            time.sleep(0.3)
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGINT)
    try:
        out, err = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
    done = subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
    assert healthy, f"never answered {url}; " + shell.describe(command, done)
    assert proc.returncode == 0, "stopped with Ctrl-C; " + shell.describe(command, done)


@pytest.mark.parametrize("command", COMMANDS, ids=[c.where for c in COMMANDS])
def test_documented_command(shell: Shell, command: DocCommand) -> None:
    reason = cannot_run(command)
    if reason is not None:
        pytest.skip(f"cannot run here: {reason}")
    if command.text.startswith(SERVES):
        _serve_until_healthy(shell, command)
        return
    done = subprocess.run(
        ["bash", "-c", command.text],
        cwd=REPO_ROOT,
        env=shell.env,
        capture_output=True,
        text=True,
        timeout=COMMAND_SECONDS,
        check=False,
    )
    assert done.returncode == 0, shell.describe(command, done)


def test_the_docs_show_commands_and_every_exception_is_used() -> None:
    for doc in DOCS:
        assert [c for c in COMMANDS if c.file == doc], f"{doc}: no ```sh command found"
    for prefix in CANNOT_RUN:
        assert any(c.text.startswith(prefix) for c in COMMANDS), (
            f"CANNOT_RUN entry {prefix!r} matches no command in {', '.join(DOCS)}: remove it"
        )
    runnable = [c for c in COMMANDS if cannot_run(c) is None]
    assert len(runnable) >= len(COMMANDS) // 2, "most documented commands must run here"
