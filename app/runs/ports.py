"""What the supervisor needs from the parts around it (repos, gateway, checks)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from app.runners.base import Checker, CheckOutcome

__all__ = ["CheckOutcome", "Checker", "Gatekeeper", "ModelAccess", "Workspaces"]


class Workspaces(Protocol):
    """Clones once per run and hands out per-variation working trees."""

    async def prepare(self, *, run_id: str, repo_url: str, ref: str | None) -> str:
        """Fetch the repository for a run; return the resolved base commit."""
        ...

    def workspace_path(self, run_id: str, variation_id: int) -> Path:
        """Where variation n of a run has (or had) its working tree."""
        ...

    async def add_worktree(self, *, run_id: str, variation_id: int, base_sha: str) -> Path:
        """A fresh working tree at base_sha for one variation."""
        ...

    async def reopen_worktree(self, *, run_id: str, variation_id: int) -> Path:
        """A kept working tree, ready for a follow-up turn (its mount restored if gone)."""
        ...

    async def add_setup_tree(self, *, run_id: str, base_sha: str) -> Path:
        """A fresh working tree at base_sha where the run's setup command runs."""
        ...

    async def copy_tree(self, source: Path, *, run_id: str, variation_id: int) -> Path:
        """Variation n's working tree as a copy of a set-up tree."""
        ...

    async def read_file(self, *, run_id: str, base_sha: str, path: str) -> str | None:
        """A file's text at base_sha (None when absent)."""
        ...

    async def list_files(self, *, run_id: str, base_sha: str) -> list[str]:
        """Files at base_sha in the root, `tests/` and `test/` (from git objects)."""
        ...

    def source_of(self, run_id: str) -> dict[str, str]:
        """How the run's base commit was made: `{"source": "commit"|"snapshot", ...}`."""
        ...

    async def remove_run(self, run_id: str) -> None:
        """Delete the run's working trees."""
        ...

    async def apply_patch(self, workspace: Path, patch: str) -> None:
        """Apply a diff to a working tree the agent never ran in."""
        ...

    async def git_token(self, repo_url: str) -> str | None:
        """The host-side git secret for a repository's origin, or None."""
        ...


@dataclass(frozen=True)
class ModelAccess:
    """How one variation reaches the model through the gateway."""

    token: str
    url: str | None
    socket: Path | None


class Gatekeeper(Protocol):
    """The LLM gateway as the supervisor sees it."""

    def open_run(self, run_id: str, *, budget_usd: float | None, spent_usd: float = 0.0) -> None:
        """Start metering a run against its budget."""
        ...

    def access_for(self, run_id: str, variation_id: int, *, model: str | None) -> ModelAccess:
        """Issue this variation's identity, pinned to its model."""
        ...

    def record_of(self, run_id: str, variation_id: int) -> dict[str, Any]:
        """What the gateway saw of the variation, for its manifest."""
        ...

    def revoke(self, run_id: str, variation_id: int) -> None:
        """Refuse further requests from this variation."""
        ...

    def cost_of(self, run_id: str, variation_id: int) -> float:
        """USD this identity spent so far, as metered (until close_run)."""
        ...

    def close_run(self, run_id: str) -> None:
        """Forget the run."""
        ...
