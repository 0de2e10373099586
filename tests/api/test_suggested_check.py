"""A run without a check command is offered its repository's obvious test command."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.conftest import command_spec, make_git_repo, wait_finished

RUNS = "/api/v1/runs"
PYTHON_PROJECT = {
    "pyproject.toml": '[project]\nname = "x"\n',
    "tests/test_x.py": "def test_x():\n    assert True\n",
}


async def _run(client: httpx.AsyncClient, repo: Path, **extra: object) -> dict[str, object]:
    body = {"repo_url": str(repo), "prompt": "p", "variations": [command_spec("true")], **extra}
    res = await client.post(RUNS, json=body)
    assert res.status_code == 202, res.text
    return await wait_finished(client, res.json()["run_id"])


async def test_tests_folder_and_pyproject_suggest_pytest(
    client: httpx.AsyncClient, tmp_path: Path
) -> None:
    repo = make_git_repo(tmp_path / "py", PYTHON_PROJECT)
    done = await _run(client, repo)
    assert done["check_command"] is None
    assert done["suggested_check_command"] == "python3 -m pytest -q"


async def test_no_suggestion_with_a_check_or_without_tests(
    client: httpx.AsyncClient, tmp_path: Path
) -> None:
    checked = await _run(
        client, make_git_repo(tmp_path / "a", PYTHON_PROJECT), check_command="true"
    )
    assert checked["suggested_check_command"] is None
    plain = await _run(client, make_git_repo(tmp_path / "b", {"README.md": "hi\n"}))
    assert plain["suggested_check_command"] is None
