"""What makes two engines build the same thing, and CI run when it should.

The agent image installs exactly the locked claude-agent-sdk (whose wheel carries the Claude
Code binary at a private path the agent relies on) on digest-pinned bases; the module ships
its own uv.lock; the dagger workflow's `paths:` cover every file its jobs depend on.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml
from aideator_dagger import containers
from dagger_chain import REPO_ROOT

DIGEST_PINNED = re.compile(r"^[\w./-]+:[\w.-]+@sha256:[0-9a-f]{64}$")


def _locked_versions(lock: Path) -> dict[str, str]:
    return {p["name"]: p["version"] for p in tomllib.loads(lock.read_text())["package"]}


def _requirements_generator():  # type: ignore[no-untyped-def]
    path = REPO_ROOT / "agent_image" / "requirements_from_lock.py"
    spec = importlib.util.spec_from_file_location("requirements_from_lock", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class TestAgentImagePins:
    def test_the_sdk_is_pinned_to_the_locked_version(self) -> None:
        locked = _locked_versions(REPO_ROOT / "uv.lock")["claude-agent-sdk"]
        project = tomllib.loads((REPO_ROOT / "agent_image" / "pyproject.toml").read_text())
        assert project["project"]["dependencies"] == [f"claude-agent-sdk=={locked}"]
        lines = (REPO_ROOT / "agent_image" / "requirements.txt").read_text().splitlines()
        assert f"claude-agent-sdk=={locked}" in lines

    def test_requirements_are_the_locks_closure(self) -> None:
        generated = _requirements_generator().requirements((REPO_ROOT / "uv.lock").read_text())
        on_disk = (REPO_ROOT / "agent_image" / "requirements.txt").read_text()
        assert on_disk == generated, "run: python3 agent_image/requirements_from_lock.py"
        locked = _locked_versions(REPO_ROOT / "uv.lock")
        for line in on_disk.splitlines()[1:]:
            name, _, version = line.split(" ;")[0].partition("==")
            assert locked[name] == version, line

    def test_requirements_hold_everything_the_installed_sdk_needs(self) -> None:
        """Checked against the installed packages' own metadata, extras included."""
        from packaging.requirements import Requirement
        from packaging.utils import canonicalize_name

        lines = (REPO_ROOT / "agent_image" / "requirements.txt").read_text().splitlines()[1:]
        pinned = {canonicalize_name(line.split("==")[0]) for line in lines}
        needed: set[str] = set()
        seen: set[tuple[str, frozenset[str]]] = set()
        pending: list[tuple[str, frozenset[str]]] = [("claude-agent-sdk", frozenset())]
        while pending:
            name, extras = pending.pop()
            for text in importlib.metadata.requires(name) or []:
                req = Requirement(text)
                envs = [{"extra": e} for e in extras or {""}]
                if req.marker is not None and not any(req.marker.evaluate(e) for e in envs):
                    continue
                step = (canonicalize_name(req.name), frozenset(req.extras))
                needed.add(step[0])
                if step not in seen:
                    seen.add(step)
                    pending.append(step)
        assert needed - pinned == set()

    def test_base_images_are_digest_pinned(self) -> None:
        dockerfile = (REPO_ROOT / "agent_image" / "Dockerfile").read_text()
        (base,) = re.findall(r"^ARG BASE_IMAGE=(\S+)$", dockerfile, re.MULTILINE)
        assert DIGEST_PINNED.match(base), base
        assert re.search(r"^FROM \$\{BASE_IMAGE\}$", dockerfile, re.MULTILINE)
        assert DIGEST_PINNED.match(containers.PYTHON_IMAGE), containers.PYTHON_IMAGE

    def test_offline_build_uses_the_wheelhouse_alone(self) -> None:
        dockerfile = (REPO_ROOT / "agent_image" / "Dockerfile").read_text()
        assert 'if [ -n "$OFFLINE" ]; then set -- --no-index; fi' in dockerfile
        assert (REPO_ROOT / "agent_image" / "wheelhouse" / "README.md").is_file()


