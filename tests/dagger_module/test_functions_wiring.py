"""The module's async functions, run offline to check how their arguments are wired.

Only four engine reads are replaced, each with a fixed answer: the image's user
(`Container.user`), a service's endpoint (`Service.endpoint`), a file's contents
(`File.contents`, given the real uv.lock) and the execs' outputs (`stdout_and_exit_code`,
`collect_check`, which here return canned transcripts instead of running anything).
So these tests prove the wiring (which chain gets which secret, binding, spec, patch and
how many variations fan out); they do not prove that anything runs. The real engine runs
`compare` in .github/workflows/dagger.yml.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from aideator_dagger import main
from aideator_dagger.agent_run import AgentRun
from aideator_dagger.containers import CACHE_BUST_ENV, PATCH_PATH, SCRIPTED_MODEL_PORT
from aideator_dagger.report import CheckOutcome
from dagger_chain import REPO_ROOT, calls, env_vars, render, spec_file, steps

import dagger
from dagger import dag

SHA = "0123456789abcdef0123456789abcdef01234567"
MODELS = ["scripted/fix-correct", "scripted/fix-bad", "scripted/no-change"]
PATCHES = {
    "scripted/fix-correct": "diff --git a/m.py b/m.py\n+FIX-CORRECT\n",
    "scripted/fix-bad": "diff --git a/m.py b/m.py\n+FIX-BAD\n",
    "scripted/no-change": "",
}


@pytest.fixture
def engine_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    async def user(self: dagger.Container) -> str:
        return "agent"

    async def endpoint(self: dagger.Service, **_: Any) -> str:
        return "5f0c3a1b9e:4567"

    async def contents(self: dagger.File, **_: Any) -> str:
        return (REPO_ROOT / "uv.lock").read_text()

    monkeypatch.setattr(dagger.Container, "user", user)
    monkeypatch.setattr(dagger.Service, "endpoint", endpoint)
    monkeypatch.setattr(dagger.File, "contents", contents)


class TestStreamAgent:
    @pytest.fixture
    def captured(
        self, engine_reads: None, monkeypatch: pytest.MonkeyPatch
    ) -> list[dagger.Container]:
        seen: list[dagger.Container] = []

        async def collect_run(ran: dagger.Container) -> AgentRun:
            seen.append(ran)
            return AgentRun(  # type: ignore[call-arg]
                result="{}",
                diff="",
                transcript="",
                exit_code=0,
                workspace=dag.directory(),
                session=dag.directory(),
            )

        monkeypatch.setattr(main, "collect_run", collect_run)
        return seen

    async def test_server_mode_wiring(self, captured: list[dagger.Container]) -> None:
        gateway = dag.host().service([dagger.PortForward(frontend=4567, backend=4567)])
        relay = dag.host().service([dagger.PortForward(frontend=4567, backend=4567)])
        key = dag.set_secret("gw", "gateway-token")
        token = dag.set_secret("relay", "relay-token")
        await main.Aideator().stream_agent(
            agent_source=dag.directory(),
            prompt="fix it",
            repo_url="https://h/r.git",
            ref=SHA,
            run_id="run-9",
            variation_id=4,
            anthropic_api_key=key,
            gateway=gateway,
            relay=relay,
            relay_token=token,
        )
        (ran,) = captured
        env = env_vars(ran)
        assert env["ANTHROPIC_BASE_URL"] == "http://gateway:4567"
        assert (
            env["RELAY_URL"] == "http://relay:4567/api/v1/internal/runs/run-9/variations/4/events"
        )
        assert {b["alias"] for b in calls(ran, "withServiceBinding")} == {"gateway", "relay"}
        secrets = {s["name"]: s["secret"] for s in calls(ran, "withSecretVariable")}
        assert secrets == {"ANTHROPIC_API_KEY": key, "RELAY_TOKEN": token}
        assert "gateway-token" not in render(ran, opaque_secrets=True)
        assert json.loads(spec_file(ran))["base_sha"] == SHA
        assert "run=run-9 variation=4 nonce=" in env[CACHE_BUST_ENV]

    async def test_every_call_gets_a_new_nonce(self, captured: list[dagger.Container]) -> None:
        for _ in range(2):
            await main.Aideator().stream_agent(
                agent_source=dag.directory(), prompt="p", repo_url="https://h/r.git"
            )
        busts = {env_vars(ran)[CACHE_BUST_ENV] for ran in captured}
        assert len(busts) == 2

    async def test_local_source_and_argument_checks(self, captured: list[dagger.Container]) -> None:
        await main.Aideator().stream_agent(
            agent_source=dag.directory(), prompt="p", source=dag.directory()
        )
        (ran,) = captured
        assert json.loads(spec_file(ran))["base_sha"] is None
        tree = calls(ran, "withDirectory")[0]["source"]
        assert ["git", "init", "-q"] in [c["args"] for c in calls(tree, "withExec")]
        with pytest.raises(ValueError, match="exactly one"):
            await main.Aideator().stream_agent(agent_source=dag.directory(), prompt="p")
        with pytest.raises(ValueError, match="exactly one"):
            await main.Aideator().stream_agent(
                agent_source=dag.directory(), prompt="p", repo_url="x", source=dag.directory()
            )


def written_patch(checked: dagger.Container) -> str:
    """The patch file a check container is given."""
    files = {c["path"]: c["contents"] for c in calls(checked, "withNewFile")}
    return str(files[PATCH_PATH])


def _transcript(model: str) -> str:
    result = {
        "exit_code": 0,
        "diff": PATCHES[model],
        "diff_stats": {"files": 1 if PATCHES[model] else 0, "insertions": 1, "deletions": 0},
        "cost_usd": None,
        "duration_seconds": 2.0,
    }
    lines = [
        {"v": 1, "seq": 0, "type": "status", "text": "starting"},
        {"v": 1, "seq": 1, "type": "result", "text": "agent exited 0", "data": result},
    ]
    return "".join(json.dumps(line) + "\n" for line in lines)


class TestCompare:
    @pytest.fixture
    def runs(
        self, engine_reads: None, monkeypatch: pytest.MonkeyPatch
    ) -> dict[str, list[dagger.Container]]:
        seen: dict[str, list[dagger.Container]] = {"agent": [], "check": []}

        async def stdout_and_exit_code(ran: dagger.Container) -> tuple[str, int]:
            seen["agent"].append(ran)
            model = json.loads(spec_file(ran))["model"]
            return _transcript(model), 0

        async def collect_check(checked: dagger.Container) -> CheckOutcome:
            seen["check"].append(checked)
            patch = written_patch(checked)
            return CheckOutcome(exit_code=0 if "FIX-CORRECT" in patch else 1, output="ran\n")

        monkeypatch.setattr(main, "stdout_and_exit_code", stdout_and_exit_code)
        monkeypatch.setattr(main, "collect_check", collect_check)
        return seen

    async def test_fan_out_check_and_report(self, runs: dict[str, list[dagger.Container]]) -> None:
        out = await main.Aideator().compare(
            agent_source=dag.directory(),
            repo_files=dag.directory(),
            prompt="fix the median",
            source=dag.directory(),
            models=MODELS,
            check_command="python3 -m unittest -q",
            scripted_model=True,
        )
        specs = [json.loads(spec_file(ran)) for ran in runs["agent"]]
        assert [(s["variation_id"], s["model"]) for s in specs] == list(enumerate(MODELS))
        assert len({s["run_id"] for s in specs}) == 1
        busts = [env_vars(ran)[CACHE_BUST_ENV] for ran in runs["agent"]]
        assert len(set(busts)) == 3
        for ran in runs["agent"]:
            assert env_vars(ran)["ANTHROPIC_BASE_URL"] == f"http://gateway:{SCRIPTED_MODEL_PORT}"
            (binding,) = calls(ran, "withServiceBinding")
            service = render(binding["service"])
            assert "app.scripted_model" in service and "starlette==" in service
            (key,) = calls(ran, "withSecretVariable")
            assert steps(key["secret"])[0].args["name"] == "aideator-scripted-model-key"
        # Each check applies its own variation's patch, in a container with no agent secrets.
        patches = [written_patch(chk) for chk in runs["check"]]
        assert sorted(patches) == sorted(PATCHES.values())
        assert all(calls(chk, "withSecretVariable") == [] for chk in runs["check"])

        files = {c["path"]: c["contents"] for c in calls(out, "withNewFile")}
        assert set(files) == {
            "report.json",
            "report.md",
            *(f"variation-{i}.patch" for i in range(3)),
            *(f"variation-{i}.jsonl" for i in range(3)),
        }
        assert files["variation-0.patch"] == PATCHES["scripted/fix-correct"]
        report = json.loads(files["report.json"])
        assert report["schema_version"] == 1
        assert report["winner"]["variation_id"] == 0
        assert report["winner"]["model"] == "scripted/fix-correct"
        assert [v["rank"] for v in report["variations"]] == [1, 2, 3]
        assert (
            "| 🏆 | 1 | 0 | `scripted/fix-correct` | succeeded | ✅ passed |" in files["report.md"]
        )

    async def test_count_variations_of_one_model(
        self, runs: dict[str, list[dagger.Container]]
    ) -> None:
        await main.Aideator().compare(
            agent_source=dag.directory(),
            repo_files=dag.directory(),
            prompt="p",
            source=dag.directory(),
            models=["scripted/fix-correct"],
            count=4,
            scripted_model=True,
        )
        assert len(runs["agent"]) == 4 and runs["check"] == []

    async def test_bad_arguments_are_refused_before_any_build(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        async def user(self: dagger.Container) -> str:
            raise AssertionError("the image was built before the arguments were checked")

        monkeypatch.setattr(dagger.Container, "user", user)
        with pytest.raises(ValueError, match="--prompt is required"):
            await main.Aideator().compare(
                agent_source=dag.directory(), repo_files=dag.directory(), source=dag.directory()
            )

    async def test_scripted_model_and_gateway_exclude_each_other(self, engine_reads: None) -> None:
        with pytest.raises(ValueError, match="exclude each other"):
            await main.Aideator().compare(
                agent_source=dag.directory(),
                repo_files=dag.directory(),
                prompt="p",
                source=dag.directory(),
                gateway=dag.host().service([dagger.PortForward(frontend=1, backend=1)]),
                scripted_model=True,
            )
