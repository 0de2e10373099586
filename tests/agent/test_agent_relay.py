"""The relay: NDJSON batches POSTed to the host while the agent runs."""

from __future__ import annotations

import json
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from agent_harness import run_agent
from aideator_agent.protocol import validate_stream
from aideator_agent.relay import RelayClient

TOKEN = "relay-token-for-tests-0123"


class IngestServer:
    """A tiny ingest endpoint on 127.0.0.1 that records every batch it is sent."""

    def __init__(self, *, fail_first: int = 0, status: int = 200) -> None:
        self.fail_first = fail_first
        self.status = status
        self.requests: list[dict[str, Any]] = []
        self.on_line: Callable[[dict[str, Any]], None] | None = None
        self._lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with outer._lock:
                    answer = 503 if len(outer.requests) < outer.fail_first else outer.status
                    lines = [json.loads(raw) for raw in body.decode().splitlines() if raw]
                    outer.requests.append(
                        {"path": self.path, "headers": dict(self.headers), "lines": lines,
                         "status": answer}
                    )  # fmt: skip
                if answer == 200 and outer.on_line:
                    for line in lines:
                        outer.on_line(line)
                self.send_response(answer)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = (
            f"http://127.0.0.1:{self._server.server_port}/internal/runs/r1/variations/0/events"
        )
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> IngestServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def accepted_lines(self) -> list[dict[str, Any]]:
        """Lines of accepted (2xx) batches, in arrival order, duplicates included."""
        with self._lock:
            return [line for req in self.requests if req["status"] == 200 for line in req["lines"]]


@pytest.fixture
def closed_port_url() -> Iterator[str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    yield f"http://127.0.0.1:{port}/ingest"


def command_spec(script: str) -> dict[str, object]:
    return {"agent": "command", "command": [sys.executable, "-u", "-c", script]}


def relay_env(url: str, **extra: str) -> dict[str, str]:
    return {"RELAY_URL": url, "RELAY_TOKEN": TOKEN, **extra}


class TestRelay:
    def test_lines_arrive_while_the_command_runs(self, repo: Path, tmp_path: Path) -> None:
        marker = tmp_path / "host-saw-first-line"
        # The command only prints "live" if the host got "first" while it was still running.
        script = (
            "import os, time\n"
            "print('first')\n"
            "deadline = time.monotonic() + 10\n"
            f"while not os.path.exists({str(marker)!r}) and time.monotonic() < deadline:\n"
            "    time.sleep(0.02)\n"
            f"print('live' if os.path.exists({str(marker)!r}) else 'late')\n"
        )
        with IngestServer() as server:
            server.on_line = lambda line: line.get("text") == "first" and marker.touch()
            run = run_agent(command_spec(script), repo, env=relay_env(server.url))
            relayed = server.accepted_lines()
            requests = list(server.requests)

        assert run.logs("stdout") == ["first", "live"]
        assert relayed == run.lines  # same lines, same order, nothing extra
        assert len(requests) >= 2  # batched while running, not one upload at the end
        headers = requests[0]["headers"]
        assert headers["Content-Type"] == "application/x-ndjson"
        assert headers["Authorization"] == f"Bearer {TOKEN}"
        assert requests[0]["path"] == "/internal/runs/r1/variations/0/events"
        assert TOKEN not in run.stdout

    def test_retries_after_503_without_loss_or_reordering(self, repo: Path) -> None:
        script = (
            "import time\n"
            "for i in range(30):\n"
            "    print(f'line {i}')\n"
            "    if i % 10 == 0: time.sleep(0.15)\n"
        )
        with IngestServer(fail_first=3) as server:
            run = run_agent(command_spec(script), repo, env=relay_env(server.url))
            relayed = server.accepted_lines()
            attempts = len(server.requests)

        assert run.returncode == 0
        assert attempts > 3
        first_seen: dict[int, dict[str, Any]] = {}
        for line in relayed:
            first_seen.setdefault(line["seq"], line)
        assert list(first_seen) == sorted(first_seen)  # in order
        assert list(first_seen.values()) == run.lines  # each line, exactly once after de-dup
        assert validate_stream(list(first_seen.values())) == []

    def test_relay_down_does_not_hurt_the_agent(self, repo: Path, closed_port_url: str) -> None:
        started = time.monotonic()
        run = run_agent(
            command_spec("for i in range(50): print(i)"),
            repo,
            env=relay_env(closed_port_url, RELAY_FLUSH_TIMEOUT="1"),
        )
        elapsed = time.monotonic() - started

        assert run.returncode == 0
        assert validate_stream(run.lines) == []
        assert run.logs("stdout") == [str(i) for i in range(50)]
        assert elapsed < 8
        assert "unsent" in run.stderr

    def test_401_stops_relaying(self, repo: Path) -> None:
        with IngestServer(status=401) as server:
            started = time.monotonic()
            run = run_agent(
                command_spec("import time\nprint(1)\ntime.sleep(0.5)\nprint(2)"),
                repo,
                env=relay_env(server.url, RELAY_FLUSH_TIMEOUT="10"),
            )
            elapsed = time.monotonic() - started
            attempts = len(server.requests)

        assert run.returncode == 0 and run.logs("stdout") == ["1", "2"]
        assert attempts == 1
        assert elapsed < 6  # no waiting out the flush timeout
        assert "401" in run.stderr


class TestRelayQueue:
    def test_bounded_queue_drops_oldest(self, closed_port_url: str, capsys: Any) -> None:
        relay = RelayClient(closed_port_url, None, max_pending=5)
        for seq in range(12):
            relay.submit(seq, json.dumps({"seq": seq}))
        assert relay.pending == 5
        assert relay.close(0.0) is False
        assert "dropped" in capsys.readouterr().err

    def test_sends_in_order_in_batches(self) -> None:
        with IngestServer() as server:
            relay = RelayClient(server.url, TOKEN)
            relay.start()
            for seq in range(2500):
                relay.submit(seq, json.dumps({"seq": seq}))
            assert relay.close(5.0) is True
            seqs = [line["seq"] for line in server.accepted_lines()]
            sizes = [len(req["lines"]) for req in server.requests]
        assert seqs == list(range(2500))
        assert max(sizes) <= 1000
