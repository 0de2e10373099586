"""Events numbered per run (`events.run_seq`, `runs.event_seq`), the SSE id.

Existing events keep their row id as their number, so a client holding an id from
before the upgrade resumes exactly where it was.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("event_seq", sa.Integer(), nullable=False, server_default="0"))
    with op.batch_alter_table("events") as batch:
        batch.add_column(sa.Column("run_seq", sa.Integer(), nullable=True))
    op.execute("UPDATE events SET run_seq = id")
    op.execute(
        "UPDATE runs SET event_seq = COALESCE("
        "(SELECT max(events.id) FROM events WHERE events.run_id = runs.id), 0)"
    )
    with op.batch_alter_table("events") as batch:
        batch.alter_column("run_seq", existing_type=sa.Integer(), nullable=False)
        batch.drop_index("ix_events_run")
        batch.create_index("ux_events_run_seq", ["run_id", "run_seq"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("events") as batch:
        batch.drop_index("ux_events_run_seq")
        batch.create_index("ix_events_run", ["run_id", "id"])
        batch.drop_column("run_seq")
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("event_seq")
