"""Baseline: runs, variations, events as the first releases created them.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _ts(name: str, *, nullable: bool = True) -> sa.Column[datetime]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "runs",
        sa.Column("id", sa.String(), primary_key=True),
        sa.Column("repo_url", sa.String(), nullable=False),
        sa.Column("ref", sa.String()),
        sa.Column("base_sha", sa.String()),
        sa.Column("prompt", sa.Text(), nullable=False),
        sa.Column("check_command", sa.String()),
        sa.Column("backend", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("error", sa.String()),
        sa.Column("budget_usd", sa.Float()),
        sa.Column("timeout_seconds", sa.Float(), nullable=False),
        sa.Column("winner_policy", sa.String(), nullable=False),
        sa.Column("scripted_model", sa.Boolean(), nullable=False),
        _ts("created_at", nullable=False),
        _ts("started_at"),
        _ts("finished_at"),
        sa.Column("winning_variation_id", sa.Integer()),
        sa.Column("winner_selected_by", sa.String()),
        sa.Column("winner_reason", sa.String()),
    )
    op.create_index("ix_runs_status", "runs", ["status"])
    op.create_index("ix_runs_created", "runs", ["created_at", "id"])
    op.create_table(
        "variations",
        sa.Column("run_id", sa.String(), sa.ForeignKey("runs.id"), primary_key=True),
        sa.Column("variation_id", sa.Integer(), primary_key=True),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("exit_code", sa.Integer()),
        sa.Column("error", sa.String()),
        sa.Column("diff", sa.Text()),
        sa.Column("files_changed", sa.Integer()),
        sa.Column("insertions", sa.Integer()),
        sa.Column("deletions", sa.Integer()),
        sa.Column("check_exit_code", sa.Integer()),
        sa.Column("check_output", sa.Text()),
        sa.Column("check_duration_seconds", sa.Float()),
        sa.Column("input_tokens", sa.Integer(), nullable=False),
        sa.Column("output_tokens", sa.Integer(), nullable=False),
        sa.Column("cache_creation_input_tokens", sa.Integer(), nullable=False),
        sa.Column("cache_read_input_tokens", sa.Integer(), nullable=False),
        sa.Column("cost_usd", sa.Float(), nullable=False),
        sa.Column("duration_seconds", sa.Float()),
        sa.Column("score", sa.Float()),
        sa.Column("score_parts", sa.JSON(), nullable=False),
        sa.Column("manifest", sa.JSON(), nullable=False),
        sa.Column("relay_token_sha256", sa.String()),
        _ts("started_at"),
        _ts("finished_at"),
    )
    op.create_table(
        "events",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.String(), nullable=False),
        sa.Column("variation_id", sa.Integer()),
        sa.Column("seq", sa.Integer()),
        sa.Column("type", sa.String(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        _ts("created_at", nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_events_run", "events", ["run_id", "id"])
    op.create_index(
        "ux_events_line",
        "events",
        ["run_id", "variation_id", "seq"],
        unique=True,
        sqlite_where=sa.text("seq IS NOT NULL"),
        postgresql_where=sa.text("seq IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_table("events")
    op.drop_table("variations")
    op.drop_table("runs")
