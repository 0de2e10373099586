"""Routes: /api/v1/runs — create, list, read, diff, interdiff, select, cancel, turns, forks."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status

from app.api.deps import RunDep, ServicesDep, VariationDep
from app.models import Run, Variation
from app.runs import interdiff, service
from app.schemas import (
    ErrorResponse,
    FollowUp,
    ForkCreate,
    RunAccepted,
    RunCreate,
    RunList,
    RunRead,
    SelectWinner,
    TurnAccepted,
    VariationAccepted,
)

router = APIRouter(prefix="/runs", tags=["runs"])
_ERRORS: dict[int | str, dict[str, object]] = {
    code: {"model": ErrorResponse} for code in (404, 409, 422)
}


@router.post(
    "", status_code=status.HTTP_202_ACCEPTED, responses=_ERRORS | {503: {"model": ErrorResponse}}
)
async def create_run(body: RunCreate, services: ServicesDep, request: Request) -> RunAccepted:
    """Start a run: N variations of one prompt on one repository."""
    run, variations = await service.create_run(
        body=body,
        settings=services.settings,
        db=services.db,
        events=services.events,
        supervisor=services.supervisor,
    )
    return _accepted(run, variations, request)


def _accepted(run: Run, variations: list[Variation], request: Request) -> RunAccepted:
    return RunAccepted(
        run_id=run.id,
        stream_url=str(request.url_for("stream_run", run_id=run.id).path),
        scripted_model=run.scripted_model,
        variations=[
            VariationAccepted(variation_id=v.variation_id, spec=v.spec) for v in variations
        ],
    )


@router.get("", responses=_ERRORS)
async def list_runs(
    services: ServicesDep,
    status_: Annotated[
        str | None, Query(alias="status", description="Only runs with this status.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=500, description="From `next_cursor`.")] = None,
) -> RunList:
    """Runs, newest first, a page at a time."""
    return await service.list_runs(db=services.db, status=status_, limit=limit, cursor=cursor)


@router.get("/{run_id}", responses=_ERRORS)
async def get_run(run: RunDep, services: ServicesDep) -> RunRead:
    """A run with its variations: status, scores, usage, cost, diff stats, check."""
    return await service.run_view(db=services.db, supervisor=services.supervisor, run=run)


@router.get(
    "/{run_id}/variations/{variation_id}/diff",
    response_class=Response,
    responses={**_ERRORS, 200: {"content": {"text/x-diff": {}}}},
)
async def get_diff(variation: VariationDep) -> Response:
    """The variation's change against the base commit, as a patch."""
    filename = f"run-{variation.run_id[:8]}-variation-{variation.variation_id}.patch"
    return Response(
        variation.diff or "",
        media_type="text/x-diff",
        headers={"Content-Disposition": f'inline; filename="{filename}"'},
    )


@router.get(
    "/{run_id}/variations/{variation_id}/interdiff",
    response_class=Response,
    responses={**_ERRORS, 200: {"content": {"text/x-diff": {}}}},
)
async def get_interdiff(
    run: RunDep,
    variation: VariationDep,
    services: ServicesDep,
    against: Annotated[
        int, Query(ge=0, description="The variation to compare from (the diff's old side).")
    ],
) -> Response:
    """The diff from variation `against`'s resulting tree to this variation's.

    Each tree is the run's base commit plus that variation's stored diff; empty when the two
    variations end with the same files. 404 for an unknown variation, 409 when a variation has
    no diff yet or its diff does not apply to the base commit.
    """
    text = await interdiff.variation_interdiff(
        db=services.db,
        repos=services.delivery.repos,
        run=run,
        variation_id=variation.variation_id,
        against=against,
    )
    filename = f"run-{run.id[:8]}-variation-{against}-to-{variation.variation_id}.patch"
    return Response(
        text,
        media_type="text/x-diff",
        headers={"Content-Disposition": f'inline; filename="{filename}"'},
    )


@router.post("/{run_id}/select", responses=_ERRORS)
async def select_winner(run: RunDep, body: SelectWinner, services: ServicesDep) -> RunRead:
    """Record the winning variation (a user's choice overrides a policy's)."""
    updated = await service.select_winner(
        db=services.db, events=services.events, run_id=run.id, body=body
    )
    return await service.run_view(db=services.db, supervisor=services.supervisor, run=updated)


@router.post("/{run_id}/cancel", status_code=status.HTTP_202_ACCEPTED, responses=_ERRORS)
async def cancel_run(run: RunDep, services: ServicesDep) -> RunRead:
    """Stop the run's agents; their statuses become `cancelled`. 409 when the run has already
    finished, also when it finished on its own while the cancel was under way."""
    updated = await service.cancel_run(
        db=services.db, events=services.events, supervisor=services.supervisor, run_id=run.id
    )
    return await service.run_view(db=services.db, supervisor=services.supervisor, run=updated)


@router.post(
    "/{run_id}/variations/{variation_id}/messages",
    status_code=status.HTTP_202_ACCEPTED,
    responses=_ERRORS | {503: {"model": ErrorResponse}},
)
async def follow_up(
    run: RunDep, variation_id: int, body: FollowUp, services: ServicesDep, request: Request
) -> TurnAccepted:
    """Continue a finished variation: its agent gets `prompt` in the same workspace and session.

    409 while a turn runs on the run, after the run was cancelled, or once the variation's
    workspace was removed (AIDEATOR_WORKSPACE_RETENTION_SECONDS). The turn's events continue the
    run's stream, each with `turn`; diff, check, usage, cost and score are recomputed.
    """
    turn = await service.follow_up(
        db=services.db,
        settings=services.settings,
        supervisor=services.supervisor,
        run=run,
        variation_id=variation_id,
        body=body,
    )
    return TurnAccepted(
        run_id=run.id,
        variation_id=variation_id,
        turn=turn,
        stream_url=str(request.url_for("stream_run", run_id=run.id).path),
    )


@router.post(
    "/{run_id}/variations/{variation_id}/fork",
    status_code=status.HTTP_202_ACCEPTED,
    responses=_ERRORS | {503: {"model": ErrorResponse}},
)
async def fork_variation(
    run: RunDep, variation_id: int, body: ForkCreate, services: ServicesDep, request: Request
) -> RunAccepted:
    """Start a new run whose variations all start from this variation's tree.

    The starting tree is the variation's stored diff applied to the run's base commit (so a
    fork works after its workspace was removed). The new run keeps the repository and
    `base_sha`: its diffs include the parent's change and stay one patch to the repository.
    Left-out fields are inherited from the parent run (`variations`: its count;
    `agent_config`: the forked variation's spec; check command, timeout, budget, winner
    policy, setup, network). The new run's `parent` and every variation's manifest name the
    run, the variation and the sha256 of the diff it started from. Same answer as creating a
    run. 404 for an unknown run or variation; 409 while the variation is still running, when
    it changed nothing, or when the backend keeps no host tree (`dagger`); 422 for a bad body.
    """
    new_run, variations = await service.fork_variation(
        db=services.db,
        settings=services.settings,
        events=services.events,
        supervisor=services.supervisor,
        run=run,
        variation_id=variation_id,
        body=body,
    )
    return _accepted(new_run, variations, request)
