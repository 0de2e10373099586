"""The judge as stored on the run (`runs.judge`) and as the API reads it."""

from __future__ import annotations

from typing import Any

from app.models import Run

# The judge's gateway identity: a variation id no variation has (they count from 0).
JUDGE_IDENTITY = -1


def ranks_of(run: Run) -> dict[int, int]:
    """Variation id -> the judge's rank (empty without a judge or when it failed)."""
    verdicts = run.judge.get("verdicts") if run.judge.get("status") == "ok" else None
    if not isinstance(verdicts, dict):
        return {}
    return {int(vid): int(said["rank"]) for vid, said in verdicts.items()}


def verdict_of(run: Run, variation_id: int) -> dict[str, Any] | None:
    """`{"rank", "verdict", "rationale"}` for one variation, or None."""
    if run.judge.get("status") != "ok":
        return None
    said = (run.judge.get("verdicts") or {}).get(str(variation_id))
    return dict(said) if isinstance(said, dict) else None


def run_judge(run: Run) -> dict[str, Any] | None:
    """`{"model", "status", "error", "cost_usd", "calls"}`, or None before the judge ran."""
    if not run.judge.get("model") or "status" not in run.judge:
        return None
    return {
        "model": run.judge["model"],
        "status": run.judge["status"],
        "error": run.judge.get("error"),
        "cost_usd": round(float(run.judge.get("cost_usd") or 0.0), 6),
        "calls": int(run.judge.get("calls") or 1),
    }


def judge_cost(run: Run) -> float:
    """What the judge's calls cost together (0 without one)."""
    return float(run.judge.get("cost_usd") or 0.0)
