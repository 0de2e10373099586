"""Private repositories (git token), the setup command and the base image, read offline.

The token must reach only the engine's own git (`git(httpAuthToken: Secret)`), never a
container; setup runs before the agent in the same workspace; `image` becomes the
Dockerfile's BASE_IMAGE. Engine reads are given fixed answers as in test_functions_wiring.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from aideator_dagger import containers, main
from aideator_dagger.agent_run import AgentRun
from dagger_chain import calls, render, spec_file, steps

import dagger
from dagger import dag

TOKEN = "ghp-canary-token-never-in-a-container"
SHA = "0123456789abcdef0123456789abcdef01234567"


@pytest.fixture
def captured(monkeypatch: pytest.MonkeyPatch) -> list[dagger.Container]:
    seen: list[dagger.Container] = []

    async def user(self: dagger.Container) -> str:
        return "agent"

    async def sync(self: dagger.Container) -> dagger.Container:
        return self

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

    monkeypatch.setattr(dagger.Container, "user", user)
    monkeypatch.setattr(dagger.Container, "sync", sync)
    monkeypatch.setattr(main, "collect_run", collect_run)
    return seen


def git_call(ran: dagger.Container) -> dict[str, Any]:
    """The arguments of the `git` field that cloned the workspace."""
    (mount,) = [c for c in calls(ran, "withDirectory") if c["path"] == "/workspace"]
    return steps(mount["source"])[0].args


class TestGitToken:
    async def test_the_token_goes_to_the_engines_git_only(
        self, captured: list[dagger.Container]
    ) -> None:
        token = dag.set_secret("git", TOKEN)
        await main.Aideator().stream_agent(
            agent_source=dag.directory(),
            prompt="p",
            repo_url="https://git.example/private.git",
            ref=SHA,
            git_token=token,
        )
        (ran,) = captured
        args = git_call(ran)
        assert args["url"] == "https://git.example/private.git"
        assert args["httpAuthToken"] is token
        assert calls(ran, "withSecretVariable") == []
        assert TOKEN not in render(ran, opaque_secrets=True)
        assert TOKEN in render(ran)  # the check above would see it

    async def test_no_token_no_auth(self, captured: list[dagger.Container]) -> None:
        await main.Aideator().stream_agent(
            agent_source=dag.directory(), prompt="p", repo_url="https://h/r.git"
        )
        assert "httpAuthToken" not in git_call(captured[0])

    @pytest.mark.parametrize(
        "url", ["git@github.com:you/private.git", "ssh://git@host/x.git", "git+ssh://h/x"]
    )
    async def test_ssh_urls_are_refused_clearly(
        self, captured: list[dagger.Container], url: str
    ) -> None:
        refused = "SSH repository URLs are not supported"
        with pytest.raises(ValueError, match=refused):
            await main.Aideator().stream_agent(
                agent_source=dag.directory(), prompt="p", repo_url=url
            )
        with pytest.raises(ValueError, match=refused):
            await main.Aideator().agent(agent_source=dag.directory(), repo_url=url)
        with pytest.raises(ValueError, match=refused):
            await main.Aideator().compare(
                agent_source=dag.directory(), repo_files=dag.directory(), prompt="p", repo_url=url
            )
        assert captured == []


class TestSetupAndImage:
    async def test_setup_runs_before_the_agent_in_the_workspace(
        self, captured: list[dagger.Container]
    ) -> None:
        await main.Aideator().stream_agent(
            agent_source=dag.directory(),
            prompt="p",
            repo_url="https://h/r.git",
            ref=SHA,
            setup_command="python3 -m venv .venv && .venv/bin/pip install -e .",
        )
        (ran,) = captured
        execs = [c["args"] for c in calls(ran, "withExec")]
        assert execs[0] == ["sh", "-c", "python3 -m venv .venv && .venv/bin/pip install -e ."]
        assert execs[1] == ["sh", "-c", containers.SETUP_RECORD_SCRIPT]
        assert execs[-1][:3] == [containers.AGENT_PYTHON, "-m", "aideator_agent"]
        # The agent diffs against HEAD, which setup may have moved to its own commit.
        assert json.loads(spec_file(ran))["base_sha"] is None

    async def test_without_setup_there_is_one_exec(self, captured: list[dagger.Container]) -> None:
        await main.Aideator().stream_agent(
            agent_source=dag.directory(), prompt="p", repo_url="https://h/r.git", ref=SHA
        )
        assert len(calls(captured[0], "withExec")) == 1
        assert json.loads(spec_file(captured[0]))["base_sha"] == SHA

    async def test_image_is_the_dockerfiles_base(self, captured: list[dagger.Container]) -> None:
        await main.Aideator().stream_agent(
            agent_source=dag.directory(),
            prompt="p",
            repo_url="https://h/r.git",
            image="node:22-bookworm",
        )
        (build,) = calls(captured[0], "dockerBuild")
        assert build["buildArgs"] == [{"name": "BASE_IMAGE", "value": "node:22-bookworm"}]

    async def test_a_failing_setup_is_reported_and_no_agent_runs(
        self, captured: list[dagger.Container], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        async def failing_sync(self: dagger.Container) -> dagger.Container:
            # What the SDK raises for a failed exec, without the GraphQL response it is
            # normally parsed from.
            error = Exception.__new__(dagger.ExecError)
            error.command, error.message, error.exit_code = ["sh", "-c", "npm ci"], "exit 1", 1
            error.stdout, error.stderr = "installing\n", "npm ERR! missing lockfile\n"
            raise error

        monkeypatch.setattr(dagger.Container, "sync", failing_sync)
        with pytest.raises(main.SetupFailed, match="exit code 1") as failed:
            await main.Aideator().stream_agent(
                agent_source=dag.directory(),
                prompt="p",
                repo_url="https://h/r.git",
                setup_command="npm ci",
            )
        assert "npm ERR! missing lockfile" in str(failed.value)
        assert captured == []


def test_setup_record_script_excludes_new_paths_and_commits_changes() -> None:
    script = containers.SETUP_RECORD_SCRIPT
    assert "git ls-files --others --directory --exclude-standard" in script
    assert ".git/info/exclude" in script
    assert "commit -q -a --no-verify" in script


class TestPromptFile:
    async def test_the_prompt_is_read_from_the_file(
        self, captured: list[dagger.Container], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        long_prompt = "\u00e9" * 150_000

        async def contents(self: dagger.File, **_: Any) -> str:
            return long_prompt

        monkeypatch.setattr(dagger.File, "contents", contents)
        await main.Aideator().stream_agent(
            agent_source=dag.directory(),
            repo_url="https://h/r.git",
            prompt_file=dag.directory().file("prompt.txt"),
        )
        assert json.loads(spec_file(captured[0]))["prompt"] == long_prompt

    async def test_prompt_and_prompt_file_exclude_each_other(
        self, captured: list[dagger.Container]
    ) -> None:
        with pytest.raises(ValueError, match="not both"):
            await main.Aideator().stream_agent(
                agent_source=dag.directory(),
                prompt="p",
                repo_url="https://h/r.git",
                prompt_file=dag.directory().file("prompt.txt"),
            )
        assert captured == []
