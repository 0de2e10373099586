"""The built wheel works outside the checkout: demo, and a run on a plain folder.

Builds the sdist and, from it, the wheel once (`uv build`, as a release would), installs the
wheel into a fresh virtualenv made with the machine's own Python (not the project's), with
the locked runtime dependencies from uv's cache, then runs the installed `aideator` from a
temporary directory with the scripted model and the local backend.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
BUILD_SECONDS = 300


def _machine_python() -> str:
    """A Python that is not the project's virtualenv interpreter, when the machine has one."""
    for candidate in ("/usr/bin/python3", "/usr/local/bin/python3"):
        if Path(candidate).is_file():
            done = subprocess.run(
                [candidate, "-c", "import sys; print(sys.version_info >= (3, 11))"],
                capture_output=True,
                text=True,
                check=False,
            )
            if done.stdout.strip() == "True":
                return candidate
    return sys.base_prefix + "/bin/python3"


def _uv() -> list[str]:
    found = shutil.which("uv")
    return [found] if found else [sys.executable, "-m", "uv"]


def _run(argv: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(argv, capture_output=True, text=True, check=False, **kwargs)  # type: ignore[call-overload]
    assert done.returncode == 0, f"{' '.join(argv)} exited {done.returncode}:\n{done.stderr}"
    return done  # type: ignore[no-any-return]


@dataclass(frozen=True)
class Installed:
    """The wheel installed in a fresh virtualenv, and an environment to run it in."""

    wheel: Path
    bin: Path
    env: dict[str, str]
    home: Path

    def aideator(
        self, *args: str, cwd: Path, timeout: float = 240
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.bin / "aideator"), *args],
            cwd=cwd,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Installed]:
    root = tmp_path_factory.mktemp("wheel")
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AIDEATOR_", "ANTHROPIC_", "VIRTUAL_ENV", "PYTHON", "UV_PROJECT"))
    }
    env["UV_PYTHON_DOWNLOADS"] = "never"
    out = root / "dist"
    _run(
        [*_uv(), "build", "--quiet", "--out-dir", str(out)],
        cwd=REPO_ROOT,
        env=env,
        timeout=BUILD_SECONDS,
    )
    wheel = next(out.glob("aideator-*.whl"))
    requirements = root / "requirements.txt"
    _run(
        [*_uv(), "export", "--frozen", "--no-dev", "--no-emit-project", "--no-hashes",
         "--quiet", "--output-file", str(requirements)],
        cwd=REPO_ROOT, env=env,
    )  # fmt: skip
    venv = root / "venv"
    _run([*_uv(), "venv", "--quiet", "--python", _machine_python(), str(venv)], env=env)
    install = [*_uv(), "pip", "install", "--quiet", "--python", str(venv / "bin" / "python"),
               "-r", str(requirements), str(wheel)]  # fmt: skip
    # Offline first (uv's cache holds the locked wheels after `make install`), else fetch.
    offline = subprocess.run([*install, "--offline"], env=env, capture_output=True, check=False)
    if offline.returncode != 0:
        _run(install, env=env, timeout=BUILD_SECONDS)
    home = root / "home"
    home.mkdir()
    run_env = {
        "PATH": f"{venv / 'bin'}{os.pathsep}{env.get('PATH', os.defpath)}",
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "AIDEATOR_DATA_DIR": str(root / "data"),
        "AIDEATOR_DATABASE_URL": f"sqlite+aiosqlite:///{root / 'aideator.db'}",
        "AIDEATOR_SCRIPTED_CHUNK_DELAY": "0",
    }
    yield Installed(wheel=wheel, bin=venv / "bin", env=run_env, home=home)


def test_wheel_carries_what_runs_need(installed: Installed) -> None:
    names = set(zipfile.ZipFile(installed.wheel).namelist())
    for needed in (
        "app/_bundle/agent_image/src/aideator_agent/__main__.py",
        "app/_bundle/agent_image/Dockerfile",
        "app/_bundle/dagger.json",
        "app/_bundle/dagger/src/aideator_dagger/main.py",
        "app/_bundle/examples/sample-repo/numstats/summary.py",
        "app/_bundle/app/scripted_model/scenarios/fix-correct.json",
        "app/scripted_model/scenarios/fix-correct.json",
        "app/static/index.html",
        "app/__init__.py",
    ):
        assert needed in names, needed
    assert not [n for n in names if "__pycache__" in n or n.startswith(("tests/", "dagger/"))]


def test_installed_package_reads_its_own_files(installed: Installed, tmp_path: Path) -> None:
    probe = (
        "import json; from app import package_files as p; "
        "print(json.dumps({'bundled': p.is_bundled(), 'root': str(p.bundle_root())}))"
    )
    done = _run([str(installed.bin / "python"), "-c", probe], cwd=tmp_path, env=installed.env)
    found = json.loads(done.stdout)
    assert found["bundled"] is True
    assert not Path(found["root"]).is_relative_to(REPO_ROOT)
    version = installed.aideator("--version", cwd=tmp_path)
    assert version.returncode == 0 and version.stdout.strip() == "aideator 0.1.0"


def test_demo_from_anywhere(installed: Installed, tmp_path: Path) -> None:
    done = installed.aideator("demo", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "winner: variation 0" in done.stdout
    assert "passed" in done.stdout and "1 file +1/-1" in done.stdout


def test_run_on_a_plain_folder(installed: Installed, tmp_path: Path) -> None:
    sample = REPO_ROOT / "examples" / "sample-repo"
    folder = tmp_path / "project"
    shutil.copytree(sample, folder, ignore=shutil.ignore_patterns("__pycache__"))
    assert not (folder / ".git").exists()
    done = installed.aideator(
        "run", "--repo", "./project", "--prompt", "Fix the failing test",
        "-m", "scripted/fix-correct", "--check", "python3 -m unittest -q",
        "--winner-policy", "best_score",
        cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "snapshot" in done.stderr
    show = installed.aideator("runs", "list", "--json", cwd=tmp_path)
    run_id = json.loads(show.stdout)["items"][0]["id"]
    detail = json.loads(installed.aideator("runs", "show", run_id, "--json", cwd=tmp_path).stdout)
    variation = detail["variations"][0]
    assert variation["check"]["passed"] is True
    assert variation["diff_stats"]["files"] == 1
    assert variation["manifest"]["source"] == "snapshot"
