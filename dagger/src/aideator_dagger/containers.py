"""Lazily built containers: agent image and workspace, agent exec, checks, scripted model.

Nothing here talks to the engine: each function only extends a query chain, so the chains can
be inspected offline (see tests/dagger_module).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import dagger
from dagger import dag

from .snapshot_rules import (
    PRUNE_PROGRAM,
    SIGNATURE_DATE,
    SIGNATURE_EMAIL,
    SIGNATURE_NAME,
    SKIPPED_DIRS,
)
from .spec import base_sha_of

_SSH_URL = re.compile(r"^(ssh|git\+ssh|ssh\+git)://|^[\w.-]+@[\w.-]+:", re.IGNORECASE)

WORKDIR = "/workspace"
# The spec travels as a file: one environment string is capped at 128 KiB on Linux, and a
# long non-ASCII prompt escaped by json.dumps passes that long before the CLI refuses it.
SPEC_PATH = "/tmp/aideator/spec.json"
AGENT_PYTHON = "/opt/aideator-agent/venv/bin/python"  # the image's agent virtualenv
AGENT_COMMAND = [AGENT_PYTHON, "-m", "aideator_agent", "--spec-file", SPEC_PATH]
CACHE_BUST_ENV = "AIDEATOR_CACHE_BUST"
# Digest-pinned, so two engines build the same service from the same source.
PYTHON_IMAGE = (
    "python:3.11-slim@sha256:9c900dea9e8fb7e16277c179b555cc72d29a352dbc33cff48ad5a0412fd5bfc7"
)
SCRIPTED_MODEL_PORT = 8787
SCRIPTED_MODEL_PACKAGES = ["starlette", "uvicorn", "structlog", "pydantic"]
GIT_IDENTITY = ["-c", "user.name=AIdeator", "-c", "user.email=aideator@localhost"]
PATCH_PATH = "/tmp/aideator/variation.patch"
CHECK_SCRIPT_PATH = "/tmp/aideator/check.sh"
PATCH_REFUSED_EXIT = 97
# The check sees the base commit plus the variation's patch: exactly what would be merged.
CHECK_SCRIPT = f"""set -u
if [ -s {PATCH_PATH} ]; then
  git apply --binary --whitespace=nowarn {PATCH_PATH} || {{
    echo "aideator: the variation's patch does not apply to the base commit" >&2
    exit {PATCH_REFUSED_EXIT}
  }}
fi
exec sh -c "$AIDEATOR_CHECK_COMMAND"
"""
SETUP_RECORD_SCRIPT = f"""set -eu
git ls-files --others --directory --exclude-standard | sed 's|^|/|' >> .git/info/exclude
if ! git diff --quiet HEAD; then
  git {" ".join(GIT_IDENTITY)} commit -q -a --no-verify -m "aideator: setup"
fi
"""


@dataclass(frozen=True)
class Binding:
    """A service the agent reaches under a host alias, and the URL it uses there."""

    service: dagger.Service
    alias: str
    port: int
    path: str = ""

    @property
    def url(self) -> str:
        """The base URL inside the agent container."""
        return f"http://{self.alias}:{self.port}{self.path}"


def agent_image(agent_source: dagger.Directory, base_image: str = "") -> dagger.Container:
    """The agent image from `agent_image/` and its Dockerfile, on `base_image` if given."""
    if not base_image:
        return agent_source.docker_build()
    return agent_source.docker_build(
        build_args=[dagger.BuildArg(name="BASE_IMAGE", value=base_image)]
    )


def clone(repo_url: str, ref: str, token: dagger.Secret | None = None) -> dagger.Directory:
    """The repository tree at `ref`, `.git` included, cloned by the engine."""
    return git_ref(repo_url, ref, token).tree()


def git_ref(repo_url: str, ref: str, token: dagger.Secret | None = None) -> dagger.GitRef:
    """A ref of a remote repository: HEAD, a full commit id, or a branch/tag name.

    A token is given to the engine's own git as the HTTP basic-auth password: it never
    enters a container, an environment variable or an exec argument.
    """
    refuse_ssh_url(repo_url)
    repo = dag.git(repo_url, http_auth_token=token) if token is not None else dag.git(repo_url)
    if ref in ("", "HEAD"):
        return repo.head()
    if base_sha_of(ref):
        return repo.commit(ref)
    return repo.ref(ref)


def refuse_ssh_url(repo_url: str) -> None:
    """SSH URLs need an SSH agent, which a function's nested client never gets."""
    if _SSH_URL.match(repo_url):
        raise ValueError(
            f"SSH repository URLs are not supported ({repo_url}): use the https URL, with "
            "--git-token=env://NAME for a private repository"
        )


