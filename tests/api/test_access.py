"""Access control and limits: API keys, stream tokens, body size, back-pressure."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.api.access import AccessPolicy
from app.api.limits import StreamSlots
from app.config import Settings
from app.errors import TooBusy
from tests.conftest import command_spec

KEY = "test-key-0123456789"


@pytest.fixture
async def keyed(make_settings: Callable[..., Settings]) -> AsyncIterator[httpx.AsyncClient]:
    from app.main import create_app

    app = create_app(make_settings(api_keys=f"other-key, {KEY}", max_active_runs=1))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            yield c


def _run_body(repo: Path, script: str = "true") -> dict[str, Any]:
    return {"repo_url": str(repo), "prompt": "p", "variations": [command_spec(script)]}


async def test_every_route_but_health_needs_a_key(keyed: httpx.AsyncClient, git_repo: Path) -> None:
    assert (await keyed.get("/api/v1/health")).status_code == 200
    for method, path in [
        ("GET", "/api/v1/runs"),
        ("GET", "/api/v1/ready"),
        ("GET", "/api/v1/runs/x"),
        ("GET", "/api/v1/runs/x/stream"),
        ("POST", "/api/v1/runs/x/cancel"),
        ("POST", "/api/v1/runs/x/stream-token"),
    ]:
        for headers in ({}, {"X-API-Key": "wrong"}):
            res = await keyed.request(method, path, headers=headers)
            assert res.status_code == 401, (method, path, headers)
            assert res.json()["error"]["code"] == "unauthorized"
    res = await keyed.post("/api/v1/runs", json=_run_body(git_repo))
    assert res.status_code == 401
    ok = await keyed.get("/api/v1/runs", headers={"X-API-Key": KEY})
    assert ok.status_code == 200 and ok.json()["items"] == []


async def test_stream_token_opens_only_its_run(keyed: httpx.AsyncClient, git_repo: Path) -> None:
    auth = {"X-API-Key": KEY}
    first = (await keyed.post("/api/v1/runs", json=_run_body(git_repo), headers=auth)).json()
    run_a = first["run_id"]
    token = (await keyed.post(f"/api/v1/runs/{run_a}/stream-token", headers=auth)).json()["token"]
    stream = await keyed.get(f"/api/v1/runs/{run_a}/stream", params={"token": token})
    assert stream.status_code == 200 and "event: complete" in stream.text
    other = await keyed.get("/api/v1/runs/some-other-run/stream", params={"token": token})
    assert other.status_code == 401
    forged = await keyed.get(f"/api/v1/runs/{run_a}/stream", params={"token": token[:-2] + "xx"})
    assert forged.status_code == 401


def test_expired_and_hashed_keys(tmp_path: Path, make_settings: Callable[..., Settings]) -> None:
    keyfile = tmp_path / "keys"
    keyfile.write_text(f"# team keys\n{hashlib.sha256(b'from-file').hexdigest()}\n")
    policy = AccessPolicy(make_settings(api_keys_file=keyfile, stream_token_ttl_seconds=10))
    assert policy.key_ok("from-file") and not policy.key_ok("from-fil") and not policy.key_ok(None)
    token, expires = policy.issue_stream_token("r1")
    assert policy.stream_token_ok(token, "r1") and not policy.stream_token_ok(token, "r2")
    stale = f"{expires - 3600}.{token.split('.', 1)[1]}"
    assert not policy.stream_token_ok(stale, "r1"), "an expired (re-dated) token must fail"
    assert AccessPolicy(make_settings()).key_ok(None), "no keys configured: open"


async def test_body_limit_and_active_run_limit(keyed: httpx.AsyncClient, git_repo: Path) -> None:
    auth = {"X-API-Key": KEY}
    big = _run_body(git_repo) | {"prompt": "x" * 2_000_000}
    res = await keyed.post("/api/v1/runs", json=big, headers=auth)
    assert res.status_code == 413 and res.json()["error"]["code"] == "payload_too_large"
    first = await keyed.post("/api/v1/runs", json=_run_body(git_repo, "sleep 30"), headers=auth)
    assert first.status_code == 202
    second = await keyed.post("/api/v1/runs", json=_run_body(git_repo), headers=auth)
    assert second.status_code == 429
    assert int(second.headers["Retry-After"]) > 0
    await keyed.post(f"/api/v1/runs/{first.json()['run_id']}/cancel", headers=auth)
    third = await keyed.post("/api/v1/runs", json=_run_body(git_repo), headers=auth)
    assert third.status_code == 202, "capacity frees when a run ends"


async def test_stream_slots_per_client() -> None:
    slots = StreamSlots(per_client=1)
    slots.check("10.0.0.1")
    with pytest.raises(RuntimeError), slots.holding("10.0.0.1"):
        with pytest.raises(TooBusy):
            slots.check("10.0.0.1")
        slots.check("10.0.0.2")  # another client is not affected
        raise RuntimeError("the stream fails")
    slots.check("10.0.0.1")  # released when the stream ends, however it ends


async def test_cors_only_for_listed_origins(make_settings: Callable[..., Settings]) -> None:
    from app.main import create_app

    for origins, allowed in ((None, False), ("https://ok.example", True)):
        app = create_app(make_settings(cors_origins=origins))
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
                res = await c.options(
                    "/api/v1/runs",
                    headers={
                        "Origin": "https://ok.example",
                        "Access-Control-Request-Method": "POST",
                    },
                )
                got = res.headers.get("access-control-allow-origin")
                assert (got == "https://ok.example") is allowed, (origins, res.headers)
                evil = await c.get("/api/v1/health", headers={"Origin": "https://evil.example"})
                assert "access-control-allow-origin" not in evil.headers


async def test_a_stream_keeps_cors_headers_when_it_runs_outside_the_routing_layers(
    make_settings: Callable[..., Settings], git_repo: Path
) -> None:
    from app.main import create_app

    app = create_app(make_settings(cors_origins="https://ok.example"))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t", timeout=60) as c:
            accepted = (await c.post("/api/v1/runs", json=_run_body(git_repo))).json()
            origin = {"Origin": "https://ok.example"}
            async with c.stream("GET", accepted["stream_url"], headers=origin) as res:
                assert res.headers.get("access-control-allow-origin") == "https://ok.example"
                assert res.headers["content-type"].startswith("text/event-stream")
                body = b"".join([chunk async for chunk in res.aiter_bytes()])
    assert body.startswith(b"retry: 2000\n\n")
    assert b"event: complete" in body
