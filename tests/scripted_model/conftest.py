"""Fixtures: the scripted model on a real uvicorn (127.0.0.1, any free port), sample repo."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import uvicorn
from starlette.applications import Starlette

from app.scripted_model import create_app

ROOT = Path(__file__).resolve().parents[2]
SAMPLE_REPO = ROOT / "examples" / "sample-repo"


@contextmanager
def serve(app: Starlette) -> Iterator[str]:
    """Run app on uvicorn in a thread bound to 127.0.0.1 port 0; yield its base URL."""
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=lambda: asyncio.run(server.serve()), daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("scripted model server did not start")
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def sample_repo() -> Path:
    """The sample repository's plain files (never modified by tests)."""
    return SAMPLE_REPO


@pytest.fixture(scope="module")
def scripted_url() -> Iterator[str]:
    """Base URL of a scripted model server with the built-in scenarios."""
    with serve(create_app()) as url:
        yield url


@pytest.fixture(scope="module")
def paced_url() -> Iterator[str]:
    """Base URL of a scripted model that pauses 20 ms between streamed events."""
    with serve(create_app(chunk_delay=0.02)) as url:
        yield url
