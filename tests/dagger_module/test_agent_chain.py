"""The lazily built agent, check and scripted-model containers, read offline."""

from __future__ import annotations

import json

import pytest
from aideator_dagger import containers
from aideator_dagger.containers import Binding
from aideator_dagger.spec import (
    agent_spec,
    base_sha_of,
    cache_bust_value,
    parse_env_pairs,
    plan_variations,
)
from dagger_chain import calls, env_vars, render, spec_file, steps

import dagger
from dagger import dag

KEY = "sk-ant-plaintext-never-in-the-chain"
RELAY_TOKEN = "relay-token-plaintext"
SHA = "0123456789abcdef0123456789abcdef01234567"


def image() -> dagger.Container:
    return containers.agent_image(dag.host().directory("agent_image"))


def spec(**overrides: object) -> dict[str, object]:
    values: dict[str, object] = {
        "prompt": "fix it",
        "agent": "claude-code",
        "model": "scripted/fix-correct",
        "max_turns": 0,
        "system_prompt_append": "",
        "command": [],
        "base_sha": SHA,
        "run_id": "run-7",
        "variation_id": 3,
    }
    values.update(overrides)
    return agent_spec(**values)  # type: ignore[arg-type]


def host_service(port: int) -> dagger.Service:
    return dag.host().service([dagger.PortForward(frontend=port, backend=port)])


def run(
    *,
    gateway: Binding | None = None,
    relay: Binding | None = None,
    relay_token: dagger.Secret | None = None,
    api_key: dagger.Secret | None = None,
    extra_env: list[tuple[str, str]] | None = None,
) -> dagger.Container:
    tree = containers.clone("https://h/r.git", SHA)
    workspace = containers.with_workspace(image(), tree, "agent")
    return containers.agent_exec(
        workspace,
        spec=spec(),
        cache_bust=cache_bust_value("run-7", 3, "n0nce"),
        api_key=api_key,
        gateway=gateway,
        relay=relay,
        relay_token=relay_token,
        extra_env=extra_env or [],
    )