def committed_source(
    image: dagger.Container, source: dagger.Directory, owner: str
) -> dagger.Directory:
    """A plain directory made into a repository with one base commit, by the server's rule.

    Left out as `app/repos/snapshot.py` leaves them out: any `.git`, skipped directories,
    virtualenvs of any name, nested repositories, symlinks leading outside, and whatever the
    tree's `.gitignore` files ignore; the fixed signature makes the commit depend on the
    files only.
    """
    signature = [
        "env",
        f"GIT_AUTHOR_NAME={SIGNATURE_NAME}",
        f"GIT_AUTHOR_EMAIL={SIGNATURE_EMAIL}",
        f"GIT_AUTHOR_DATE={SIGNATURE_DATE}",
        f"GIT_COMMITTER_NAME={SIGNATURE_NAME}",
        f"GIT_COMMITTER_EMAIL={SIGNATURE_EMAIL}",
        f"GIT_COMMITTER_DATE={SIGNATURE_DATE}",
    ]
    return (
        image.with_directory(WORKDIR, source, exclude=[".git"], owner=owner)
        .with_workdir(WORKDIR)
        .with_exec([AGENT_PYTHON, "-I", "-c", PRUNE_PROGRAM, WORKDIR, *SKIPPED_DIRS])
        .with_exec(["git", "init", "-q"])
        .with_exec(["git", "-c", "core.autocrlf=false", "add", "-A"])
        .with_exec(
            [*signature, "git", "commit", "-q", "--no-verify", "--allow-empty", "-m", "snapshot"]
        )
        .directory(WORKDIR)
    )


def with_workspace(image: dagger.Container, tree: dagger.Directory, owner: str) -> dagger.Container:
    """The image with the repository at /workspace, owned by the image's (non-root) user."""
    return image.with_directory(WORKDIR, tree, owner=owner).with_workdir(WORKDIR)


def agent_exec(
    workspace: dagger.Container,
    *,
    spec: dict[str, Any],
    cache_bust: str,
    api_key: dagger.Secret | None,
    gateway: Binding | None,
    relay: Binding | None,
    relay_token: dagger.Secret | None,
    extra_env: list[tuple[str, str]],
) -> dagger.Container:
    """The agent program run once in the workspace; any exit code is an answer, not an error."""
    ctr = workspace
    for name, value in extra_env:
        ctr = ctr.with_env_variable(name, value)
    ctr = ctr.with_env_variable("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1").with_new_file(
        SPEC_PATH, json.dumps(spec)
    )
    if api_key is not None:
        ctr = ctr.with_secret_variable("ANTHROPIC_API_KEY", api_key)
    if gateway is not None:
        ctr = ctr.with_service_binding(gateway.alias, gateway.service).with_env_variable(
            "ANTHROPIC_BASE_URL", gateway.url
        )
    if relay is not None:
        ctr = ctr.with_service_binding(relay.alias, relay.service).with_env_variable(
            "RELAY_URL", relay.url
        )
        if relay_token is not None:
            ctr = ctr.with_secret_variable("RELAY_TOKEN", relay_token)
    # Set last: the layers above stay shared between variations, only the exec is unique.
    return ctr.with_env_variable(CACHE_BUST_ENV, cache_bust).with_exec(
        AGENT_COMMAND, expect=dagger.ReturnType.ANY
    )


def set_up(workspace: dagger.Container, setup_command: str) -> dagger.Container:
    """The workspace after `setup_command`, with what setup made kept out of every diff.

    Identical for every variation of a run, so the engine's layer cache runs it once.
    Untracked paths it created go to `.git/info/exclude`; tracked files it changed are
    committed, so the agent's diff (against HEAD at its start) holds only the agent's work.
    """
    if not setup_command.strip():
        return workspace
    return workspace.with_exec(["sh", "-c", setup_command]).with_exec(
        ["sh", "-c", SETUP_RECORD_SCRIPT]
    )


def check_exec(
    workspace: dagger.Container,
    *,
    patch: str,
    check_command: str,
    owner: str,
    cache_bust: str,
) -> dagger.Container:
    """A fresh container on the (set-up) base tree with the variation's patch, running the check."""
    return (
        workspace.with_new_file(PATCH_PATH, patch, owner=owner)
        .with_new_file(CHECK_SCRIPT_PATH, CHECK_SCRIPT, owner=owner)
        .with_env_variable("AIDEATOR_CHECK_COMMAND", check_command)
        .with_env_variable(CACHE_BUST_ENV, cache_bust)
        .with_exec(["sh", CHECK_SCRIPT_PATH], expect=dagger.ReturnType.ANY)
    )


def scripted_model_service(app_dir: dagger.Directory, constraints: str) -> dagger.Service:
    """The repository's scripted model (not Claude) as a service on SCRIPTED_MODEL_PORT."""
    return (
        dag.container()
        .from_(PYTHON_IMAGE)
        .with_new_file("/srv/constraints.txt", constraints)
        .with_exec(
            [
                "pip",
                "install",
                "--no-cache-dir",
                "--disable-pip-version-check",
                "-c",
                "/srv/constraints.txt",
                *SCRIPTED_MODEL_PACKAGES,
            ]
        )
        .with_directory("/srv/app", app_dir)
        .with_workdir("/srv")
        .with_exposed_port(SCRIPTED_MODEL_PORT)
        .as_service(
            args=[
                "python",
                "-m",
                "app.scripted_model",
                "--host",
                "0.0.0.0",
                "--port",
                str(SCRIPTED_MODEL_PORT),
            ]
        )
    )
