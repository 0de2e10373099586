"""What a runner backend gets for one variation: the run, its spec, and how to reach the host."""

from __future__ import annotations

from pathlib import Path

from app.errors import RepoError
from app.events.log import EventLog
from app.models import Run, Variation
from app.runners.base import (
    AgentSpec,
    Capabilities,
    GatewayRoute,
    LineDelivery,
    TreeLocation,
    VariationJob,
)
from app.runs import repository as repo
from app.runs.ports import Gatekeeper, ModelAccess, Workspaces
from app.runs.relay import new_relay_token, relay_path
from app.runs.setup_phase import SetupResult


async def prepare_job(
    run: Run,
    variation: Variation,
    ready: SetupResult,
    *,
    egress: Path | None,
    capabilities: Capabilities,
    workspaces: Workspaces,
    gateway: Gatekeeper | None,
    events: EventLog,
    server_url: str,
    workspace: Path | None = None,
) -> VariationJob:
    """A working tree, a gateway identity and (for relaying backends) a relay token.

    `workspace`: the variation's existing tree (a follow-up turn); else a new one is made.
    """
    vid = variation.variation_id
    if workspace is None:
        workspace = await _new_workspace(run, vid, ready, workspaces)
    else:
        workspace = await workspaces.reopen_worktree(run_id=run.id, variation_id=vid)
    model = variation.spec.get("model")
    access = (
        None
        if gateway is None
        else gateway.access_for(run.id, vid, model=model if isinstance(model, str) else None)
    )
    relay_url = relay_token = None
    if capabilities.lines is LineDelivery.RELAY:
        relay_token, digest = new_relay_token()
        await events.write(statements=[repo.set_variation(run.id, vid, relay_token_sha256=digest)])
        relay_url = server_url + relay_path(run.id, vid)
    # Only a backend that clones where the agent runs (a container) needs the git token.
    git_token = None
    if capabilities.tree is TreeLocation.REMOTE:
        git_token = await workspaces.git_token(run.repo_url)
    return variation_job(
        run,
        variation,
        workspace=workspace,
        ready=ready,
        access=access,
        capabilities=capabilities,
        relay=(relay_url, relay_token),
        git_token=git_token,
        egress=egress,
        source=workspaces.source_of(run.id),
    )


async def _new_workspace(run: Run, vid: int, ready: SetupResult, workspaces: Workspaces) -> Path:
    """A fresh tree: base_sha (or the set-up tree), plus a fork's parent diff."""
    if ready.tree is not None:
        workspace = await workspaces.copy_tree(ready.tree, run_id=run.id, variation_id=vid)
    else:
        workspace = await workspaces.add_worktree(
            run_id=run.id, variation_id=vid, base_sha=ready.base
        )
    if run.parent_diff:
        try:
            await workspaces.apply_patch(workspace, run.parent_diff)
        except RepoError as exc:
            raise RepoError(
                f"the forked variation's diff does not apply to this run's starting tree: "
                f"{exc.message}"
            ) from None
    return workspace


def variation_job(
    run: Run,
    variation: Variation,
    *,
    workspace: Path,
    ready: SetupResult,
    access: ModelAccess | None,
    capabilities: Capabilities,
    relay: tuple[str | None, str | None],
    git_token: str | None,
    egress: Path | None,
    source: dict[str, str] | None = None,
) -> VariationJob:
    """The job for one variation; the gateway is reached the way the backend says it can."""
    relay_url, relay_token = relay
    route = capabilities.gateway
    return VariationJob(
        run_id=run.id,
        variation_id=variation.variation_id,
        prompt=run.prompt,
        spec=AgentSpec.from_stored(variation.spec),
        workspace=workspace,
        repo_url=run.repo_url,
        base_sha=ready.base,
        ref=run.ref,
        source=dict(source or {}),
        timeout_seconds=run.timeout_seconds,
        env=dict(variation.spec.get("env") or {}),
        gateway_socket=(
            access.socket if access is not None and route is GatewayRoute.UNIX_SOCKET else None
        ),
        gateway_url=access.url if access is not None and route is GatewayRoute.TCP else None,
        gateway_token=None if access is None else access.token,
        relay_url=relay_url,
        relay_token=relay_token,
        git_token=git_token,
        setup_command=ready.plan.command,
        setup_tree=ready.tree_sha,
        setup_source=ready.plan.source,
        network=str(run.setup.get("network") or "none"),
        egress_socket=egress,
        image=ready.plan.image,
        parent=run.parent or None,
    )
