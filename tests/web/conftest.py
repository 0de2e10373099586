"""Browser test fixtures: a real server per session, chromium per module, a fresh page per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.server_process import ServerProcess
from tests.web.browser import launch, require_chromium, sample_repo_at

VIEWPORT = {"width": 1440, "height": 900}


@pytest.fixture(scope="session")
def web_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """The server (process backend, scripted model slowed so a run lasts a few seconds)."""
    require_chromium()
    server = ServerProcess(tmp_path_factory.mktemp("web-server"), scripted_chunk_delay="0.05")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def web_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A git copy of examples/sample-repo."""
    return sample_repo_at(tmp_path_factory.mktemp("web-repo") / "sample-repo")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless chromium (the Debian package), or a skip when it is not installed."""
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = launch(playwright)
        try:
            yield instance
        finally:
            instance.close()


@pytest.fixture
def new_page(browser: Any) -> Iterator[Any]:
    """Factory of pages in fresh contexts; fails the test on any uncaught page error."""
    contexts: list[Any] = []
    errors: list[str] = []

    def make() -> Any:
        context = browser.new_context(viewport=VIEWPORT, accept_downloads=True)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(30_000)
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        return page

    try:
        yield make
    finally:
        for context in contexts:
            context.close()
    assert not errors, f"uncaught errors in the page: {errors}"


@pytest.fixture
def page(new_page: Any) -> Any:
    """One page."""
    return new_page()
