"""Take the README screenshots from a finished 3-variation scripted run.

    uv run python -m tests.web.screenshot

Writes to docs/img/: run.png (run page, 1440x900), compare.png (two variations side by side,
1440x900), home.png (runs list and form, 1024x768), phone-run.png and phone-home.png (390 wide).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Any

import httpx

from tests.server_process import ROOT, ServerProcess
from tests.web.browser import launch, sample_repo_at, wait_run

OUT = ROOT / "docs" / "img"
PROMPT = "median() is wrong for lists of even length. Fix it so the test suite passes."
SCENARIOS = ["fix-correct", "fix-bad", "no-change"]


def _start(server: ServerProcess, repo: Path, **extra: Any) -> str:
    body = {
        "repo_url": str(repo),
        "prompt": PROMPT,
        "variations": [{"model": f"scripted/{name}"} for name in SCENARIOS],
        **extra,
    }
    run_id: str = httpx.post(f"{server.url}/api/v1/runs", json=body).json()["run_id"]
    wait_run(server.url, run_id)
    return run_id


def _shoot(browser: Any, url: str, path: Path, width: int, height: int, **how: Any) -> None:
    page = browser.new_page(viewport={"width": width, "height": height}, **how)
    page.goto(url)
    page.wait_for_timeout(1200)
    if "#/runs/" in url:
        page.wait_for_selector(".run-head .conn[data-state='ended']")
        page.wait_for_timeout(400)
    page.screenshot(path=str(path))
    page.close()


def main(out: Path = OUT) -> None:
    """Run the demo scenario (and two more runs for the list) and photograph them."""
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="aideator-demo-") as tmp:
        repo = sample_repo_at(Path(tmp) / "sample-repo")
        server = ServerProcess(Path(tmp) / "server").start(timeout=120)
        try:
            _start(server, repo)  # no check: the list shows "no check"
            run_id = _start(server, repo, check_command="python3 -m unittest -q")
            with sync_playwright() as playwright:
                browser = launch(playwright)
                run_url = f"{server.url}/#/runs/{run_id}"
                _shoot(browser, run_url, out / "run.png", 1440, 900)
                page = browser.new_page(viewport={"width": 1440, "height": 900})
                page.goto(run_url)
                page.wait_for_selector(".run-head .conn[data-state='ended']")
                page.click(".vcol[data-variation='0'] [data-action=diff]")
                page.wait_for_selector(".compare .pair-file")
                page.wait_for_timeout(300)
                page.screenshot(path=str(out / "compare.png"))
                page.close()
                _shoot(browser, f"{server.url}/#/", out / "home.png", 1024, 768)
                phone = {"device_scale_factor": 2, "is_mobile": True, "has_touch": True}
                _shoot(browser, run_url, out / "phone-run.png", 390, 844, **phone)
                _shoot(browser, f"{server.url}/#/", out / "phone-home.png", 390, 844, **phone)
                browser.close()
        finally:
            server.stop()
    print(f"wrote run.png, compare.png, home.png, phone-run.png, phone-home.png to {out}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else OUT)
