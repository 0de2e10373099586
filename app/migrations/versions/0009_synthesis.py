"""Synthesis: the run's setting and outcome, and each variation's `synthesized_from`.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("synthesis", sa.JSON(), nullable=False, server_default="{}"))
    with op.batch_alter_table("variations") as batch:
        batch.add_column(sa.Column("synthesized_from", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("variations") as batch:
        batch.drop_column("synthesized_from")
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("synthesis")
