"""The new-run form's early stop, judge and synthesis controls make the run spec; lineage shows."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.server_process import ServerProcess

pytestmark = pytest.mark.e2e

CHECK = "python3 -m unittest -q"


def _fill(page: Any, server: ServerProcess, repo: Path, models: list[str]) -> None:
    page.goto(f"{server.url}/#/")
    page.fill("[name=repo_url]", str(repo))
    page.fill("[name=prompt]", "Fix the failing test.")
    page.fill("[name=check_command]", CHECK)
    page.fill("input.count", str(len(models)))
    for i, model in enumerate(models):
        page.fill(f"[name='variations.{i}.model']", model)


def _sent_spec(page: Any) -> dict[str, Any]:
    """Submit; the body the form POSTs (answered here with a 422, so no run starts)."""
    bodies: list[dict[str, Any]] = []

    def answer(route: Any) -> None:
        bodies.append(json.loads(route.request.post_data))
        route.fulfill(
            status=422,
            content_type="application/json",
            body=json.dumps({"error": {"code": "validation_error", "message": "held"}}),
        )

    page.route("**/api/v1/runs", answer)
    page.click("form.run-form button[type=submit]")
    page.locator(".run-form .form-error").wait_for()
    assert len(bodies) == 1
    return bodies[0]


def test_controls_produce_the_spec(page: Any, web_server: ServerProcess, web_repo: Path) -> None:
    _fill(
        page, web_server, web_repo, ["scripted/fix-correct", "scripted/fix-alt", "scripted/fix-bad"]
    )
    assert page.locator("[name='early_stop.passing']").is_hidden()
    page.select_option("[name=early_stop]", "passing")
    page.fill("[name='early_stop.passing']", "2")
    page.fill("[name='synthesize.top']", "3")
    page.fill("[name='synthesize.model']", "scripted/synthesize-median")
    page.fill("[name='judge.model']", "scripted/judge")
    page.fill("[name='judge.instructions']", "Prefer the smaller change.")
    spec = _sent_spec(page)
    assert spec["judge"] == {
        "model": "scripted/judge",
        "instructions": "Prefer the smaller change.",
    }
    assert spec["early_stop"] == {"passing": 2}
    assert spec["synthesize"] == {"top": 3, "model": "scripted/synthesize-median"}
    assert spec["check_command"] == CHECK


def test_defaults_send_neither(page: Any, web_server: ServerProcess, web_repo: Path) -> None:
    _fill(page, web_server, web_repo, ["scripted/fix-correct"])
    page.select_option("[name=early_stop]", "first_pass")
    spec = _sent_spec(page)
    assert spec["early_stop"] == "first_pass"
    assert "synthesize" not in spec and "judge" not in spec
    page.select_option("[name=early_stop]", "never")
    assert "early_stop" not in _sent_spec(page)


def test_synthesize_below_two_is_a_hint_before_any_request(
    page: Any, web_server: ServerProcess, web_repo: Path
) -> None:
    posts: list[str] = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    _fill(page, web_server, web_repo, ["scripted/fix-correct", "scripted/fix-alt"])
    page.fill("[name='synthesize.top']", "1")
    page.click("form.run-form button[type=submit]")
    error = page.locator("[data-field='synthesize.top'] > .field-error")
    error.wait_for()
    assert "At least 2" in error.inner_text()
    assert posts == []


def test_synthesized_column_appears_with_its_lineage(
    page: Any, web_server: ServerProcess, web_repo: Path
) -> None:
    _fill(page, web_server, web_repo, ["scripted/fix-correct", "scripted/fix-alt"])
    page.fill("[name='synthesize.top']", "2")
    page.fill("[name='synthesize.model']", "scripted/synthesize-median")
    with page.expect_response("**/api/v1/runs") as answer:
        page.click("form.run-form button[type=submit]")
    assert answer.value.status == 202, answer.value.text()
    assert [v["variation_id"] for v in answer.value.json()["variations"]] == [0, 1]
    column = page.locator("section.vcol[data-variation='2']")
    column.wait_for(timeout=120_000)  # made once variations 0 and 1 have ended
    lineage = column.locator(".vcol-lineage")
    assert lineage.inner_text() in (
        "Synthesized from variation 0 and variation 1",
        "Synthesized from variation 1 and variation 0",
    )
    assert "scripted/synthesize-median" in column.locator(".vcol-model").inner_text()
    page.wait_for_function(
        "() => document.querySelector(\"section.vcol[data-variation='2']\")"
        "?.textContent.includes('passed')",
        timeout=120_000,
    )
    # Run again fills the synthesis fields from the run.
    page.goto(f"{web_server.url}/#/new?from={answer.value.json()['run_id']}")
    page.wait_for_function(
        "() => (document.querySelector(\"[name='synthesize.top']\")?.value ?? '') === '2'"
    )
    assert page.input_value("[name='synthesize.model']") == "scripted/synthesize-median"
    assert page.input_value("[name=early_stop]") == "never"
