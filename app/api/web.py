"""The web page: `/` serves index.html, `/static/...` its modules, styles and images."""

from __future__ import annotations

import os
from pathlib import Path

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import Response
from starlette.datastructures import Headers
from starlette.responses import FileResponse
from starlette.staticfiles import NotModifiedResponse, StaticFiles
from starlette.types import Scope
from swagger_ui_bundle import swagger_ui_path

STATIC_DIR = Path(__file__).resolve().parents[1] / "static"

# No build step means no content-hashed file names, so every file is revalidated (a cheap
# 304 by ETag): after an upgrade a browser never runs stale modules against a newer API.
CACHE_CONTROL = "no-cache"
# Agent output is hostile input; the page builds its DOM with textContent only, and this
# policy is the second wall: no inline or foreign script, no plugins, no framing.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}

# Swagger UI sets style attributes on its elements; its own scripts are still 'self' only.
DOCS_CONTENT_SECURITY_POLICY = CONTENT_SECURITY_POLICY.replace(
    "style-src 'self'", "style-src 'self' 'unsafe-inline'"
)

router = APIRouter(include_in_schema=False)


class PageFiles(StaticFiles):
    """StaticFiles that always asks browsers to revalidate and adds the page's security headers."""

    def file_response(
        self,
        full_path: str | os.PathLike[str],
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        """The file, or 304 when the browser's copy is current."""
        response = FileResponse(full_path, status_code=status_code, stat_result=stat_result)
        response.headers["Cache-Control"] = CACHE_CONTROL
        response.headers.update(SECURITY_HEADERS)
        if self.is_not_modified(response.headers, Headers(scope=scope)):
            return NotModifiedResponse(response.headers)
        return response


static_files = PageFiles(directory=STATIC_DIR)


@router.get("/")
async def index(request: Request) -> Response:
    """The single page; hash routes (`#/`, `#/runs/<id>`) pick the view."""
    return await static_files.get_response("index.html", request.scope)


@router.get("/docs")
async def api_docs(request: Request) -> Response:
    """Interactive API docs: Swagger UI shipped in the package, so they work offline."""
    response = await static_files.get_response("docs/index.html", request.scope)
    response.headers["Content-Security-Policy"] = DOCS_CONTENT_SECURITY_POLICY
    return response


def install_web(app: FastAPI) -> None:
    """Serve the page at `/`, its files under `/static`, and Swagger UI at `/docs`."""
    app.include_router(router)
    app.mount("/static", static_files, name="static")
    app.mount("/docs/assets", PageFiles(directory=swagger_ui_path), name="docs-assets")
