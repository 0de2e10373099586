"""The agent image, built offline and run as a real OCI container with podman.

`agent_image/Dockerfile` is built with `--network none` on a base made from Debian's own
packages (tests/agent_image/podman_base.py; no image is pulled) from a local wheelhouse of
exactly the pinned requirements (`--build-arg OFFLINE=1`). The agent then runs in that
container with no network, as the image's non-root user, and reaches the scripted model
(not Claude) through a bind-mounted Unix socket and the sandbox forwarder; the real Claude
Code binary from the pinned wheel makes the edit. This proves the Dockerfile and the
in-container agent; the Dagger engine itself is not proven here.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from filelock import FileLock

from app.scripted_model import create_app
from tests.agent_image.podman_base import BaseUnavailable, cache_dir, ensure_base, podman

ROOT = Path(__file__).resolve().parents[2]
AGENT_IMAGE = ROOT / "agent_image"
SAMPLE_REPO = ROOT / "examples" / "sample-repo"
FORWARDER = ROOT / "app" / "runners" / "local" / "inside_sandbox" / "sandbox_forwarder.py"
AGENT_UID = 1000  # the Dockerfile's `agent` user
MODEL_PORT = 8787


def _why_podman_cannot_run() -> str | None:
    if shutil.which("podman") is None:
        return "podman is not installed (make install adds it)"
    if os.geteuid() != 0:
        return "podman here needs root (rootless podman needs subuid ranges this host lacks)"
    try:
        podman("info", timeout=60)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        return f"podman cannot run here: {str(getattr(exc, 'stderr', '') or exc)[-300:]}"
    return None


def _ulimits() -> list[str]:
    """Explicit, modest limits: podman's defaults exceed what this kind of host allows."""
    import resource

    args = []
    for name, limit in (("nofile", resource.RLIMIT_NOFILE), ("nproc", resource.RLIMIT_NPROC)):
        hard = resource.getrlimit(limit)[1]
        value = 4096 if hard == resource.RLIM_INFINITY else min(4096, hard)
        args += ["--ulimit", f"{name}={value}:{value}"]
    return args


def _pip_for(version: str) -> list[str] | None:
    """A pip running on Python `version` (the base's), so the wheels fit the container."""
    for folder in os.environ.get("PATH", os.defpath).split(os.pathsep):
        for name in (f"python{version}", "python3"):
            exe = Path(folder) / name
            if not exe.is_file():
                continue
            probe = subprocess.run(
                [str(exe), "-c", "import pip, sys; print('%d.%d' % sys.version_info[:2])"],
                capture_output=True,
                text=True,
            )
            if probe.returncode == 0 and probe.stdout.strip() == version:
                return [str(exe), "-m", "pip"]
    uv = shutil.which("uv")
    return [uv, "tool", "run", "--python", version, "--from", "pip", "pip"] if uv else None


def _wheelhouse(base: str) -> Path:
    """Every wheel requirements.txt pins, downloaded once and cached by its hash."""
    requirements = AGENT_IMAGE / "requirements.txt"
    version = podman(
        "run", "--rm", "--network", "none", *_ulimits(), base,
        "python3", "-c", "import sys; print('%d.%d' % sys.version_info[:2])",
    ).stdout.strip()  # fmt: skip
    digest = hashlib.sha256(requirements.read_bytes() + version.encode()).hexdigest()[:16]
    wheels = cache_dir() / f"wheelhouse-{digest}"
    if wheels.is_dir():
        return wheels
    pip = _pip_for(version)
    if pip is None:
        pytest.skip(f"no pip for Python {version} and no uv to fetch one")
    partial = wheels.with_suffix(".partial")
    download = ["download", "--no-deps", "--only-binary", ":all:", "-r", str(requirements)]
    proc = subprocess.run(
        [*pip, *download, "-d", str(partial)], capture_output=True, text=True, timeout=900
    )
    if proc.returncode != 0:
        pytest.skip(f"cannot download the pinned wheels: {proc.stderr.strip()[-300:]}")
    partial.replace(wheels)
    return wheels


