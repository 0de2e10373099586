"""axe-core (the accessibility engine, MPL-2.0) from npm, cached, run inside a page.

The package is installed once with the ordinary npm client into a cache directory; tests skip,
saying why, when npm is missing or the install fails.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from filelock import FileLock

AXE_VERSION = "4.14.1"
CACHE = Path.home() / ".cache" / "aideator-tests" / f"axe-core-{AXE_VERSION}"
SEVERE = ("serious", "critical")


def axe_source() -> str:
    """The text of axe.min.js, installing it into the cache on first use."""
    script = CACHE / "node_modules" / "axe-core" / "axe.min.js"
    CACHE.parent.mkdir(parents=True, exist_ok=True)
    # Test files run on parallel workers: one installs, the others wait for it to finish.
    with FileLock(CACHE.with_name(CACHE.name + ".lock")):
        if script.is_file():
            return script.read_text(encoding="utf-8")
        npm = shutil.which("npm")
        if npm is None:
            pytest.skip("the accessibility check needs npm (apt-get install npm)")
        CACHE.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(
            [npm, "install", "--prefix", str(CACHE), "--no-audit", "--no-fund", "--silent",
             f"axe-core@{AXE_VERSION}"],
            capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip
        if done.returncode != 0 or not script.is_file():
            pytest.skip(f"could not install axe-core {AXE_VERSION} with npm: {done.stderr[-300:]}")
    return script.read_text(encoding="utf-8")


def severe_violations(page: Any, source: str) -> list[dict[str, Any]]:
    """axe's serious and critical violations on the page as it is now (WCAG 2 A and AA)."""
    if not page.evaluate("() => Boolean(window.axe)"):
        page.evaluate(source)  # through the debugger protocol: the page's CSP does not apply
    result: dict[str, Any] = page.evaluate(
        """async () => await window.axe.run(document, {
            runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
        })"""
    )
    return [
        {
            "id": v["id"],
            "impact": v["impact"],
            "help": v["help"],
            "nodes": [(n["target"], n.get("failureSummary", "")[-160:]) for n in v["nodes"]][:8],
        }
        for v in result["violations"]
        if v["impact"] in SEVERE
    ]
