"""Reading a lazily built Dagger object offline.

Every SDK object keeps its query as `obj._ctx.selections`: a list of fields, each with its
GraphQL type, name and arguments. Arguments that are objects (a Secret, a Service, a
Directory) stay objects until the SDK turns them into ids at execution time, so their own
chains can be read the same way. Nothing here connects to an engine.
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dagger.client.base import Type

REPO_ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Step:
    """One field of a query chain."""

    type_name: str
    name: str
    args: dict[str, Any]


def steps(obj: Type) -> list[Step]:
    """The chain of fields that builds `obj`, root first."""
    return [Step(f.type_name, f.name, dict(f.args)) for f in obj._ctx.selections]


def calls(obj: Type, name: str) -> list[dict[str, Any]]:
    """The arguments of every `name` field in the chain, in order."""
    return [s.args for s in steps(obj) if s.name == name]


def env_vars(obj: Type) -> dict[str, str]:
    """The plain (non-secret) environment variables the chain sets."""
    return {a["name"]: a["value"] for a in calls(obj, "withEnvVariable")}


def _value(value: Any, opaque_secrets: bool) -> str:
    if isinstance(value, Type):
        if opaque_secrets and value._graphql_name() == "Secret":
            return "<Secret>"
        return "{" + render(value, opaque_secrets=opaque_secrets) + "}"
    if isinstance(value, enum.Enum):
        return str(value.value)
    if isinstance(value, list):
        return "[" + ", ".join(_value(v, opaque_secrets) for v in value) + "]"
    return json.dumps(value, default=str)


def render(obj: Type, *, opaque_secrets: bool = False) -> str:
    """The chain as GraphQL-like text, e.g. `container.from(address: "x").withExec(...)`."""
    parts = []
    for step in steps(obj):
        args = ", ".join(f"{k}: {_value(v, opaque_secrets)}" for k, v in step.args.items())
        parts.append(f"{step.name}({args})" if args else step.name)
    return ".".join(parts)


def spec_file(obj: Type) -> str:
    """The agent spec file (`--spec-file`) the chain writes."""
    files = {a["path"]: a["contents"] for a in calls(obj, "withNewFile")}
    return str(files["/tmp/aideator/spec.json"])
