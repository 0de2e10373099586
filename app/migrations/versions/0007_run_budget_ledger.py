"""Runs carry their budget ledger: settled spend, reserved estimates, requests in flight.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("spent_usd", sa.Float(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("reserved_usd", sa.Float(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("in_flight", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("in_flight")
        batch.drop_column("reserved_usd")
        batch.drop_column("spent_usd")
