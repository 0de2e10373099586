"""The new-run form puts the server's 4xx messages beside the field they name."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.server_process import ServerProcess

pytestmark = pytest.mark.e2e


def fill_form(page: Any, server: ServerProcess, repo: str, **fields: str) -> None:
    page.goto(f"{server.url}/#/")
    page.fill("[name=repo_url]", repo)
    page.fill("[name=prompt]", "Fix the failing test.")
    page.fill("input.count", "1")
    for name, value in fields.items():
        page.fill(f"[name='{name}']", value)


def error_beside(page: Any, field: str) -> Any:
    return page.locator(f"[data-field='{field}'] > .field-error")


@pytest.mark.parametrize(
    ("fields", "field", "server_says"),
    [
        ({"variations.0.model": "scripted/no-such-scenario"}, "variations.0.model", "unknown"),
        ({"ref": "--upload-pack=evil"}, "ref", "ref must be a branch, tag or commit name"),
        ({"repo_url": "/no/such/directory"}, "repo_url", "not a directory"),
    ],
)
def test_server_422_shown_beside_its_field(
    page: Any,
    web_server: ServerProcess,
    web_repo: Path,
    fields: dict[str, str],
    field: str,
    server_says: str,
) -> None:
    fill_form(page, web_server, str(web_repo), **fields)
    with page.expect_response("**/api/v1/runs") as answer:
        page.click("form.run-form button[type=submit]")
    response = answer.value
    assert response.status == 422
    message = response.json()["error"]["message"]
    assert server_says in message

    error = error_beside(page, field)
    error.wait_for()
    assert server_says in error.inner_text()
    control = page.locator(f"[name='{field}']")
    assert control.get_attribute("aria-invalid") == "true"
    assert page.locator("[aria-invalid='true']").count() == 1
    assert page.locator(".run-form .form-error").is_hidden()
    assert page.url.endswith("#/")


def test_variation_count_error_from_server_beside_the_count(
    page: Any, web_server: ServerProcess, web_repo: Path
) -> None:
    fill_form(page, web_server, str(web_repo))
    page.fill("input.count", "9")
    with page.expect_response("**/api/v1/runs") as answer:
        page.click("form.run-form button[type=submit]")
    assert answer.value.status == 422
    error = error_beside(page, "variations")
    error.wait_for()
    assert "between 1 and 5" in error.inner_text()
    assert page.locator("input.count").get_attribute("aria-invalid") == "true"


def test_client_side_hints_before_any_request(page: Any, web_server: ServerProcess) -> None:
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url) if r.method == "POST" else None)
    page.goto(f"{web_server.url}/#/")
    page.fill("[name=repo_url]", "git@github.com:owner/repo.git")
    page.fill("[name=budget_usd]", "0")
    page.click("form.run-form button[type=submit]")
    assert "https://" in error_beside(page, "repo_url").inner_text()
    assert "Describe the task" in error_beside(page, "prompt").inner_text()
    assert "positive" in error_beside(page, "budget_usd").inner_text()
    assert requests == []
