"""Where the clone cache keeps mirrors and per-variation workspaces.

```
<root>/git-home/                   empty HOME for every git call (no user config)
<root>/git-template/               empty template dir (no sample hooks copied)
<root>/mirrors/<key>.git           bare cache of one repository, key = sha256(url)[:32]
<root>/mirrors/<key>.git.partial-* first clone in progress (renamed when complete)
<root>/workspaces/<run_id>/<n>/    variation n's self-contained working tree (or the overlay
                                   mount of the run's base with its own layers on top)
<root>/workspaces/<run_id>/.bases/<key>/   a read-only tree the run's overlays share
<root>/workspaces/<run_id>/.layers/<n>/    variation n's overlay layers: upper/ and work/
```
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from app.errors import RepoError

_RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,127}\Z")
PARTIAL_MARK = ".partial-"


def check_run_id(run_id: str) -> str:
    """A run id is used as a directory name: letters, digits, '-' and '_' only."""
    if not _RUN_ID.match(run_id):
        raise RepoError("run_id is not a safe directory name", details={"field": "run_id"})
    return run_id


def check_variation_id(variation_id: int) -> int:
    """A variation id is a non-negative int."""
    if isinstance(variation_id, bool) or not isinstance(variation_id, int) or variation_id < 0:
        raise RepoError("variation_id must be an int >= 0", details={"field": "variation_id"})
    return variation_id


@dataclass(frozen=True)
class CacheLayout:
    """Paths inside one cache root."""

    root: Path

    @property
    def git_home(self) -> Path:
        """The HOME git runs with."""
        return self.root / "git-home"

    @property
    def template_dir(self) -> Path:
        """The (empty) template directory for new repositories."""
        return self.root / "git-template"

    @property
    def mirrors(self) -> Path:
        """The directory holding one bare mirror per repository URL."""
        return self.root / "mirrors"

    @property
    def workspaces(self) -> Path:
        """The directory holding one sub-directory per run."""
        return self.root / "workspaces"

    def mirror_dir(self, normalized_url: str) -> Path:
        """The bare mirror for a (policy-normalized) repository URL."""
        key = hashlib.sha256(normalized_url.encode("utf-8")).hexdigest()[:32]
        return self.mirrors / f"{key}.git"

    def run_dir(self, run_id: str) -> Path:
        """The directory holding a run's workspaces."""
        return self.workspaces / check_run_id(run_id)

    def workspace_path(self, run_id: str, variation_id: int) -> Path:
        """Variation n's working tree."""
        return self.run_dir(run_id) / str(check_variation_id(variation_id))

    def base_dir(self, run_id: str, key: str) -> Path:
        """A read-only tree the run's overlay workspaces share (key: what it holds)."""
        return self.run_dir(run_id) / ".bases" / key

    def layers_dir(self, run_id: str, variation_id: int) -> Path:
        """Variation n's overlay layers (`upper`, `work`)."""
        return self.run_dir(run_id) / ".layers" / str(check_variation_id(variation_id))
