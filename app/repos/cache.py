"""RepoCache: clone each repository once per run, then one cheap working tree per variation."""

from __future__ import annotations

import asyncio
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import structlog

from app.errors import RepoError
from app.repos.base_files import list_blobs, read_blob
from app.repos.credentials import GitCredential, GitCredentials, explain_auth_failure
from app.repos.directories import copy_directory, list_names, remove_tree
from app.repos.git_process import GitSettings
from app.repos.layers import OverlayTrees
from app.repos.layout import PARTIAL_MARK, CacheLayout, check_run_id
from app.repos.mirror import resolve_ref, sync_mirror
from app.repos.overlay import probe
from app.repos.refs import check_ref_syntax, is_full_sha
from app.repos.snapshot import earlier_snapshot, is_repository_root, snapshot_folder
from app.repos.url_policy import CheckedRepoUrl, Resolver, check_repo_url_details
from app.repos.workspace import apply_patch, check_out, seed_repository, settle_index

log = structlog.get_logger()

MIB = 1024**2
GIB = 1024**3


@dataclass(frozen=True)
class RemoteAccess:
    """How to reach one repository from the host: URL, mirror, git settings, mirror lock."""

    checked: CheckedRepoUrl
    mirror: Path
    settings: GitSettings
    lock: asyncio.Lock
    limit_seconds: float
    max_bytes: int


