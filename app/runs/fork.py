"""Fork: a new run whose variations start from one finished variation's tree.

The starting tree is always the parent variation's *stored diff* applied to the parent's
base commit (after the run's setup, like any run), never its workspace: the diff is what
the API shows and scores, it outlives the workspace (retention, restarts), and its sha256
names exactly what the fork started from. The new run keeps the parent's repository and
base commit (`ref` is the parent's `base_sha`), so its diffs, which include the parent's
change, are one patch to the user's repository.
"""

from __future__ import annotations

import hashlib
from typing import Any

from pydantic import ValidationError

from app.errors import InvalidInput
from app.models import Run, Variation
from app.schemas import EarlyStopPassing, ForkCreate, RunCreate, VariationSpec
from app.status import VariationStatus

_UNFINISHED = (VariationStatus.QUEUED, VariationStatus.RUNNING)


def refusal(run: Run, variation: Variation, *, remote_tree: bool) -> str | None:
    """Why this variation cannot be forked now (a 409), or None."""
    vid = variation.variation_id
    if remote_tree:
        return (
            f"the {run.backend!r} backend starts every agent from the base commit; "
            "forks need the local or process backend"
        )
    if variation.status in _UNFINISHED:
        return f"variation {vid} is {variation.status}; fork it once it has finished"
    if not run.base_sha:
        return "the run ended before its repository was prepared; it has no tree to fork"
    if not variation.diff:
        return (
            f"variation {vid} ({variation.status}) changed nothing, so there is no tree to "
            "fork; start a new run instead"
        )
    return None


def lineage(run: Run, variation: Variation) -> dict[str, Any]:
    """The new run's `parent`: the run, the variation and the sha256 of the diff it starts from."""
    diff = variation.diff or ""
    return {
        "run_id": run.id,
        "variation_id": variation.variation_id,
        "diff_sha256": hashlib.sha256(diff.encode("utf-8")).hexdigest(),
    }


def _inherited(body: ForkCreate, name: str, parent_value: Any) -> Any:
    """The body's value when it gave one (null included), else the parent run's."""
    return getattr(body, name) if name in body.model_fields_set else parent_value


def run_spec(
    run: Run, variation: Variation, body: ForkCreate, *, parent_count: int, images: bool
) -> RunCreate:
    """The new run's spec: the body's fields over the parent run's."""
    count = parent_count if body.variations is None else body.variations
    defaults = body.agent_config
    if defaults is None and not isinstance(count, list):
        defaults = VariationSpec.model_validate(variation.spec)
    check = _inherited(body, "check_command", run.check_command)
    passing = run.early_stop.get("passing")
    size = count if isinstance(count, int) else len(count)
    early: Any = (
        EarlyStopPassing(passing=min(passing, size))
        if isinstance(passing, int) and check and size > 0
        else "never"
    )
    setup = run.setup
    try:
        return RunCreate(
            repo_url=run.repo_url,
            ref=run.base_sha,
            prompt=body.prompt,
            variations=count,
            agent_config=defaults,
            check_command=check,
            timeout_seconds=body.timeout_seconds or run.timeout_seconds,
            budget_usd=_inherited(body, "budget_usd", run.budget_usd),
            winner_policy=body.winner_policy or run.winner_policy,
            setup_command=setup.get("command") if setup.get("source") == "spec" else None,
            setup_timeout_seconds=setup.get("timeout_seconds"),
            network=setup.get("network") or "none",
            image=setup.get("image") if images else None,
            early_stop=early,
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "body"
        raise InvalidInput(f"{field}: {first['msg']}", details={"field": field}) from None
