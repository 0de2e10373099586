"""SQLModel tables: Run, Variation, Event (DESIGN §3), Replica (§10)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Column, DateTime, Index, Text, TypeDecorator, text
from sqlalchemy.engine import Dialect
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    """Now, timezone-aware UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores UTC; always returns timezone-aware datetimes (SQLite drops the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime; use timezone-aware UTC")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _ts(nullable: bool = True) -> Any:
    return Field(default=None, sa_column=Column(UTCDateTime(), nullable=nullable))


def _json() -> Any:
    return Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class Run(SQLModel, table=True):
    """One prompt on one repository, run as N variations."""

    __tablename__ = "runs"
    __table_args__ = (Index("ix_runs_created", "created_at", "id"),)

    id: str = Field(primary_key=True)
    repo_url: str
    ref: str | None = None
    base_sha: str | None = None
    prompt: str = Field(sa_column=Column(Text, nullable=False))
    check_command: str | None = None
    # Without a check command: the base tree's obvious test command, when there is one.
    suggested_check_command: str | None = None
    backend: str
    status: str = Field(index=True)
    error: str | None = None
    budget_usd: float | None = None
    timeout_seconds: float
    winner_policy: str = "manual"
    scripted_model: bool = False
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    started_at: datetime | None = _ts()
    finished_at: datetime | None = _ts()
    winning_variation_id: int | None = None
    winner_selected_by: str | None = None
    winner_reason: str | None = None
    # The run spec's setup fields (`command`, `timeout_seconds`, `network`, `image`) and,
    # once it ran, how setup went (`source`, `status`, `cached`, `tree`, `error`).
    setup: dict[str, Any] = _json()
    # The last event number given to this run (events are numbered 1, 2, ... per run).
    event_seq: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    # The replica running it, and until when its lease holds (renewed while it runs).
    owner: str | None = None
    lease_expires_at: datetime | None = _ts()
    # `{"passing": k}` when the run stops early (empty: never) and, once it acted,
    # `stopped` (variation ids) and `reason`.
    early_stop: dict[str, Any] = _json()
    # The shared budget ledger (app/runs/budget_repository.py): USD settled, USD reserved by
    # the model requests in flight, and how many are in flight, across every replica.
    spent_usd: float = Field(default=0.0, sa_column_kwargs={"server_default": "0"})
    reserved_usd: float = Field(default=0.0, sa_column_kwargs={"server_default": "0"})
    in_flight: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    # `{"top": k, "model": m}` when the run synthesizes (empty: it does not) and, once it
    # acted, `status` (started/skipped), `reason`, `variation_id` and `from` (variation ids).
    synthesis: dict[str, Any] = _json()
    # A fork's lineage: `{"run_id", "variation_id", "diff_sha256"}` of the variation it
    # started from (None: not a fork), and that variation's diff as it was when forked
    # (applied to every new workspace; the fork's diffs stay against the same base_sha).
    parent: dict[str, Any] | None = Field(
        default=None, sa_column=Column(JSON(none_as_null=True), nullable=True)
    )
    parent_diff: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    # The spec's judge (`model`, `instructions`; empty: none) and, once it ran, `status`,
    # `error`, `cost_usd` and `verdicts` (variation id -> rank, verdict, rationale).
    judge: dict[str, Any] = _json()


class Variation(SQLModel, table=True):
    """One agent attempt at a run's prompt."""

    __tablename__ = "variations"

    run_id: str = Field(foreign_key="runs.id", primary_key=True)
    variation_id: int = Field(primary_key=True)
    spec: dict[str, Any] = _json()
    status: str
    exit_code: int | None = None
    error: str | None = None
    diff: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    files_changed: int | None = None
    insertions: int | None = None
    deletions: int | None = None
    check_exit_code: int | None = None
    check_output: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    check_duration_seconds: float | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    cache_creation_input_tokens: int = 0
    cache_read_input_tokens: int = 0
    cost_usd: float = 0.0
    duration_seconds: float | None = None
    score: float | None = None
    score_parts: dict[str, Any] = _json()
    manifest: dict[str, Any] = _json()
    relay_token_sha256: str | None = None
    # The synthesized variation: the ids of the variations whose diffs it combined.
    synthesized_from: list[int] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    started_at: datetime | None = _ts()
    finished_at: datetime | None = _ts()


class Replica(SQLModel, table=True):
    """A server process sharing the database, with its last heartbeat."""

    __tablename__ = "replicas"

    id: str = Field(primary_key=True)
    started_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    heartbeat_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class Event(SQLModel, table=True):
    """One entry of a run's event log; `run_seq` (its number within the run) is the SSE id."""

    __tablename__ = "events"
    __table_args__ = (
        # Numbers are taken under the run row's lock in the inserting transaction, so they
        # increase in commit order whichever replica writes (docs/api.md, event ids).
        Index("ux_events_run_seq", "run_id", "run_seq", unique=True),
        # Relayed agent lines are idempotent by seq: a retried batch inserts nothing twice.
        Index(
            "ux_events_line",
            "run_id",
            "variation_id",
            "seq",
            unique=True,
            sqlite_where=text("seq IS NOT NULL"),
            postgresql_where=text("seq IS NOT NULL"),
        ),
        {"sqlite_autoincrement": True},
    )

    id: int | None = Field(default=None, primary_key=True)
    run_id: str
    run_seq: int
    variation_id: int | None = None
    seq: int | None = None
    type: str
    payload: str = Field(sa_column=Column(Text, nullable=False))  # JSON text, sent verbatim
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class Delivery(SQLModel, table=True):
    """A variation pushed as a new branch (and maybe a pull request); never a credential."""

    __tablename__ = "deliveries"
    __table_args__ = (Index("ix_deliveries_variation", "run_id", "variation_id"),)

    id: int | None = Field(default=None, primary_key=True)
    run_id: str = Field(foreign_key="runs.id")
    variation_id: int
    branch: str
    commit: str
    pull_request_url: str | None = None
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