class RepoCache:
    """Hardened clone cache: bare mirrors keyed by URL, workspaces keyed by run and variation."""

    def __init__(
        self,
        root: Path,
        *,
        clone_timeout: float = 300,
        max_repo_bytes: int = 2 * GIB,
        max_snapshot_bytes: int = 200 * MIB,
        allow_local: bool = False,
        resolver: Resolver | None = None,
        git_binary: str = "git",
        credentials: GitCredentials | None = None,
        link_objects: bool = False,
        overlay: bool = False,
        tree_owner: tuple[int, int] | None = None,
    ) -> None:
        """`link_objects`: workspaces hardlink the mirror's object files instead of copying
        them; only when agents run as a host user other than the server's (see workspace.py).
        `overlay`: each variation's workspace is an overlay mount over one base tree per run
        when this host can mount one (else a full checkout each; see layers.py).
        `tree_owner`: uid:gid the sandbox user is on the host; a shared base is handed to it
        once, before it is mounted (None: the trees stay the server's).
        """
        self.link_objects = link_objects
        self._overlay_wanted = overlay
        self._overlay_on: bool | None = None  # decided at first use
        self._overlay_lock = asyncio.Lock()
        self.layout = CacheLayout(root.absolute())
        self.clone_timeout = clone_timeout
        self.max_repo_bytes = max_repo_bytes
        self.max_snapshot_bytes = max_snapshot_bytes
        self.allow_local = allow_local
        self._resolver = resolver
        self._git_binary = git_binary
        self._credentials = credentials or GitCredentials()
        self._locks: dict[str, asyncio.Lock] = {}
        self._synced: set[tuple[str, str]] = set()  # (run_id, mirror name) fetched this run
        self._run_mirrors: dict[str, Path] = {}
        self._sources: dict[str, dict[str, str]] = {}  # run id -> how its base commit was made
        self._cloning: set[str] = set()  # mirror names whose first clone is under way
        self._trees = OverlayTrees(self.layout, owner=tree_owner)

    def workspace_path(self, run_id: str, variation_id: int) -> Path:
        """Where variation n of a run has its working tree."""
        return self.layout.workspace_path(run_id, variation_id)

    def _settings(
        self, checked: CheckedRepoUrl | None, credential: GitCredential | None = None
    ) -> GitSettings:
        """Git settings for a remote (None: our own mirror, reached as a local path)."""
        kind = checked.kind if checked is not None else "path"
        return GitSettings(
            home=self.layout.git_home,
            template_dir=self.layout.template_dir,
            allow_http=kind == "http",
            allow_file=kind in ("path", "file"),
            git_binary=self._git_binary,
            credential=credential if kind in ("https", "http") else None,
        )

    async def remote(self, repo_url: str) -> RemoteAccess:
        """The checked URL, its mirror and the git settings (with its credential) to reach it."""
        checked = await check_repo_url_details(
            repo_url, allow_local=self.allow_local, resolver=self._resolver
        )
        await self._make_dirs()
        credential = await self._credentials.for_url(checked.url)
        mirror = self.layout.mirror_dir(checked.url)
        if checked.kind in ("path", "file"):
            folder = Path(checked.url.removeprefix("file://"))
            if not await asyncio.to_thread(is_repository_root, folder):
                # A snapshotted folder: its base commits live in the snapshot repository.
                mirror = self.layout.mirror_dir(f"snapshot:{folder}")
        return RemoteAccess(
            checked=checked,
            mirror=mirror,
            settings=self._settings(checked, credential),
            lock=self._lock(mirror),
            limit_seconds=self.clone_timeout,
            max_bytes=self.max_repo_bytes,
        )

    def _lock(self, mirror: Path) -> asyncio.Lock:
        return self._locks.setdefault(mirror.name, asyncio.Lock())

    async def _make_dirs(self) -> None:
        for path in (
            self.layout.git_home,
            self.layout.template_dir,
            self.layout.mirrors,
            self.layout.workspaces,
        ):
            await asyncio.to_thread(path.mkdir, parents=True, exist_ok=True)

    async def git_token(self, repo_url: str) -> str | None:
        """The secret stored for this repository's origin (for a backend that clones remotely)."""
        credential = await self._credentials.for_url(repo_url)
        return None if credential is None else credential.password

    async def prepare(self, *, run_id: str, repo_url: str, ref: str | None) -> str:
        """Clone or fetch the repository once per run; return the commit sha `ref` names."""
        check_run_id(run_id)
        if ref is not None:
            check_ref_syntax(ref)
        access = await self.remote(repo_url)
        checked, mirror, settings = access.checked, access.mirror, access.settings
        if checked.kind in ("path", "file"):
            folder = Path(checked.url.removeprefix("file://"))
            if not await asyncio.to_thread(is_repository_root, folder):
                return await self._prepare_snapshot(run_id, folder, ref)
        async with access.lock:
            if (run_id, mirror.name) not in self._synced:
                started = asyncio.get_running_loop().time()
                self._cloning.add(mirror.name)
                try:
                    how = await sync_mirror(
                        checked,
                        mirror,
                        settings=settings,
                        limit_seconds=self.clone_timeout,
                        max_bytes=self.max_repo_bytes,
                    )
                except RepoError as error:
                    raise explain_auth_failure(
                        error, checked.host, had_credential=settings.credential is not None
                    ) from None
                finally:
                    self._cloning.discard(mirror.name)
                self._synced.add((run_id, mirror.name))
                log.info(
                    "repo_synced",
                    run_id=run_id,
                    repo_url=checked.url,
                    how=how,
                    seconds=round(asyncio.get_running_loop().time() - started, 3),
                )
            sha = await resolve_ref(
                checked,
                mirror,
                ref,
                settings=settings,
                limit_seconds=self.clone_timeout,
                max_bytes=self.max_repo_bytes,
            )
        self._run_mirrors[run_id] = mirror
        self._sources[run_id] = {"source": "commit", "sha": sha}
        return sha

    async def _prepare_snapshot(self, run_id: str, folder: Path, ref: str | None) -> str:
        """Snapshot a plain folder (or a repository's subfolder) into its own bare repository.

        The repository keeps every snapshot's objects: a run that started from an earlier
        snapshot of the same folder still finds its base commit, and `ref` may name one
        (a full commit id) to start from it again without a new snapshot.
        """
        mirror = self.layout.mirror_dir(f"snapshot:{folder}")
        seconds = self.clone_timeout
        if ref is not None and is_full_sha(ref):  # an earlier snapshot (a fork's base)
            async with self._lock(mirror):
                snap = await earlier_snapshot(
                    mirror, ref, settings=self._settings(None), limit_seconds=seconds
                )
        elif ref not in (None, "HEAD"):
            raise RepoError(
                "ref names a commit, but repo_url is a folder that is not a git repository's "
                "root (its files are snapshotted as they are); leave ref out",
                details={"field": "ref"},
            )
        else:
            async with self._lock(mirror):
                snap = await snapshot_folder(
                    folder,
                    mirror,
                    settings=self._settings(None),
                    max_bytes=self.max_snapshot_bytes,
                    limit_seconds=seconds,
                )
        log.info("repo_snapshotted", run_id=run_id, files=snap.files, bytes=snap.bytes, ref=ref)
        self._run_mirrors[run_id] = mirror
        self._sources[run_id] = {"source": "snapshot", "tree": snap.tree}
        return snap.commit

    def source_of(self, run_id: str) -> dict[str, str]:
        """How a prepared run's base commit was made: a repository's commit or a snapshot."""
        return dict(self._sources.get(run_id, {}))

    async def uses_overlay(self) -> bool:
        """Whether workspaces are overlay mounts (probed once; the reason logged if not)."""
        async with self._overlay_lock:
            if self._overlay_on is None:
                why: str | None = "turned off (AIDEATOR_WORKSPACE_OVERLAY=off)"
                if self._overlay_wanted:
                    why = await asyncio.to_thread(probe, self.layout.root / ".overlay-probe")
                self._overlay_on = why is None
                log.info("workspace_overlay", on=self._overlay_on, reason=why)
            return self._overlay_on

    async def add_worktree(self, *, run_id: str, variation_id: int, base_sha: str) -> Path:
        """Create variation n's own working tree at base_sha (replacing any old one)."""
        workspace = self.workspace_path(run_id, variation_id)
        if await self.uses_overlay():
            self._check_base(run_id, base_sha)
            lower = await self._trees.base(
                run_id,
                f"commit-{base_sha}",
                lambda path: self._check_out_tree(path, run_id=run_id, base_sha=base_sha),
                settle=self._refresh_index,
            )
            await self._trees.mount(run_id, variation_id, lower)
        else:
            await self._check_out_tree(workspace, run_id=run_id, base_sha=base_sha)
        log.info("workspace_ready", run_id=run_id, variation_id=variation_id, base_sha=base_sha)
        return workspace

    async def reopen_worktree(self, *, run_id: str, variation_id: int) -> Path:
        """A kept workspace, ready to use: its overlay mounted again if the mount is gone."""
        await self._trees.remount(run_id, variation_id)
        return self.workspace_path(run_id, variation_id)

    async def add_setup_tree(self, *, run_id: str, base_sha: str) -> Path:
        """A working tree at base_sha where the run's setup command runs."""
        tree = self.layout.run_dir(run_id) / "setup"
        await self._check_out_tree(tree, run_id=run_id, base_sha=base_sha)
        return tree

    async def copy_tree(self, source: Path, *, run_id: str, variation_id: int) -> Path:
        """Variation n's working tree as a copy of a set-up tree (reflinks where possible)."""
        workspace = self.workspace_path(run_id, variation_id)
        if await self.uses_overlay():
            if _within(source, self.layout.run_dir(run_id)):
                lower = await self._trees.base(run_id, str(source), None)  # the run's own
            else:  # a cached tree: linked into the run's folder, so eviction cannot take it
                key = "copy-" + hashlib.sha256(str(source).encode()).hexdigest()[:16]
                lower = await self._trees.base(
                    run_id, key, lambda path: copy_directory(source, path, link=True)
                )
            return await self._trees.mount(run_id, variation_id, lower)
        await asyncio.to_thread(remove_tree, workspace)
        await asyncio.to_thread(workspace.parent.mkdir, parents=True, exist_ok=True)
        await copy_directory(source, workspace)
        return workspace

    async def _refresh_index(self, tree: Path) -> None:
        error = await settle_index(
            tree, settings=self._settings(None), limit_seconds=self.clone_timeout
        )
        if error is not None:  # not fatal: git in the variations hashes the files again
            log.warning("base_index_refresh_failed", error=error)

    def _check_base(self, run_id: str, base_sha: str) -> Path:
        if not is_full_sha(base_sha):
            raise RepoError("base_sha must be a full commit sha", details={"field": "base_sha"})
        mirror = self._run_mirrors.get(run_id)
        if mirror is None:
            raise RepoError(f"run {run_id} has no prepared repository; call prepare() first")
        return mirror

    async def _check_out_tree(self, workspace: Path, *, run_id: str, base_sha: str) -> None:
        mirror = self._check_base(run_id, base_sha)
        await asyncio.to_thread(remove_tree, workspace)
        await asyncio.to_thread(workspace.parent.mkdir, parents=True, exist_ok=True)
        settings = self._settings(None)
        seconds, max_bytes = self.clone_timeout, self.max_repo_bytes
        try:
            # Under the URL lock: a concurrent fetch must not change files being copied.
            async with self._lock(mirror):
                copied = await asyncio.to_thread(
                    seed_repository, mirror, workspace, link_objects=self.link_objects
                )
            await check_out(
                workspace,
                base_sha,
                settings=settings,
                limit_seconds=seconds,
                max_bytes=max_bytes,
                copied_bytes=copied,
            )
        except BaseException:
            await asyncio.to_thread(remove_tree, workspace)
            raise

    async def read_file(self, *, run_id: str, base_sha: str, path: str) -> str | None:
        """A file's text at base_sha from the run's mirror (no checkout); None if absent."""
        mirror = self._run_mirrors.get(run_id)
        if mirror is None or not is_full_sha(base_sha):
            return None
        return await read_blob(
            mirror, base_sha, path, settings=self._settings(None), limit_seconds=self.clone_timeout
        )

    async def list_files(
        self, *, run_id: str, base_sha: str, folders: tuple[str, ...] = ("", "tests", "test")
    ) -> list[str]:
        """Paths of the files directly in these folders at base_sha (git objects only)."""
        mirror = self._run_mirrors.get(run_id)
        if mirror is None or not is_full_sha(base_sha):
            return []
        return await list_blobs(
            mirror,
            base_sha,
            folders,
            settings=self._settings(None),
            limit_seconds=self.clone_timeout,
        )

    async def apply_patch(self, workspace: Path, patch: str) -> None:
        """Apply a variation's diff to its (untouched) host workspace, e.g. before a check.

        Only for trees the agent never ran in (the dagger backend): git must not run on a
        workspace an agent has written, whose config could run its commands on the host.
        """
        await apply_patch(
            workspace, patch, settings=self._settings(None), limit_seconds=self.clone_timeout
        )

    async def remove_run(self, run_id: str) -> None:
        """Delete every workspace of a run (the mirror stays for later runs)."""
        run_dir = self.layout.run_dir(run_id)
        await asyncio.to_thread(remove_tree, run_dir)
        self._trees.forget_run(run_id)
        self._run_mirrors.pop(run_id, None)
        self._sources.pop(run_id, None)
        self._synced = {key for key in self._synced if key[0] != run_id}
        log.info("run_workspaces_removed", run_id=run_id)

    async def run_ids_on_disk(self) -> list[str]:
        """The runs that have a workspace folder (kept or left behind)."""
        return await asyncio.to_thread(list_names, self.layout.workspaces)

    async def sweep_orphans(self, active_run_ids: set[str]) -> list[Path]:
        """Remove workspaces of runs not in `active_run_ids` and abandoned partial clones.

        A kept run's overlay workspaces whose mounts are gone (after a reboot) are mounted
        again from their layers.
        """
        removed: list[Path] = []
        for folder, keep in (
            (self.layout.workspaces, lambda name: name in active_run_ids),
            (self.layout.mirrors, self._keep_mirror_entry),
        ):
            names = await asyncio.to_thread(list_names, folder)
            for name in names:
                if not keep(name):
                    path = folder / name
                    if await asyncio.to_thread(remove_tree, path):
                        removed.append(path)
        if removed:
            log.info("orphans_swept", count=len(removed))
        for run_id in sorted(active_run_ids):
            try:
                await self._trees.remount_run(run_id)
            except RepoError as exc:
                log.warning("workspace_remount_failed", run_id=run_id, error=exc.message)
        return removed

    def _keep_mirror_entry(self, name: str) -> bool:
        if PARTIAL_MARK not in name:
            return True
        return name.split(PARTIAL_MARK, 1)[0] in self._cloning


def _within(path: Path, folder: Path) -> bool:
    """True when `path` lies inside `folder` (by name: both absolute, no symlinks)."""
    return os.path.abspath(path).startswith(os.path.abspath(folder) + os.sep)
