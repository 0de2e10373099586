"""The diff between two variations' resulting trees."""

from __future__ import annotations

import shutil
from pathlib import Path

import httpx

from tests.conftest import command_spec, wait_finished

RUNS = "/api/v1/runs"


async def test_interdiff_between_two_variations(client: httpx.AsyncClient, git_repo: Path) -> None:
    body = {
        "repo_url": str(git_repo),
        "prompt": "change a",
        "variations": [
            command_spec("printf 'a\\nfrom zero\\n' > src/a.txt"),
            command_spec("printf 'a\\nfrom one\\n' > src/a.txt && echo new > b.txt"),
            command_spec("printf 'a\\nfrom zero\\n' > src/a.txt"),
            command_spec("true"),
        ],
    }
    res = await client.post(RUNS, json=body)
    assert res.status_code == 202, res.text
    run_id = res.json()["run_id"]
    await wait_finished(client, run_id)

    res = await client.get(f"{RUNS}/{run_id}/variations/1/interdiff", params={"against": 0})
    assert res.status_code == 200, res.text
    assert res.headers["content-type"].startswith("text/x-diff")
    lines = [line for line in res.text.splitlines() if not line.startswith("index ")]
    assert lines == [
        "diff --git a/b.txt b/b.txt",
        "new file mode 100644",
        "--- /dev/null",
        "+++ b/b.txt",
        "@@ -0,0 +1 @@",
        "+new",
        "diff --git a/src/a.txt b/src/a.txt",
        "--- a/src/a.txt",
        "+++ b/src/a.txt",
        "@@ -1,2 +1,2 @@",
        " a",
        "-from zero",
        "+from one",
    ]
    # Against a variation that changed nothing: exactly variation 0's own diff.
    res = await client.get(f"{RUNS}/{run_id}/variations/0/interdiff", params={"against": 3})
    assert res.status_code == 200, res.text
    own = (await client.get(f"{RUNS}/{run_id}/variations/0/diff")).text
    assert res.text == own and "+from zero" in res.text
    # Two variations that made the same change: an empty diff.
    res = await client.get(f"{RUNS}/{run_id}/variations/2/interdiff", params={"against": 0})
    assert res.status_code == 200 and res.text == ""


async def test_interdiff_refuses_unknown_variations(
    client: httpx.AsyncClient, git_repo: Path
) -> None:
    body = {"repo_url": str(git_repo), "prompt": "p", "variations": [command_spec("true")]}
    res = await client.post(RUNS, json=body)
    run_id = res.json()["run_id"]
    await wait_finished(client, run_id)
    res = await client.get(f"{RUNS}/{run_id}/variations/0/interdiff", params={"against": 7})
    assert res.status_code == 404 and "no variation 7" in res.json()["error"]["message"], res.text
    res = await client.get(f"{RUNS}/{run_id}/variations/5/interdiff", params={"against": 0})
    assert res.status_code == 404, res.text
    res = await client.get(f"{RUNS}/{run_id}/variations/0/interdiff")
    assert res.status_code == 422, res.text


async def test_interdiff_on_a_snapshotted_folder(
    client: httpx.AsyncClient, git_repo: Path, tmp_path: Path
) -> None:
    plain = tmp_path / "plain"  # not a repository: the run starts from a snapshot commit
    shutil.copytree(git_repo, plain, ignore=shutil.ignore_patterns(".git"))
    body = {
        "repo_url": str(plain),
        "prompt": "change a",
        "variations": [
            command_spec("printf 'a\\nfrom zero\\n' > src/a.txt"),
            command_spec("printf 'a\\nfrom one\\n' > src/a.txt"),
        ],
    }
    res = await client.post(RUNS, json=body)
    assert res.status_code == 202, res.text
    run_id = res.json()["run_id"]
    await wait_finished(client, run_id)
    res = await client.get(f"{RUNS}/{run_id}/variations/1/interdiff", params={"against": 0})
    assert res.status_code == 200, res.text
    assert "-from zero" in res.text and "+from one" in res.text
