"""The run spec from a YAML or JSON file and/or flags: the same RunCreate the API takes."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from app.cli.errors import CliError
from app.schemas import RunCreate

_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_BRANCH = re.compile(r"^(int|str|float|bool|list\[.*\]|dict\[.*\]|function-.*|[A-Z]\w*)$")
SPEC_HINT = "see examples/run-spec.yaml and docs/cli.md for the fields"


@dataclass
class SpecFlags:
    """Run-spec values given on the command line; None means not given."""

    repo: str | None = None
    ref: str | None = None
    prompt: str | None = None
    prompt_file: Path | None = None
    variations: int | None = None
    models: list[str] = field(default_factory=list)
    check: str | None = None
    timeout: float | None = None
    budget: float | None = None
    winner_policy: str | None = None
    setup: str | None = None
    setup_timeout: float | None = None
    network: str | None = None
    image: str | None = None
    early_stop: str | None = None
    synthesize: int | None = None
    synthesis_model: str | None = None
    judge: str | None = None
    judge_instructions: str | None = None


def early_stop_value(text: str) -> str | dict[str, int]:
    """`--early-stop`: `never`, `first_pass`, or K (stop once K variations passed)."""
    value = text.strip().replace("-", "_")
    if value in ("never", "first_pass"):
        return value
    if value.isdigit() and int(value) >= 1:
        return {"passing": int(value)}
    raise CliError(
        f"--early-stop takes never, first_pass or a number of passing variations (got {text!r})"
    )


def load_spec_file(path: Path) -> dict[str, Any]:
    """The mapping in a YAML or JSON file (JSON is valid YAML)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CliError(f"cannot read spec file {path}: {exc.strerror}", hint=SPEC_HINT) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        line = f" (line {where.line + 1})" if where is not None else ""
        raise CliError(f"{path} is not valid YAML or JSON{line}", hint=SPEC_HINT) from None
    if not isinstance(data, dict):
        raise CliError(f"{path} must hold a mapping of run-spec fields", hint=SPEC_HINT)
    return data


def is_local_repo(repo_url: str) -> bool:
    """A path or file:// URL rather than a network address."""
    return repo_url.startswith("file://") or not _SCHEME.match(repo_url)


def _absolute(repo_url: str, base: Path) -> str:
    # The server may run elsewhere (and resolves paths from its own directory).
    if repo_url.startswith("file://") or _SCHEME.match(repo_url):
        return repo_url
    return os.path.normpath(base / os.path.expanduser(repo_url))


def _prompt_of(flags: SpecFlags) -> str | None:
    if flags.prompt_file is None:
        return flags.prompt
    if flags.prompt is not None:
        raise CliError("give --prompt or --prompt-file, not both")
    try:
        return flags.prompt_file.read_text(encoding="utf-8")
    except OSError as exc:
        raise CliError(f"cannot read {flags.prompt_file}: {exc.strerror}") from None


def _apply_models(data: dict[str, Any], flags: SpecFlags) -> None:
    if flags.models and len(flags.models) > 1:
        if flags.variations is not None:
            raise CliError(
                "several --model flags already say how many variations to run",
                hint="drop --variations, or give one --model with --variations N",
            )
        data["variations"] = [{"model": m} for m in flags.models]
        return
    if flags.variations is not None:
        data["variations"] = flags.variations
    if flags.models:
        config = dict(data.get("agent_config") or {})
        config["model"] = flags.models[0]
        data["agent_config"] = config


def _where(loc: tuple[int | str, ...]) -> str:
    # Union branches ("int", "list[VariationSpec]", ...) are pydantic's, not the user's words.
    return ".".join(str(p) for p in loc if not (isinstance(p, str) and _BRANCH.match(p)))


def _validation_message(exc: ValidationError) -> str:
    errors = exc.errors()
    # When one union branch fits the input's shape, the other branches' type errors are noise.
    specific = [e for e in errors if not e["type"].endswith(("_type", "_parsing"))]
    parts: list[str] = []
    for error in specific or errors:
        where = _where(error["loc"])
        text = f"{where}: {error['msg']}" if where else str(error["msg"])
        if text not in parts:
            parts.append(text)
    return "invalid run spec: " + "; ".join(parts)


def _apply_synthesis(data: dict[str, Any], flags: SpecFlags) -> None:
    """`--synthesize K` and `--synthesis-model M` over the spec file's `synthesize`."""
    if flags.synthesize is None and flags.synthesis_model is None:
        return
    given = data.get("synthesize")
    synth = dict(given) if isinstance(given, dict) else {}
    if flags.synthesize is not None:
        synth["top"] = flags.synthesize
    elif not synth:
        raise CliError(
            "--synthesis-model needs --synthesize K (how many top variations to combine)"
        )
    if flags.synthesis_model is not None:
        synth["model"] = flags.synthesis_model
    data["synthesize"] = synth


def _apply_judge(data: dict[str, Any], flags: SpecFlags) -> None:
    """`--judge MODEL` and `--judge-instructions TEXT` over the spec file's `judge`."""
    if flags.judge is None and flags.judge_instructions is None:
        return
    given = data.get("judge")
    judge = dict(given) if isinstance(given, dict) else {}
    if flags.judge is not None:
        judge["model"] = flags.judge
    elif not judge:
        raise CliError("--judge-instructions needs --judge MODEL (the model that ranks them)")
    if flags.judge_instructions is not None:
        judge["instructions"] = flags.judge_instructions
    data["judge"] = judge


def build_run_spec(
    spec_file: Path | None, flags: SpecFlags, *, default_policy: str | None = None
) -> RunCreate:
    """The spec file's fields, overridden by the flags given; checked like the API checks it."""
    data: dict[str, Any] = {}
    base = Path.cwd()
    if spec_file is not None:
        data = load_spec_file(spec_file)
        base = spec_file.resolve().parent  # relative repo paths are relative to the file
    if "github_url" in data and "repo_url" not in data:
        data["repo_url"] = data.pop("github_url")
    if flags.repo is not None:
        data["repo_url"], base = flags.repo, Path.cwd()
    prompt = _prompt_of(flags)
    for key, value in (
        ("prompt", prompt),
        ("ref", flags.ref),
        ("check_command", flags.check),
        ("timeout_seconds", flags.timeout),
        ("budget_usd", flags.budget),
        ("winner_policy", flags.winner_policy),
        ("setup_command", flags.setup),
        ("setup_timeout_seconds", flags.setup_timeout),
        ("network", flags.network),
        ("image", flags.image),
        ("early_stop", None if flags.early_stop is None else early_stop_value(flags.early_stop)),
    ):
        if value is not None:
            data[key] = value
    _apply_models(data, flags)
    _apply_synthesis(data, flags)
    _apply_judge(data, flags)
    if default_policy is not None:
        data.setdefault("winner_policy", default_policy)
    if not data.get("repo_url"):
        raise CliError("no repository given", hint="pass --repo PATH_OR_URL or --spec FILE")
    if not data.get("prompt"):
        raise CliError("no prompt given", hint="pass --prompt TEXT, --prompt-file or --spec FILE")
    if isinstance(data["repo_url"], str):
        data["repo_url"] = _absolute(data["repo_url"], base)
    try:
        return RunCreate.model_validate(data)
    except ValidationError as exc:
        raise CliError(_validation_message(exc), hint=SPEC_HINT) from None
