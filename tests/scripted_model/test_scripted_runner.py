"""`python -m app.scripted_model` serves the scenarios on the given host and port."""

from __future__ import annotations

import asyncio
import json
import socket
import sys
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def test_module_runner_serves_scenarios(tmp_path: Path) -> None:
    scenarios = tmp_path / "scenarios"
    scenarios.mkdir()
    (scenarios / "hello.json").write_text(json.dumps({"turns": [{"text": "Hello from a file."}]}))
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "app.scripted_model",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--scenarios",
        str(scenarios),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            for _ in range(200):
                try:
                    models = await http.get("/v1/models")
                    break
                except httpx.ConnectError:
                    await asyncio.sleep(0.05)
            else:
                raise AssertionError("the runner never started listening")
            body = {"model": "scripted/hello", "max_tokens": 10, "messages": []}
            reply = await http.post("/v1/messages", json=body)
    finally:
        process.terminate()
        _, stderr = await asyncio.wait_for(process.communicate(), timeout=10)

    assert [model["id"] for model in models.json()["data"]] == ["scripted/hello"]
    assert reply.json()["content"] == [{"type": "text", "text": "Hello from a file."}]
    assert b"scripted model, not Claude" in stderr
