"""Public consultation: a scenario's publication time, visitors' comments and reactions, proof-of-work
challenges and the public write counts of the rate limits.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("scenarios") as batch:
        batch.add_column(sa.Column("published_at_s", sa.Float, nullable=True))
    op.create_table(
        "public_comments",
        sa.Column("comment_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "scenario_id",
            sa.Integer,
            sa.ForeignKey("scenarios.scenario_id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("visitor_key", sa.String(64), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("lon", sa.Float, nullable=False),
        sa.Column("lat", sa.Float, nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("created_at_s", sa.Float, nullable=False),
        sa.Column("moderated_at_s", sa.Float, nullable=True),
        sa.Column("answer", sa.Text, nullable=True),
        sa.Column("answered_by", sa.String(40), nullable=True),
        sa.Column("answered_at_s", sa.Float, nullable=True),
    )
    op.create_index("ix_public_comments_scenario", "public_comments", ["scenario_id", "status", "comment_id"])
    op.create_table(
        "public_reactions",
        sa.Column(
            "scenario_id",
            sa.Integer,
            sa.ForeignKey("scenarios.scenario_id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("visitor_key", sa.String(64), primary_key=True),
        sa.Column("stance", sa.String(10), nullable=False),
        sa.Column("at_s", sa.Float, nullable=False),
    )
    op.create_table(
        "public_challenges",
        sa.Column("challenge", sa.String(64), primary_key=True),
        sa.Column("bits", sa.Integer, nullable=False),
        sa.Column("expires_at_s", sa.Float, nullable=False),
    )
    op.create_index("ix_public_challenges_expires", "public_challenges", ["expires_at_s"])
    op.create_table(
        "public_writes",
        sa.Column("write_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("key", sa.String(120), nullable=False),
        sa.Column("at_s", sa.Float, nullable=False),
    )
    op.create_index("ix_public_writes_key", "public_writes", ["key", "at_s"])
    op.create_index("ix_public_writes_at", "public_writes", ["at_s"])


def downgrade() -> None:
    op.drop_table("public_writes")
    op.drop_table("public_challenges")
    op.drop_table("public_reactions")
    op.drop_table("public_comments")
    with op.batch_alter_table("scenarios") as batch:
        batch.drop_column("published_at_s")
