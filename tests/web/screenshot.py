"""Take the README screenshots: a finished 3-variation scripted run at 1440x900.

    uv run python -m tests.web.screenshot

Writes docs/img/run.png (the run page) and docs/img/compare.png (the Compare panel).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import httpx

from tests.server_process import ROOT, ServerProcess
from tests.web.browser import launch, sample_repo_at, wait_run

OUT = ROOT / "docs" / "img"
PROMPT = "median() is wrong for lists of even length. Fix it so the test suite passes."
SCENARIOS = ["fix-correct", "fix-bad", "no-change"]


def main() -> None:
    """Run the demo scenario on a private server and photograph it."""
    from playwright.sync_api import sync_playwright

    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="aideator-demo-") as tmp:
        repo = sample_repo_at(Path(tmp) / "sample-repo")
        server = ServerProcess(Path(tmp) / "server").start()
        try:
            body = {
                "repo_url": str(repo),
                "prompt": PROMPT,
                "variations": [{"model": f"scripted/{name}"} for name in SCENARIOS],
                "check_command": "python3 -m unittest -q",
            }
            run_id = httpx.post(f"{server.url}/api/v1/runs", json=body).json()["run_id"]
            wait_run(server.url, run_id)
            with sync_playwright() as playwright:
                browser = launch(playwright)
                page = browser.new_page(viewport={"width": 1440, "height": 900})
                page.goto(f"{server.url}/#/runs/{run_id}")
                page.wait_for_selector(".run-head .conn[data-state='ended']")
                page.click(".vcol[data-variation='0'] [data-action=diff]")
                page.wait_for_selector(".compare .diff-file")
                page.fill(
                    ".pick-block textarea", "Smallest change; the only one whose check passes"
                )
                page.click(".pick-block button")
                page.wait_for_selector(".vcol[data-variation='0'].is-winner")
                page.evaluate("window.scrollTo(0, 0)")
                page.wait_for_timeout(300)
                page.screenshot(path=str(OUT / "run.png"))
                page.locator(".compare").screenshot(path=str(OUT / "compare.png"))
                browser.close()
        finally:
            server.stop()
    print(f"wrote {OUT / 'run.png'} and {OUT / 'compare.png'}")


if __name__ == "__main__":
    main()
