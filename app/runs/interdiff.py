"""Compare two variations of a run: the diff between their resulting trees."""

from __future__ import annotations

from app.db import Database
from app.delivery.commit import ensure_base
from app.errors import Conflict
from app.models import Run
from app.repos.cache import RepoCache
from app.repos.tree_diff import diff_between
from app.runs.service import get_variation_or_404


async def variation_interdiff(
    *, db: Database, repos: RepoCache, run: Run, variation_id: int, against: int
) -> str:
    """Unified diff from variation `against`'s resulting tree to variation `variation_id`'s.

    Both trees are base_sha plus the variation's stored diff (an empty diff: base_sha itself).
    """
    if run.base_sha is None:
        raise Conflict("the run has no base commit (its repository was never prepared)")
    new = await get_variation_or_404(db, run.id, variation_id)
    old = await get_variation_or_404(db, run.id, against)
    for variation in (new, old):
        if variation.diff is None:
            raise Conflict(
                f"variation {variation.variation_id} has no diff yet "
                f"(it is {variation.status}); compare once it has finished",
                details={"variation_id": variation.variation_id},
            )
    if new.diff == old.diff:
        return ""
    access = await repos.remote(run.repo_url)
    async with access.lock:
        await ensure_base(access, run.base_sha)
    return await diff_between(
        access,
        base_sha=run.base_sha,
        patches={new.variation_id: new.diff or "", old.variation_id: old.diff or ""},
        old=old.variation_id,
        new=new.variation_id,
    )
