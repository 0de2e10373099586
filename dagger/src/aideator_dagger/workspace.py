"""The workspace every function starts from: one source, cloned or committed, then set up."""

from __future__ import annotations

import dagger

from .containers import clone, committed_source, refuse_ssh_url, set_up


class SetupFailed(Exception):
    """The --setup-command exited non-zero; no agent ran."""


def require_one_source(repo_url: str, source: dagger.Directory | None) -> None:
    """Exactly one of --repo-url and --source, and no SSH URL."""
    if bool(repo_url) == (source is not None):
        raise ValueError("pass exactly one of --repo-url and --source")
    if repo_url:
        refuse_ssh_url(repo_url)


def workspace_tree(
    image: dagger.Container,
    owner: str,
    repo_url: str,
    ref: str,
    source: dagger.Directory | None,
    token: dagger.Secret | None = None,
) -> dagger.Directory:
    """The repository tree: `source` committed as the base, or `repo_url` cloned at `ref`."""
    require_one_source(repo_url, source)
    if source is not None:
        return committed_source(image, source, owner)
    return clone(repo_url, ref, token)


async def run_setup(workspace: dagger.Container, setup_command: str) -> dagger.Container:
    """Run the setup command now, so a failure is reported as such and no agent starts."""
    if not setup_command.strip():
        return workspace
    try:
        return await set_up(workspace, setup_command).sync()
    except dagger.ExecError as exc:
        lines = (exc.stdout + exc.stderr).strip().splitlines()[-20:]
        raise SetupFailed(
            f"--setup-command failed with exit code {exc.exit_code}; last lines:\n"
            + "\n".join(lines)
        ) from None
