"""End to end over real HTTP: 3 variations x 2,000 lines; a steady reader and a reconnecting one."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import command_spec
from tests.server_process import ServerProcess
from tests.sse_client import SSE, read_sse

pytestmark = pytest.mark.e2e
LINES = 2000


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    srv = ServerProcess(tmp_path).start()
    yield srv
    srv.stop()


def _check_lines(events: list[SSE]) -> None:
    ids = [e.id for e in events]
    assert all(i is not None for i in ids)
    assert ids == sorted(ids) and len(set(ids)) == len(ids), "ids must increase, no duplicates"
    assert events[-1].event == "complete"
    for vid in range(3):
        texts = [
            e.json["text"]
            for e in events
            if e.event == "agent_output"
            and e.json["variation_id"] == vid
            and e.json["type"] == "log"
        ]
        assert texts == [str(i) for i in range(LINES)], f"variation {vid} lines"


async def test_every_line_exactly_once_across_reconnects(
    server: ServerProcess, git_repo: Path
) -> None:
    rng = random.Random(1234)
    spec = command_spec(f"seq 0 {LINES - 1}")
    async with httpx.AsyncClient(base_url=server.url, timeout=60) as client:
        res = await client.post(
            "/api/v1/runs",
            json={"repo_url": str(git_repo), "prompt": "count", "variations": [spec] * 3},
        )
        assert res.status_code == 202, res.text
        url = res.json()["stream_url"]

        steady: list[SSE] = []
        async with client.stream("GET", url) as response:
            async for event in read_sse(response):
                steady.append(event)
                if event.event == "complete":
                    break
        _check_lines(steady)

        resumed: list[SSE] = []
        cuts = 0
        last: int | None = None
        while not resumed or resumed[-1].event != "complete":
            stop_after = rng.randint(1, 1500)
            headers = {} if last is None else {"Last-Event-ID": str(last)}
            async with client.stream("GET", url, headers=headers) as response:
                got = 0
                async for event in read_sse(response):
                    resumed.append(event)
                    last = event.id
                    got += 1
                    if event.event == "complete":
                        break
                    if got >= stop_after:
                        cuts += 1
                        break  # disconnect mid-stream
        assert cuts >= 5
        _check_lines(resumed)
        assert [e.id for e in resumed] == [e.id for e in steady]

        via_query = []
        async with client.stream("GET", f"{url}?last_event_id={steady[-10].id}") as response:
            async for event in read_sse(response):
                via_query.append(event)
                if event.event == "complete":
                    break
        assert [e.id for e in via_query] == [e.id for e in steady[-9:]]