@pytest.fixture(scope="module")
def agent_image_tag(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The agent image, built with no network from the Debian base and the wheelhouse."""
    if reason := _why_podman_cannot_run():
        pytest.skip(reason)
    # One maker of the cached base and wheelhouse at a time (parallel test sessions).
    with FileLock(cache_dir() / "agent-image.lock"):
        try:
            base = ensure_base()
        except BaseUnavailable as exc:
            pytest.skip(str(exc))
        wheels = _wheelhouse(base)
    context = tmp_path_factory.mktemp("context") / "agent_image"
    shutil.copytree(AGENT_IMAGE, context, ignore=shutil.ignore_patterns("*.whl", "__pycache__"))
    for wheel in wheels.iterdir():
        try:
            os.link(wheel, context / "wheelhouse" / wheel.name)
        except OSError:
            shutil.copy2(wheel, context / "wheelhouse" / wheel.name)
    tag = "localhost/aideator-agent-test:latest"
    build = podman(
        "build",
        "--network",
        "none",
        *_ulimits(),
        "--build-arg",
        f"BASE_IMAGE={base}",
        "--build-arg",
        "OFFLINE=1",
        "-t",
        tag,
        str(context),
        timeout=900,
        check=False,
    )
    assert build.returncode == 0, (build.stdout + build.stderr)[-3000:]
    return tag


@pytest.fixture
def model_socket(tmp_path: Path) -> Iterator[Path]:
    """The scripted model (not Claude) on a Unix socket the container's user can reach."""
    folder = tmp_path / "model"
    folder.mkdir()
    folder.chmod(0o777)
    socket_path = folder / "model.sock"
    config = uvicorn.Config(create_app(), uds=str(socket_path), log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=lambda: asyncio.run(server.serve()), daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "scripted model did not start"
        time.sleep(0.02)
    socket_path.chmod(0o666)
    try:
        yield socket_path
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def test_the_agent_edits_the_repo_inside_the_offline_container(
    agent_image_tag: str, model_socket: Path, tmp_path: Path
) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(SAMPLE_REPO, repo, ignore=shutil.ignore_patterns("__pycache__"))
    _git(repo, "init", "-q")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "base")
    base_sha = _git(repo, "rev-parse", "HEAD").strip()
    subprocess.run(["chown", "-R", f"{AGENT_UID}:{AGENT_UID}", str(repo)], check=True)
    spec = tmp_path / "spec"
    spec.mkdir()
    (spec / "spec.json").write_text(
        json.dumps(
            {
                "prompt": "Fix the failing test",
                "model": "scripted/fix-correct",
                "base_sha": base_sha,
                "run_id": "podman",
                "variation_id": 0,
            }
        )
    )
    script = (
        f"python3 -I -S /opt/forwarder/forwarder.py --socket /run/model/model.sock "
        f"--port {MODEL_PORT} >/dev/null & "
        f"until python3 -c 'import socket; socket.create_connection((\"127.0.0.1\", {MODEL_PORT}))'"
        " 2>/dev/null; do sleep 0.1; done; "
        "exec /opt/aideator-agent/venv/bin/python -m aideator_agent --spec-file /spec/spec.json"
    )
    proc = podman(
        "run",
        "--rm",
        "--network",
        "none",
        *_ulimits(),
        "-v",
        f"{repo}:/workspace",
        "-v",
        f"{model_socket.parent}:/run/model",
        "-v",
        f"{FORWARDER}:/opt/forwarder/forwarder.py:ro",
        "-v",
        f"{spec}:/spec:ro",
        "-e",
        f"ANTHROPIC_BASE_URL=http://127.0.0.1:{MODEL_PORT}",
        "-e",
        "ANTHROPIC_API_KEY=not-a-real-key",
        "--entrypoint",
        "sh",
        agent_image_tag,
        "-c",
        f"id -un; {script}",
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    user, *lines = proc.stdout.splitlines()
    assert user == "agent"  # the image's non-root user
    records = [json.loads(line) for line in lines]
    result = records[-1]
    assert result["type"] == "result", records[-3:]
    data = result["data"]
    assert data["exit_code"] == 0, records
    assert data["claude_code_version"], data  # the bundled Claude Code binary ran
    assert "+    return (ordered[middle - 1] + ordered[middle]) / 2" in data["diff"]
    assert data["diff_stats"]["files"] == 1
    # The edit is in the workspace itself, and the repository's tests now pass.
    assert "ordered[middle - 1]" in (repo / "numstats" / "summary.py").read_text()
    check = subprocess.run(
        [sys.executable, "-m", "unittest", "-q"], cwd=repo, capture_output=True, text=True
    )
    assert check.returncode == 0, check.stderr
