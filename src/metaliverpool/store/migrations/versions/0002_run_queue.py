"""Run queue: attempts, start time, holder and lease of a running run, its worker; status and user index.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("attempts", sa.Integer, nullable=False, server_default="0"))
        batch.add_column(sa.Column("started_at_s", sa.Float, nullable=True))
        batch.add_column(sa.Column("holder", sa.String(80), nullable=True))
        batch.add_column(sa.Column("lease_until_s", sa.Float, nullable=True))
        batch.add_column(sa.Column("executor", sa.String(80), nullable=True))
    op.create_index("ix_runs_status_user", "runs", ["status", "created_by"])


def downgrade() -> None:
    op.drop_index("ix_runs_status_user", table_name="runs")
    with op.batch_alter_table("runs") as batch:
        for column in ("executor", "lease_until_s", "holder", "started_at_s", "attempts"):
            batch.drop_column(column)
