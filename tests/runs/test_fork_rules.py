"""Fork rules on stored rows: when a variation can be forked, what the new run inherits."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from app.errors import InvalidInput
from app.models import Run, Variation
from app.runs import fork
from app.schemas import EarlyStopPassing, ForkCreate


def _run(**values: Any) -> Run:
    fields: dict[str, Any] = {
        "id": "r1",
        "repo_url": "https://example.invalid/r.git",
        "ref": "main",
        "base_sha": "a" * 40,
        "prompt": "p",
        "check_command": "make test",
        "backend": "local",
        "status": "succeeded",
        "budget_usd": 1.5,
        "timeout_seconds": 120.0,
        "winner_policy": "best_score",
        "created_at": datetime.now(UTC),
        "setup": {"command": "make deps", "source": "spec", "network": "egress", "image": "x"},
        "early_stop": {"passing": 2},
    }
    return Run.model_validate(fields | values)


def _variation(**values: Any) -> Variation:
    fields: dict[str, Any] = {
        "run_id": "r1",
        "variation_id": 1,
        "status": "succeeded",
        "spec": {"agent": "claude-code", "model": "scripted/fix-correct"},
        "diff": "diff --git a/x b/x\n",
    }
    return Variation.model_validate(fields | values)


@pytest.mark.parametrize(
    ("run", "variation", "remote", "reason"),
    [
        (_run(), _variation(), False, None),
        (_run(status="cancelled"), _variation(status="cancelled"), False, None),  # partial diff
        (_run(), _variation(), True, "forks need the local or process backend"),
        (_run(), _variation(status="running"), False, "fork it once it has finished"),
        (_run(), _variation(diff=""), False, "changed nothing"),
        (_run(), _variation(status="failed", diff=None), False, "changed nothing"),
        (_run(base_sha=None), _variation(), False, "before its repository was prepared"),
    ],
)
def test_refusal(run: Run, variation: Variation, remote: bool, reason: str | None) -> None:
    found = fork.refusal(run, variation, remote_tree=remote)
    assert (found is None) if reason is None else (found is not None and reason in found)


def test_lineage_names_the_diff() -> None:
    assert fork.lineage(_run(), _variation(diff="abc")) == {
        "run_id": "r1",
        "variation_id": 1,
        # sha256 of b"abc"
        "diff_sha256": "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
    }


def test_inherits_what_is_left_out() -> None:
    spec = fork.run_spec(
        _run(), _variation(), ForkCreate(prompt="more"), parent_count=3, images=False
    )
    assert (spec.repo_url, spec.ref, spec.prompt, spec.variations) == (
        "https://example.invalid/r.git", "a" * 40, "more", 3
    )  # fmt: skip
    assert spec.agent_config is not None and spec.agent_config.model == "scripted/fix-correct"
    assert (spec.check_command, spec.budget_usd, spec.timeout_seconds) == ("make test", 1.5, 120)
    assert spec.winner_policy == "best_score" and spec.early_stop == EarlyStopPassing(passing=2)
    assert (spec.setup_command, spec.network, spec.image) == ("make deps", "egress", None)


def test_body_fields_win() -> None:
    body = ForkCreate.model_validate(
        {"prompt": "more", "variations": 1, "check_command": None, "budget_usd": None}
    )
    run = _run(setup={"command": "from devcontainer", "source": "devcontainer"})
    spec = fork.run_spec(run, _variation(), body, parent_count=3, images=True)
    assert spec.variations == 1 and spec.check_command is None and spec.budget_usd is None
    assert spec.early_stop == "never"  # nothing to stop on without a check
    assert spec.setup_command is None  # found again in the repository's devcontainer


def test_early_stop_is_capped_to_the_new_count() -> None:
    body = ForkCreate(prompt="more", variations=1)
    spec = fork.run_spec(_run(), _variation(), body, parent_count=3, images=False)
    assert spec.early_stop == EarlyStopPassing(passing=1)


def test_a_spec_list_does_not_take_the_forked_spec() -> None:
    body = ForkCreate.model_validate(
        {"prompt": "more", "variations": [{"agent": "command", "command": ["true"]}]}
    )
    spec = fork.run_spec(_run(), _variation(), body, parent_count=3, images=False)
    assert spec.agent_config is None


def test_an_unusable_inherited_value_is_a_422() -> None:
    with pytest.raises(InvalidInput) as caught:
        fork.run_spec(
            _run(timeout_seconds=10 * 24 * 3600.0),
            _variation(),
            ForkCreate(prompt="more"),
            parent_count=3,
            images=False,
        )
    assert caught.value.details == {"field": "timeout_seconds"}
