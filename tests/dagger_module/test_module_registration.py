"""The module as the engine would register it, built offline by the SDK's own code.

`Module._typedefs()` builds the module's type definitions as one lazy query and ends with
`await mod.id()`, the only call that needs an engine. The test swaps that one method for
one that returns the lazy object, then reads the query: function names, docs, cache
policies, argument docs and default paths, exactly as they would be sent.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aideator_dagger
import pytest
from dagger.client import gen
from dagger.client.base import Type
from dagger.mod import default_module
from dagger_chain import REPO_ROOT, steps

import dagger

FUNCTIONS = {"agent", "stream_agent", "compare", "scripted_model"}


def test_the_real_sdk_is_imported_not_the_module_folder() -> None:
    sdk = Path(dagger.__file__).resolve()
    assert "site-packages" in sdk.parts
    assert not sdk.is_relative_to(REPO_ROOT / "dagger")
    assert Path(aideator_dagger.__file__).resolve().is_relative_to(REPO_ROOT / "dagger" / "src")


def test_dagger_json_pins_the_engine_of_the_installed_sdk() -> None:
    from dagger._engine._version import CLI_VERSION

    config = json.loads((REPO_ROOT / "dagger.json").read_text())
    assert config == {
        "name": "aideator",
        "engineVersion": f"v{CLI_VERSION}",
        "sdk": {"source": "python"},
        "source": "dagger",
    }
    assert CLI_VERSION == "0.21.11"


@pytest.fixture
async def typedefs(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Function and object definitions by name, read from the lazily built module query."""
    mod = default_module()
    monkeypatch.setattr(mod, "_main_name", "Aideator")
    monkeypatch.setattr(mod, "_main", mod.get_object("Aideator"))

    async def lazy_id(self: gen.Module) -> gen.Module:
        return self

    monkeypatch.setattr(gen.Module, "id", lazy_id)
    module = await mod._typedefs()
    objects: dict[str, Any] = {}
    for step in steps(module):
        if step.name != "withObject":
            continue
        obj_steps = steps(step.args["object"])
        name = next(s.args["name"] for s in obj_steps if s.name == "withObject")
        functions: dict[str, list[Any]] = {}
        for s in obj_steps:
            if s.name == "withFunction":
                fn_steps = steps(s.args["function"])
                functions[fn_steps[0].args["name"]] = fn_steps
        fields = {s.args["name"]: s.args for s in obj_steps if s.name == "withField"}
        objects[name] = {"functions": functions, "fields": fields}
    return objects


def _args(fn_steps: list[Any]) -> dict[str, dict[str, Any]]:
    return {s.args["name"]: s.args for s in fn_steps if s.name == "withArg"}


def _first(fn_steps: list[Any], name: str) -> dict[str, Any] | None:
    return next((s.args for s in fn_steps if s.name == name), None)


async def test_functions_and_their_one_line_docs(typedefs: dict[str, Any]) -> None:
    functions = typedefs["Aideator"]["functions"]
    assert set(functions) == FUNCTIONS
    for name, fn_steps in functions.items():
        doc = _first(fn_steps, "withDescription")
        assert doc is not None and doc["description"], name
        assert "\n" not in doc["description"], name


async def test_cache_policy_per_function(typedefs: dict[str, Any]) -> None:
    functions = typedefs["Aideator"]["functions"]
    policies = {n: _first(s, "withCachePolicy") for n, s in functions.items()}
    # Agent runs are never served from cache.
    assert policies["stream_agent"] == {"policy": "Never"}
    assert policies["compare"] == {"policy": "Never"}
    # A branch's tree must be fresh on every call, not the default days-long cache.
    assert policies["agent"] == {"policy": "PerSession"}
    # Its only input is content-addressed (the repository files): the default is right.
    assert policies["scripted_model"] is None


async def test_every_argument_is_documented(typedefs: dict[str, Any]) -> None:
    for name, fn_steps in typedefs["Aideator"]["functions"].items():
        for arg, spec in _args(fn_steps).items():
            assert spec.get("description"), f"{name}.{arg} has no Doc"


async def test_default_paths(typedefs: dict[str, Any]) -> None:
    functions = typedefs["Aideator"]["functions"]
    for name in ("agent", "stream_agent", "compare"):
        assert _args(functions[name])["agent_source"]["defaultPath"] == "/agent_image"
    for name in ("agent", "stream_agent", "compare"):
        ignored = _args(functions[name])["source"]["ignore"]
        assert {".git", "**/.venv", "**/node_modules"} <= set(ignored), name
    repo_files = _args(functions["compare"])["repo_files"]
    assert repo_files["defaultPath"] == "/"
    assert "!app/scripted_model/**" in repo_files["ignore"]


async def test_secrets_and_services_are_typed_as_such(typedefs: dict[str, Any]) -> None:
    args = _args(typedefs["Aideator"]["functions"]["stream_agent"])

    def type_name(arg: str) -> str:
        typedef: Type = args[arg]["typeDef"]
        obj = next(s.args for s in steps(typedef) if s.name == "withObject")
        return str(obj["name"])

    for arg in ("anthropic_api_key", "relay_token", "git_token"):
        assert type_name(arg) == "Secret"
    for arg in ("gateway", "relay"):
        assert type_name(arg) == "Service"
    for arg in ("source", "session"):
        assert type_name(arg) == "Directory"


async def test_environment_and_token_arguments(typedefs: dict[str, Any]) -> None:
    functions = typedefs["Aideator"]["functions"]
    for name in ("agent", "stream_agent", "compare"):
        assert {"git_token", "image", "setup_command"} <= set(_args(functions[name])), name


async def test_agent_run_fields_are_documented(typedefs: dict[str, Any]) -> None:
    fields = typedefs["AgentRun"]["fields"]
    assert set(fields) == {"result", "diff", "transcript", "exit_code", "workspace", "session"}
    assert all(f["description"] for f in fields.values())