class TestAgentExec:
    def test_api_key_only_as_a_secret_variable(self) -> None:
        key = dag.set_secret("anthropic", KEY)
        ran = run(api_key=key)
        (secret_var,) = calls(ran, "withSecretVariable")
        assert secret_var["name"] == "ANTHROPIC_API_KEY" and secret_var["secret"] is key
        assert "ANTHROPIC_API_KEY" not in env_vars(ran)
        for exec_args in calls(ran, "withExec"):
            assert KEY not in json.dumps(exec_args["args"])
        # Outside the Secret object itself, the plaintext appears nowhere in the chain.
        assert KEY not in render(ran, opaque_secrets=True)
        assert KEY in render(ran)  # the check above can see it when it is there

    def test_services_bound_when_given(self) -> None:
        gateway = host_service(4567)
        relay = host_service(8000)
        token = dag.set_secret("relay", RELAY_TOKEN)
        ran = run(
            gateway=Binding(gateway, "gateway", 4567, "/v1"),
            relay=Binding(relay, "relay", 8000, "/api/v1/internal/runs/run-7/variations/3/events"),
            relay_token=token,
        )
        bindings = {b["alias"]: b["service"] for b in calls(ran, "withServiceBinding")}
        assert bindings == {"gateway": gateway, "relay": relay}
        env = env_vars(ran)
        assert env["ANTHROPIC_BASE_URL"] == "http://gateway:4567/v1"
        assert (
            env["RELAY_URL"] == "http://relay:8000/api/v1/internal/runs/run-7/variations/3/events"
        )
        secrets = {s["name"]: s["secret"] for s in calls(ran, "withSecretVariable")}
        assert secrets == {"RELAY_TOKEN": token}
        assert RELAY_TOKEN not in render(ran, opaque_secrets=True)

    def test_no_services_when_absent(self) -> None:
        ran = run()
        assert calls(ran, "withServiceBinding") == []
        assert calls(ran, "withSecretVariable") == []
        assert not {"ANTHROPIC_BASE_URL", "RELAY_URL"} & set(env_vars(ran))

    def test_cache_bust_and_quiet_claude_code(self) -> None:
        ran = run()
        env = env_vars(ran)
        assert env["CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC"] == "1"
        assert env[containers.CACHE_BUST_ENV] == "run=run-7 variation=3 nonce=n0nce"
        # The cache-busting variable is the last layer before the exec, so everything
        # before it is shared by all variations and only the agent run itself is unique.
        names = [s.name for s in steps(ran)]
        assert names[-2:] == ["withEnvVariable", "withExec"]
        assert steps(ran)[-2].args["name"] == containers.CACHE_BUST_ENV

    def test_exec_runs_the_agent_and_accepts_any_exit(self) -> None:
        (exec_args,) = calls(run(), "withExec")
        assert exec_args["args"] == [
            "/opt/aideator-agent/venv/bin/python",
            "-m",
            "aideator_agent",
            "--spec-file",
            containers.SPEC_PATH,
        ]
        assert exec_args["expect"] == "ANY"

    def test_spec_json(self) -> None:
        sent = json.loads(spec_file(run()))
        assert "AIDEATOR_SPEC" not in env_vars(run())
        assert sent == {
            "prompt": "fix it",
            "agent": "claude-code",
            "model": "scripted/fix-correct",
            "max_turns": None,
            "system_prompt_append": None,
            "command": [],
            "base_sha": SHA,
            "run_id": "run-7",
            "variation_id": 3,
        }

    def test_a_long_non_ascii_prompt_travels_in_the_spec_file(self) -> None:
        # 200 KB of a 3-byte character: json.dumps escapes each to 6 bytes (1.2 MB), far
        # beyond Linux's 128 KiB cap on one environment string.
        prompt = "\u00e9\u4e2d" * 100_000
        tree = containers.clone("https://h/r.git", SHA)
        ran = containers.agent_exec(
            containers.with_workspace(image(), tree, "agent"),
            spec=spec(prompt=prompt),
            cache_bust="c",
            api_key=None,
            gateway=None,
            relay=None,
            relay_token=None,
            extra_env=[],
        )
        assert max(len(v.encode()) for v in env_vars(ran).values()) < 4096
        for exec_args in calls(ran, "withExec"):
            assert sum(len(a.encode()) for a in exec_args["args"]) < 4096
        assert json.loads(spec_file(ran))["prompt"] == prompt

    def test_workspace_is_the_clone_owned_by_the_image_user(self) -> None:
        ran = run(extra_env=[("FOO", "bar")])
        (mount,) = calls(ran, "withDirectory")
        assert mount["path"] == "/workspace" and mount["owner"] == "agent"
        assert [s.name for s in steps(mount["source"])] == ["git", "commit", "tree"]
        assert steps(mount["source"])[0].args["url"] == "https://h/r.git"
        assert calls(ran, "withWorkdir") == [{"path": "/workspace"}]
        assert calls(ran, "dockerBuild") == [{}]
        assert env_vars(ran)["FOO"] == "bar"


class TestSources:
    @pytest.mark.parametrize(
        ("ref", "chain"),
        [
            ("HEAD", ["git", "head", "tree"]),
            ("", ["git", "head", "tree"]),
            (SHA, ["git", "commit", "tree"]),
            ("release-1", ["git", "ref", "tree"]),
        ],
    )
    def test_clone_refs(self, ref: str, chain: list[str]) -> None:
        assert [s.name for s in steps(containers.clone("https://h/r.git", ref))] == chain

    def test_local_directory_becomes_a_fresh_base_commit(self) -> None:
        tree = containers.committed_source(image(), dag.host().directory("sample"), "agent")
        (mount,) = calls(tree, "withDirectory")
        assert mount["exclude"] == [".git"] and mount["owner"] == "agent"
        execs = [c["args"] for c in calls(tree, "withExec")]
        assert execs[0][:3] == [containers.AGENT_PYTHON, "-I", "-c"]  # prune (snapshot rule)
        assert execs[1] == ["git", "init", "-q"]
        assert execs[2] == ["git", "-c", "core.autocrlf=false", "add", "-A"]
        assert execs[3][-3:] == ["--allow-empty", "-m", "snapshot"]
        assert steps(tree)[-1].name == "directory"
        assert steps(tree)[-1].args == {"path": "/workspace"}


