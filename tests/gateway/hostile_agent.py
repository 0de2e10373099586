"""A hostile `command` agent: it tries what the key could do, then its own model's call."""

from __future__ import annotations

import json
from typing import Any

from tests.gateway.fake_anthropic import FakeAnthropic

OWN_MODEL = "claude-sonnet-4-5"
SCRIPT = r"""
import json, os, urllib.request, urllib.error
base, key = os.environ["ANTHROPIC_BASE_URL"], os.environ["ANTHROPIC_API_KEY"]
def body(model="claude-sonnet-4-5", max_tokens=1024):
    return {"model": model, "max_tokens": max_tokens,
            "messages": [{"role": "user", "content": "hi"}]}
attempts = [
    ("GET", "/v1/files", None),
    ("DELETE", "/v1/files/x", None),
    ("POST", "/v1/complete", {"prompt": "x", "model": "claude-2"}),
    ("PUT", "/v1/messages", body()),
    ("POST", "/v1/messages", body(model="claude-opus-4-5")),
    ("POST", "/v1/messages", body(max_tokens=10_000_000)),
    ("POST", "/v1/messages", body()),
]
for method, path, payload in attempts:
    data = None if payload is None else json.dumps(payload).encode()
    request = urllib.request.Request(base + path, data=data, method=method, headers={
        "x-api-key": key, "content-type": "application/json", "anthropic-version": "2023-06-01"})
    try:
        with urllib.request.urlopen(request, timeout=20) as reply:
            status = reply.status
    except urllib.error.HTTPError as error:
        status = error.code
    print("attempt", method, path, status, flush=True)
"""
REFUSED = [
    ("GET", "/v1/files", "endpoint"),
    ("DELETE", "/v1/files/x", "endpoint"),
    ("POST", "/v1/complete", "endpoint"),
    ("PUT", "/v1/messages", "endpoint"),
    ("POST", "/v1/messages", "model"),
    ("POST", "/v1/messages", "max_tokens"),
]


def spec() -> dict[str, Any]:
    """The variation: a command agent whose spec names its own model."""
    return {"agent": "command", "model": OWN_MODEL, "command": ["python3", "-c", SCRIPT]}


def assert_contained(
    events: list[Any], run: dict[str, Any], upstream: FakeAnthropic, canary: str
) -> None:
    """Six refusals (403, events, manifest); only the own-model call went out, with the key."""
    texts = [json.loads(e.data).get("text") or "" for e in events if e.event == "agent_output"]
    statuses = [text.split()[-1] for text in texts if text.startswith("attempt ")]
    assert statuses == ["403"] * 6 + ["200"], texts

    refusals = [json.loads(e.data) for e in events if e.event == "gateway_refusal"]
    assert [(r["method"], r["path"], r["rule"]) for r in refusals] == REFUSED
    assert all(r["variation_id"] == 0 and r["status"] == 403 for r in refusals)

    assert [(s.method, s.path) for s in upstream.seen] == [("POST", "/v1/messages")]
    assert dict(upstream.seen[0].headers)["x-api-key"] == canary
    assert json.loads(upstream.seen[0].body)["model"] == OWN_MODEL

    manifest = run["variations"][0]["manifest"]
    assert manifest["models_used"] == {OWN_MODEL: 1}
    assert manifest["gateway_refusals"] == {"endpoint": 4, "model": 1, "max_tokens": 1}