class TestModuleLock:
    def test_the_module_ships_a_lock_for_its_sdk(self) -> None:
        lock = tomllib.loads((REPO_ROOT / "dagger" / "uv.lock").read_text())
        packages = {p["name"]: p for p in lock["package"]}
        root = packages["aideator-dagger"]
        assert root["source"] == {"editable": "."}
        assert root["metadata"]["requires-dist"] == [{"name": "dagger-io", "editable": "sdk"}]
        assert packages["dagger-io"]["source"] == {"editable": "sdk"}
        # Every requirement of the SDK the engine generates for this version is locked.
        requires = importlib.metadata.requires("dagger-io") or []
        for requirement in requires:
            name = re.split(r"[\s<>=!~;\[]", requirement, maxsplit=1)[0].lower()
            assert name in packages, requirement

    def test_the_lock_is_current(self, tmp_path: Path) -> None:
        """`uv lock --check` on the module as the engine lays it out (the SDK vendored in sdk/)."""
        uv = shutil.which("uv")
        if uv is None:
            pytest.skip("uv is not on PATH")
        work = tmp_path / "module"
        shutil.copytree(REPO_ROOT / "dagger", work, ignore=shutil.ignore_patterns("sdk", ".venv"))
        sdk = work / "sdk"
        (sdk / "src" / "dagger").mkdir(parents=True)
        (sdk / "src" / "dagger" / "__init__.py").write_text("")
        requires = importlib.metadata.requires("dagger-io") or []
        deps = "".join(f"    {r!r},\n".replace("'", '"') for r in requires)
        (sdk / "pyproject.toml").write_text(
            '[project]\nname = "dagger-io"\nversion = "0.0.0"\nrequires-python = ">=3.10"\n'
            f'dependencies = [\n{deps}]\n\n[build-system]\nrequires = ["hatchling"]\n'
            'build-backend = "hatchling.build"\n'
        )
        proc = subprocess.run(
            [uv, "lock", "--check", "--python", sys.executable],
            cwd=work,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.returncode == 0, proc.stderr[-2000:]


def _glob_regex(pattern: str) -> re.Pattern[str]:
    """A GitHub `paths:` glob (`**` any depth, `*` within one folder) as a regex."""
    out = ""
    i = 0
    while i < len(pattern):
        if pattern.startswith("**", i):
            out, i = out + ".*", i + 2
        elif pattern[i] == "*":
            out, i = out + "[^/]*", i + 1
        else:
            out, i = out + re.escape(pattern[i]), i + 1
    return re.compile(out + "$")


class TestWorkflowPaths:
    @staticmethod
    def workflow() -> dict[str, object]:
        text = (REPO_ROOT / ".github" / "workflows" / "dagger.yml").read_text()
        loaded: dict[str, object] = yaml.safe_load(text)
        return loaded

    def paths(self) -> list[re.Pattern[str]]:
        triggers = self.workflow()[True]  # YAML 1.1 reads the key `on` as True
        assert isinstance(triggers, dict)
        push, pull = triggers["push"]["paths"], triggers["pull_request"]["paths"]
        assert push == pull
        return [_glob_regex(p) for p in push]

    def test_every_file_the_jobs_depend_on_triggers_them(self) -> None:
        patterns = self.paths()
        tracked = subprocess.run(
            ["git", "ls-files", "app", "agent_image", "dagger", "dagger.json", "uv.lock"],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        # The backend runs the server's own modules, e.g. these, which a hand list missed.
        for needed in ("app/runners/base.py", "app/runners/child.py", "app/api/ingest.py"):
            assert needed in tracked or not (REPO_ROOT / needed).exists()
        missed = [f for f in tracked if not any(p.match(f) for p in patterns)]
        assert missed == []

    def test_the_tests_it_runs_exist_and_trigger_it(self) -> None:
        patterns = self.paths()
        jobs = self.workflow()["jobs"]
        assert isinstance(jobs, dict)
        commands = [s.get("run", "") for job in jobs.values() for s in job["steps"]]
        (pytest_line,) = [c for c in commands if "pytest" in c]
        targets = [a for a in pytest_line.split() if a.startswith("tests/")]
        assert targets
        for target in targets:
            assert (REPO_ROOT / target).exists(), target
            assert any(p.match(target + "/x.py") or p.match(target) for p in patterns), target
