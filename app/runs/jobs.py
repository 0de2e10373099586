"""What a runner backend gets for one variation: the run, its spec, and how to reach the host."""

from __future__ import annotations

from pathlib import Path

from app.models import Run, Variation
from app.runners.base import AgentSpec, Capabilities, GatewayRoute, VariationJob
from app.runs.ports import ModelAccess
from app.runs.setup_phase import SetupResult


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
    )
