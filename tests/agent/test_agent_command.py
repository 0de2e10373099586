"""The agent program with kind `command`: live log lines, exit code, diff, bad input."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from agent_harness import AGENT_SRC, AgentRun, agent_env, git, run_agent
from aideator_agent.protocol import validate_stream

PY = sys.executable


def command_spec(script: str, **extra: object) -> dict[str, object]:
    """A spec running a Python one-off script as the agent."""
    return {"agent": "command", "command": [PY, "-u", "-c", script], "prompt": "p", **extra}


class TestCommandKind:
    def test_lines_in_order_with_exit_code(self, repo: Path) -> None:
        script = (
            "import sys\n"
            "for i in range(5): print(f'out {i}')\n"
            "print('oops', file=sys.stderr)\n"
            "sys.exit(3)\n"
        )
        run = run_agent(command_spec(script), repo)

        assert run.returncode == 0
        assert validate_stream(run.lines) == []
        assert [line["seq"] for line in run.lines] == list(range(len(run.lines)))
        assert run.logs("stdout") == [f"out {i}" for i in range(5)]
        assert run.logs("stderr") == ["oops"]
        assert run.lines[0]["data"]["kind"] == "command"
        assert run.lines[0]["data"]["agent_version"] == "0.1.0"
        assert run.result["exit_code"] == 3
        assert run.lines[-1]["text"] == "command exited 3"

    def test_a_background_child_holding_the_pipes_does_not_hold_the_agent(self, repo: Path) -> None:
        """The command exits but leaves a process writing to its stdout: what came before
        the exit is relayed, and the agent ends after a short grace, not with the orphan."""
        script = (
            "import subprocess, sys\n"
            "print('before exit', flush=True)\n"
            "subprocess.Popen([sys.executable, '-c', "
            "'import time\\nfor i in range(30): print(i, flush=True); time.sleep(1)'])\n"
            "sys.exit(4)\n"
        )
        started = time.monotonic()
        run = run_agent(command_spec(script), repo, timeout=40)
        assert time.monotonic() - started < 20, "the agent waited for the orphan"
        assert validate_stream(run.lines) == []
        assert run.logs("stdout")[0] == "before exit"
        assert run.result["exit_code"] == 4

    def test_diff_has_new_and_modified_files(self, repo: Path) -> None:
        script = (
            "from pathlib import Path\n"
            "Path('calc.py').write_text('def add(a, b):\\n    return a + b\\n')\n"
            "Path('pkg').mkdir()\n"
            "Path('pkg/new.py').write_text('x = 1\\ny = 2\\n')\n"
            "Path('blob.bin').write_bytes(bytes(range(256)))\n"
        )
        run = run_agent(command_spec(script), repo)

        result = run.result
        assert result["exit_code"] == 0
        diff = result["diff"]
        assert "diff --git a/calc.py b/calc.py" in diff
        assert "-    return a - b\n+    return a + b" in diff
        assert "diff --git a/pkg/new.py b/pkg/new.py\nnew file mode 100644" in diff
        assert "GIT binary patch" in diff
        # calc.py +1/-1, new.py +2, blob.bin counts as a file with 0/0.
        assert result["diff_stats"] == {"files": 3, "insertions": 3, "deletions": 1}
        assert result["base_sha"] == git(repo, "rev-parse", "HEAD~0").strip()

        # The patch really is the change: it applies to a clean copy of the base.
        git(repo, "reset", "-q", "--hard", result["base_sha"])
        git(repo, "clean", "-qfd")
        patch = repo / ".." / "change.patch"
        patch.write_text(diff)
        git(repo, "apply", "--index", str(patch.resolve()))
        assert (repo / "blob.bin").read_bytes() == bytes(range(256))

    def test_nothing_changed_gives_empty_diff(self, repo: Path) -> None:
        run = run_agent(command_spec("print('hello')"), repo)

        assert run.result["diff"] == ""
        assert run.result["diff_stats"] == {"files": 0, "insertions": 0, "deletions": 0}
        assert run.result["usage"]["input_tokens"] == 0

    def test_explicit_base_sha_and_committed_work_count(self, repo: Path) -> None:
        base = git(repo, "rev-parse", "HEAD").strip()
        (repo / "later.txt").write_text("committed after base\n")
        git(repo, "add", "later.txt")
        git(repo, "commit", "-qm", "later")
        script = (
            "import subprocess\n"
            "open('README.md', 'a').write('more\\n')\n"
            "subprocess.run(['git', 'commit', '-qam', 'agent commit'], check=True)\n"
        )
        env = {"GIT_AUTHOR_NAME": "a", "GIT_AUTHOR_EMAIL": "a@b.c"}
        env |= {"GIT_COMMITTER_NAME": "a", "GIT_COMMITTER_EMAIL": "a@b.c"}
        run = run_agent(command_spec(script, base_sha=base[:10]), repo, env=env)

        result = run.result
        assert result["base_sha"] == base
        assert "later.txt" in result["diff"] and "README.md" in result["diff"]
        assert result["diff_stats"] == {"files": 2, "insertions": 2, "deletions": 0}

    def test_spec_file_and_workdir_arguments(self, repo: Path, tmp_path: Path) -> None:
        spec_file = tmp_path / "spec.json"
        spec_file.write_text(json.dumps(command_spec("open('f.txt', 'w').write('1\\n')")))
        run = run_agent(
            None, tmp_path, args=["--spec-file", str(spec_file), "--workdir", str(repo)]
        )

        assert run.returncode == 0
        assert run.result["diff_stats"]["files"] == 1
        assert (repo / "f.txt").exists()

    def test_prompt_reaches_command_and_relay_token_does_not(self, repo: Path) -> None:
        script = (
            "import os; print(os.environ['AIDEATOR_PROMPT']); print(os.environ.get('RELAY_TOKEN'))"
        )
        run = run_agent(
            command_spec(script, prompt="fix the bug"),
            repo,
            env={"RELAY_TOKEN": "relay-secret-123", "RELAY_URL": ""},
        )

        assert run.logs("stdout") == ["fix the bug", "None"]

    def test_api_key_is_never_printed(self, repo: Path) -> None:
        script = "import os; print('key=' + os.environ['ANTHROPIC_API_KEY'])"
        run = run_agent(
            command_spec(script), repo, env={"ANTHROPIC_API_KEY": "placeholder-token-abcdef"}
        )

        assert "placeholder-token-abcdef" not in run.stdout
        assert run.logs("stdout") == ["key=***"]

    def test_missing_program_is_recorded_not_fatal(self, repo: Path) -> None:
        spec = {"agent": "command", "command": ["/nonexistent/agent-binary"]}
        run = run_agent(spec, repo)

        assert run.returncode == 0
        assert validate_stream(run.lines) == []
        assert run.result["exit_code"] == 127
        assert run.of_type("error")[0]["data"]["code"] == "not_found"

    def test_sigterm_stops_command_and_still_reports(self, repo: Path) -> None:
        script = (
            "import time\n"
            "open('partial.txt', 'w').write('half done\\n')\n"
            "print('started', flush=True)\n"
            "time.sleep(60)\n"
        )
        env = agent_env({"AIDEATOR_SPEC": json.dumps(command_spec(script))})
        process = subprocess.Popen(
            [PY, "-m", "aideator_agent"], cwd=repo, env=env, stdout=subprocess.PIPE, text=True
        )
        assert process.stdout is not None
        for raw in process.stdout:
            if json.loads(raw).get("text") == "started":
                break
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        rest = process.stdout.read()
        assert process.wait(timeout=20) == 0
        assert time.monotonic() - started < 10
        result = json.loads(rest.splitlines()[-1])
        assert result["type"] == "result"
        assert result["data"]["exit_code"] == 128 + signal.SIGTERM
        assert "partial.txt" in result["data"]["diff"]


class TestBadInput:
    def assert_setup_failure(self, run: AgentRun, code: str) -> None:
        assert run.returncode == 2
        assert "Traceback" not in run.stdout
        assert validate_stream(run.lines) == []
        errors = run.of_type("error")
        assert [error["data"]["code"] for error in errors] == [code]
        assert run.result["exit_code"] == 2

    def test_spec_not_json(self, repo: Path) -> None:
        self.assert_setup_failure(run_agent("{not json", repo), "bad_spec")

    def test_spec_missing(self, repo: Path) -> None:
        self.assert_setup_failure(run_agent(None, repo), "bad_spec")

    def test_spec_wrong_shapes(self, repo: Path) -> None:
        for spec in (
            [1, 2],
            {"agent": "bogus", "prompt": "x"},
            {"agent": "command"},
            {"agent": "command", "command": "ls -l"},
            {"prompt": "x", "max_turns": "ten"},
            {"prompt": ""},
        ):
            self.assert_setup_failure(run_agent(spec, repo), "bad_spec")

    def test_unknown_fields_are_ignored(self, repo: Path) -> None:
        run = run_agent(command_spec("print(1)", future_field={"x": 1}), repo)
        assert run.returncode == 0 and run.result["exit_code"] == 0

    def test_unknown_argument(self, repo: Path) -> None:
        self.assert_setup_failure(run_agent(None, repo, args=["--bogus"]), "bad_spec")

    def test_workdir_not_a_repository(self, tmp_path: Path) -> None:
        plain = tmp_path / "plain"
        plain.mkdir()
        self.assert_setup_failure(run_agent(command_spec("print(1)"), plain), "bad_workspace")

    def test_unknown_base_sha(self, repo: Path) -> None:
        run = run_agent(command_spec("print(1)", base_sha="0" * 40), repo)
        self.assert_setup_failure(run, "bad_workspace")

    def test_repository_without_commits(self, tmp_path: Path) -> None:
        fresh = tmp_path / "fresh"
        fresh.mkdir()
        git(fresh, "init", "-q")
        run = run_agent(command_spec("open('first.txt', 'w').write('a\\nb\\n')"), fresh)
        assert run.returncode == 0
        assert run.result["diff_stats"] == {"files": 1, "insertions": 2, "deletions": 0}


def test_agent_never_imports_the_host_package() -> None:
    sources = "\n".join(path.read_text() for path in (AGENT_SRC / "aideator_agent").glob("*.py"))
    assert "import app" not in sources and "from app" not in sources


def test_workspace_git_config_cannot_run_code(
    make_repo: Callable[[dict[str, str | bytes]], Path], tmp_path: Path
) -> None:
    repo = make_repo({"a.txt": "a\n"})
    marker = tmp_path / "fsmonitor-ran"
    monitor = tmp_path / "monitor.sh"
    monitor.write_text(f"#!/bin/sh\ntouch {marker}\n")
    monitor.chmod(0o755)
    git(repo, "config", "core.fsmonitor", str(monitor))
    run = run_agent(command_spec("open('b.txt', 'w').write('b\\n')"), repo)

    assert run.result["diff_stats"]["files"] == 1
    assert not marker.exists()
    git(repo, "status")  # plain git does run it: the setup above is real
    assert marker.exists()


# Run in a fresh interpreter: which modules are loaded when the first line is out.
_ANNOUNCE = """
import io, json, sys
sys.path.insert(0, sys.argv[1])
from pathlib import Path
from aideator_agent.emitter import LineEmitter
from aideator_agent.start import announce
out = io.BytesIO()
said = announce(LineEmitter(out), Path(sys.argv[2])) is not None
loaded = sorted(m for m in ("asyncio", "aideator_agent.session") if m in sys.modules)
print(json.dumps({"said": said, "lines": out.getvalue().decode().splitlines(), "loaded": loaded}))
"""


def _announce(tmp_path: Path, spec: object) -> dict[str, object]:
    spec_file = tmp_path / "spec.json"
    spec_file.write_text(spec if isinstance(spec, str) else json.dumps(spec))
    done = subprocess.run(
        [PY, "-I", "-S", "-c", _ANNOUNCE, str(AGENT_SRC), str(spec_file)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    result: dict[str, object] = json.loads(done.stdout)
    return result


def test_a_command_agent_says_starting_before_the_rest_of_the_program_loads(
    tmp_path: Path,
) -> None:
    spec = {"agent": "command", "command": ["true"], "prompt": "p", "model": "m"}
    result = _announce(tmp_path, spec)
    assert result["said"] is True and result["loaded"] == []
    assert isinstance(result["lines"], list)
    lines = [json.loads(line) for line in result["lines"]]
    assert [(line["seq"], line["type"], line["text"]) for line in lines] == [
        (0, "status", "starting")
    ]
    assert lines[0]["data"] == {"kind": "command", "model": "m", "agent_version": "0.1.0"}


def test_claude_code_and_bad_specs_leave_the_first_line_to_the_session(tmp_path: Path) -> None:
    for spec in ({"agent": "claude-code", "prompt": "p"}, "{not json", {"agent": "nope"}):
        result = _announce(tmp_path, spec)
        assert result["said"] is False and result["lines"] == []


def test_a_command_agent_says_starting_once(repo: Path) -> None:
    run = run_agent(command_spec("print('hi')"), repo)
    assert [line["text"] for line in run.lines if line["type"] == "status"] == [
        "starting",
        "running",
        "finishing",
    ]
    assert validate_stream(run.lines) == []
