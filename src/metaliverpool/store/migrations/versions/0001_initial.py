"""Initial schema: users, tokens, scenarios, memberships, CRDT updates, versions, runs.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("user_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(40), nullable=False, unique=True),
        sa.Column("password_hash", sa.String(200), nullable=False),
        sa.Column("colour", sa.String(7), nullable=False),
        sa.Column("created_at_s", sa.Float, nullable=False),
    )
    op.create_table(
        "auth_tokens",
        sa.Column("token_sha256", sa.String(64), primary_key=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.user_id", ondelete="CASCADE"), nullable=False),
        sa.Column("created_at_s", sa.Float, nullable=False),
        sa.Column("expires_at_s", sa.Float, nullable=False),
    )
    op.create_table(
        "scenarios",
        sa.Column("scenario_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("twin_id", sa.String(100), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("owner_id", sa.Integer, sa.ForeignKey("users.user_id"), nullable=False),
        sa.Column("visibility", sa.String(10), nullable=False),
        sa.Column("forked_from_version_id", sa.Integer, nullable=True),
        sa.Column("created_at_s", sa.Float, nullable=False),
    )
    op.create_table(
        "memberships",
        sa.Column(
            "scenario_id",
            sa.Integer,
            sa.ForeignKey("scenarios.scenario_id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column(
            "user_id", sa.Integer, sa.ForeignKey("users.user_id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("role", sa.String(10), nullable=False),
    )
    op.create_table(
        "doc_updates",
        sa.Column("update_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "scenario_id",
            sa.Integer,
            sa.ForeignKey("scenarios.scenario_id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("update", sa.LargeBinary, nullable=False),
        sa.Column("user_id", sa.Integer, nullable=True),
        sa.Column("created_at_s", sa.Float, nullable=False),
    )
    op.create_index("ix_doc_updates_scenario", "doc_updates", ["scenario_id", "update_id"])
    op.create_table(
        "versions",
        sa.Column("version_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "scenario_id",
            sa.Integer,
            sa.ForeignKey("scenarios.scenario_id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("number", sa.Integer, nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("author_id", sa.Integer, sa.ForeignKey("users.user_id"), nullable=False),
        sa.Column("created_at_s", sa.Float, nullable=False),
        sa.Column("state", sa.LargeBinary, nullable=False),
        sa.Column("edits_json", sa.Text, nullable=False),
    )
    op.create_index("ix_versions_scenario", "versions", ["scenario_id", "number"], unique=True)
    op.create_table(
        "runs",
        sa.Column("run_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "scenario_id",
            sa.Integer,
            sa.ForeignKey("scenarios.scenario_id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("version_id", sa.Integer, nullable=True),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("progress", sa.Float, nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("config_json", sa.Text, nullable=False),
        sa.Column("kpis_json", sa.Text, nullable=False),
        sa.Column("outputs_json", sa.Text, nullable=False),
        sa.Column("created_by", sa.Integer, sa.ForeignKey("users.user_id"), nullable=False),
        sa.Column("created_at_s", sa.Float, nullable=False),
        sa.Column("finished_at_s", sa.Float, nullable=True),
    )


def downgrade() -> None:
    for table in ("runs", "versions", "doc_updates", "memberships", "scenarios", "auth_tokens", "users"):
        op.drop_table(table)
