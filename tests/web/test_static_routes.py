"""`/` and `/static/...`: the page, its modules, cache and security headers (app/api/web.py)."""

from __future__ import annotations

import re
from pathlib import Path

import httpx

STATIC = Path(__file__).resolve().parents[2] / "app" / "static"
IMPORT = re.compile(r"""^import\s+[^"']*["'](\./[^"']+)["'];""", re.MULTILINE)
UNSAFE_SINKS = re.compile(
    r"innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function|srcdoc"
)


async def test_index_is_served_with_security_and_cache_headers(client: httpx.AsyncClient) -> None:
    res = await client.get("/")
    assert res.status_code == 200
    assert res.headers["content-type"].startswith("text/html")
    assert '<script type="module" src="/static/js/main.js">' in res.text
    assert res.headers["cache-control"] == "no-cache"
    csp = res.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "object-src 'none'" in csp
    assert "unsafe-inline" not in csp
    assert res.headers["x-content-type-options"] == "nosniff"


async def test_static_files_revalidate_by_etag(client: httpx.AsyncClient) -> None:
    res = await client.get("/static/js/main.js")
    assert res.status_code == 200
    assert "javascript" in res.headers["content-type"]
    assert res.headers["cache-control"] == "no-cache"
    again = await client.get("/static/js/main.js", headers={"If-None-Match": res.headers["etag"]})
    assert again.status_code == 304
    assert again.headers["cache-control"] == "no-cache"


async def test_static_stays_inside_its_directory(client: httpx.AsyncClient) -> None:
    for path in ("/static/../config.py", "/static/%2e%2e/config.py", "/static/nope.js"):
        res = await client.get(path)
        assert res.status_code == 404, path
        assert "Settings" not in res.text


async def test_every_imported_module_is_served(client: httpx.AsyncClient) -> None:
    modules = sorted(STATIC.glob("js/*.js"))
    assert modules
    for module in modules:
        for target in IMPORT.findall(module.read_text()):
            url = f"/static/js/{target.removeprefix('./')}"
            assert (await client.get(url)).status_code == 200, f"{module.name} imports {target}"
    for href in re.findall(r'(?:href|src)="(/static/[^"]+)"', (STATIC / "index.html").read_text()):
        assert (await client.get(href)).status_code == 200, href


def test_no_markup_sinks_in_the_page_code() -> None:
    # Agent output is hostile: the page builds DOM with textContent, never from HTML strings.
    for module in STATIC.glob("js/*.js"):
        found = UNSAFE_SINKS.findall(module.read_text())
        assert not found, f"{module.name} uses {found}"
