"""A loopback "simple" package index serving one wheel the test builds; counts downloads."""

from __future__ import annotations

import base64
import hashlib
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


def build_wheel(folder: Path, name: str, version: str, source: str) -> Path:
    """A pure-Python wheel with one module `name` (RECORD with real hashes)."""
    dist = f"{name}-{version}"
    files = {
        f"{name}/__init__.py": source.encode(),
        f"{dist}.dist-info/METADATA": (
            f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
        ).encode(),
        f"{dist}.dist-info/WHEEL": (
            b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        ),
    }
    record = []
    for path, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(data)}")
    record.append(f"{dist}.dist-info/RECORD,,")
    files[f"{dist}.dist-info/RECORD"] = ("\n".join(record) + "\n").encode()
    wheel = folder / f"{dist}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, data in files.items():
            archive.writestr(path, data)
    return wheel


class PackageIndex:
    """`/simple/<name>/` lists the wheel; `/files/<wheel>` serves it and counts."""

    def __init__(self, wheel: Path, name: str) -> None:
        self.wheel, self.name = wheel, name
        self.downloads = 0
        self.requests: list[str] = []
        index = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                index.requests.append(self.path)
                if self.path.rstrip("/") == f"/simple/{index.name}":
                    link = f'<a href="/files/{index.wheel.name}">{index.wheel.name}</a>'
                    self._send(f"<html><body>{link}</body></html>".encode(), "text/html")
                elif self.path == f"/files/{index.wheel.name}":
                    index.downloads += 1
                    self._send(index.wheel.read_bytes(), "application/octet-stream")
                else:
                    self.send_error(404)

            def _send(self, body: bytes, kind: str) -> None:
                self.send_response(200)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """The index URL for pip's --index-url."""
        return f"http://127.0.0.1:{self.port}/simple"

    def __enter__(self) -> PackageIndex:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
