"""The `dagger call ... stream-agent ... result` command line and environment for one variation.

Secrets never go on the command line: the child environment carries them under fixed names
and the CLI is told to read them by name (`env://NAME`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from app.runners.base import VariationJob

RELAY_TOKEN_ENV = "AIDEATOR_RELAY_TOKEN"
GATEWAY_TOKEN_ENV = "AIDEATOR_GATEWAY_TOKEN"
GIT_TOKEN_ENV = "AIDEATOR_GIT_TOKEN"
# Never handed to the dagger CLI: the real key stays on the host, and the server's own
# AIDEATOR_* settings are none of the CLI's business.
_WITHHELD_EXACT = frozenset(
    {"ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "CLAUDE_CODE_OAUTH_TOKEN"}
)
_WITHHELD_PREFIX = "AIDEATOR_"
_CLI_ENV = {"NO_COLOR": "1", "DAGGER_NO_NAG": "1"}
_REMOTE_URL = re.compile(r"^(https?|ssh|git)://|^[\w.-]+@[\w.-]+:")
_LOOPBACK_ALIASES = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}


class InvocationError(ValueError):
    """The job cannot be expressed as a `dagger call` (e.g. an unusable service URL)."""


@dataclass(frozen=True)
class DaggerInvocation:
    """The argv and the complete child environment of one `dagger call`."""

    argv: list[str]
    env: dict[str, str]


def host_service(url: str) -> tuple[str, str]:
    """Split an http URL on this host into a Dagger host service address and its path."""
    parts = urlsplit(url)
    if parts.scheme != "http":
        # An https service would be reached as http://gateway:PORT, whose name no cert has.
        raise InvocationError(f"expected an http:// URL on this host, got {url!r}")
    host = _LOOPBACK_ALIASES.get(parts.hostname or "", parts.hostname or "")
    try:
        port = parts.port or 80
    except ValueError as exc:
        raise InvocationError(f"bad port in {url!r}") from exc
    address = f"tcp://[{host}]:{port}" if ":" in host else f"tcp://{host}:{port}"
    path = parts.path.rstrip("/") + (f"?{parts.query}" if parts.query else "")
    return address, path


def list_flag_value(item: str) -> str:
    """One list item, quoted for the CLI's comma-separated list flags."""
    return '"' + item.replace('"', '""') + '"'


def is_remote_repo(repo_url: str) -> bool:
    """True for URLs the engine can clone itself; local paths are uploaded instead."""
    return bool(_REMOTE_URL.match(repo_url))


def _spec_flags(job: VariationJob, prompt_file: Path | None) -> list[str]:
    spec = job.spec
    flags = [f"--prompt-file={prompt_file}" if prompt_file else f"--prompt={job.prompt}"]
    if spec.agent:
        flags.append(f"--agent={spec.agent}")
    if spec.model:
        flags.append(f"--model={spec.model}")
    if spec.max_turns:
        flags.append(f"--max-turns={int(spec.max_turns)}")
    if spec.system_prompt_append:
        flags.append(f"--system-prompt-append={spec.system_prompt_append}")
    flags += [f"--command={list_flag_value(part)}" for part in spec.command or ()]
    flags += [f"--env={list_flag_value(f'{k}={v}')}" for k, v in sorted(job.env.items())]
    # The run's environment: a setup step before the agent and the base image (when given).
    if job.setup_command:
        flags.append(f"--setup-command={job.setup_command}")
    if job.image:
        flags.append(f"--image={job.image}")
    return flags


def build_invocation(
    job: VariationJob,
    *,
    dagger_bin: str,
    module: str,
    base_env: Mapping[str, str],
    prompt_file: Path | None = None,
) -> DaggerInvocation:
    """The `dagger call` for one variation; it prints the final result JSON on stdout.

    With `prompt_file` (a host file holding `job.prompt`) the prompt stays off the command
    line, so no argument-size limit applies and it is not visible in the process list.
    """
    if is_remote_repo(job.repo_url):
        source = [f"--repo-url={job.repo_url}", f"--ref={job.base_sha}"]
        if job.git_token:
            source.append(f"--git-token=env://{GIT_TOKEN_ENV}")
    else:
        source = [f"--source={Path(job.workspace)}"]
    argv = [
        dagger_bin,
        "--progress=plain",
        "call",
        "-m",
        module,
        "stream-agent",
        *source,
        f"--run-id={job.run_id}",
        f"--variation-id={job.variation_id}",
        *_spec_flags(job, prompt_file),
    ]
    env = {
        k: v
        for k, v in base_env.items()
        if k not in _WITHHELD_EXACT and not k.startswith(_WITHHELD_PREFIX)
    }
    env.update(_CLI_ENV)
    if job.git_token and is_remote_repo(job.repo_url):
        env[GIT_TOKEN_ENV] = job.git_token
    if job.gateway_url:
        address, path = host_service(job.gateway_url)
        argv.append(f"--gateway={address}")
        if path:
            argv.append(f"--gateway-path={path}")
    if job.gateway_token:
        env[GATEWAY_TOKEN_ENV] = job.gateway_token
        argv.append(f"--anthropic-api-key=env://{GATEWAY_TOKEN_ENV}")
    if job.relay_url:
        address, path = host_service(job.relay_url)
        argv += [f"--relay={address}", f"--relay-path={path}"]
        if job.relay_token:
            env[RELAY_TOKEN_ENV] = job.relay_token
            argv.append(f"--relay-token=env://{RELAY_TOKEN_ENV}")
    argv.append("result")
    return DaggerInvocation(argv=argv, env=env)


def parse_result(stdout: str) -> dict[str, Any] | None:
    """The result object `dagger call ... result` printed, or None if there is none."""
    text = stdout.strip()
    candidates = [text, *reversed(text.splitlines())]
    for candidate in candidates:
        candidate = candidate.strip()
        if not candidate.startswith("{"):
            continue
        try:
            value = json.loads(candidate)
        except ValueError:
            continue
        if isinstance(value, dict):
            return value
    return None