class TestCheckExec:
    def test_check_runs_on_the_patched_base_tree(self) -> None:
        tree = containers.clone("https://h/r.git", SHA)
        patch = "diff --git a/x b/x\n"
        checked = containers.check_exec(
            containers.with_workspace(image(), tree, "agent"),
            patch=patch,
            check_command="python3 -m unittest -q; echo $KEY",
            owner="agent",
            cache_bust="run=r variation=1 nonce=n",
        )
        files = {c["path"]: c["contents"] for c in calls(checked, "withNewFile")}
        assert files[containers.PATCH_PATH] == patch
        assert "git apply --binary" in files[containers.CHECK_SCRIPT_PATH]
        assert calls(checked, "withDirectory")[0]["source"] is tree
        env = env_vars(checked)
        assert env["AIDEATOR_CHECK_COMMAND"] == "python3 -m unittest -q; echo $KEY"
        (exec_args,) = calls(checked, "withExec")
        # The command reaches the shell through the environment, never as exec arguments.
        assert exec_args == {"args": ["sh", containers.CHECK_SCRIPT_PATH], "expect": "ANY"}
        assert calls(checked, "withSecretVariable") == []
        assert calls(checked, "withServiceBinding") == []


class TestScriptedModel:
    def test_service(self) -> None:
        service = containers.scripted_model_service(dag.directory(), "starlette==1.0\n")
        assert calls(service, "from") == [{"address": containers.PYTHON_IMAGE}]
        assert calls(service, "withExposedPort") == [{"port": containers.SCRIPTED_MODEL_PORT}]
        (as_service,) = calls(service, "asService")
        assert as_service["args"][:3] == ["python", "-m", "app.scripted_model"]
        assert as_service["args"][-4:] == ["--host", "0.0.0.0", "--port", "8787"]
        (install,) = calls(service, "withExec")
        assert "-c" in install["args"] and "starlette" in install["args"]
        assert calls(service, "withNewFile")[0]["contents"] == "starlette==1.0\n"


class TestSpec:
    def test_validation(self) -> None:
        with pytest.raises(ValueError, match="agent must be one of"):
            spec(agent="aider")
        with pytest.raises(ValueError, match="needs --command"):
            spec(agent="command")
        with pytest.raises(ValueError, match="--prompt is required"):
            spec(prompt="  ")
        assert spec(agent="command", command=["true"], prompt="")["command"] == ["true"]

    def test_plan(self) -> None:
        plan = plan_variations(["a", " ", "b"], 2)
        assert [(p.variation_id, p.model) for p in plan] == [(0, "a"), (1, "a"), (2, "b"), (3, "b")]
        with pytest.raises(ValueError):
            plan_variations([], 1)
        with pytest.raises(ValueError):
            plan_variations(["a"], 0)
        with pytest.raises(ValueError, match="at most"):
            plan_variations(["a", "b", "c"], 7)

    def test_env_pairs(self) -> None:
        assert parse_env_pairs(["A=1", "B=x=y"]) == [("A", "1"), ("B", "x=y")]
        for bad in ("ANTHROPIC_API_KEY=x", "RELAY_URL=x", "AIDEATOR_SPEC=x", "no-equals", "1A=x"):
            with pytest.raises(ValueError):
                parse_env_pairs([bad])

    def test_base_sha_only_for_full_commit_ids(self) -> None:
        assert base_sha_of(SHA) == SHA
        assert base_sha_of("main") == "" and base_sha_of("0123abc") == ""
