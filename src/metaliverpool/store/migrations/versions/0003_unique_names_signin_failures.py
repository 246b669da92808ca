"""Names unique ignoring case (``users.name_key``, unique), and the failed sign-ins table.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07

On an existing database, ``name_key`` is filled with the lower-case name. Accounts whose names already
collide ignoring case (possible before this revision) keep their names and can still sign in; every one
but the oldest gets the key ``<lower-case name>#<user_id>``, which no new name can take ('#' is not
allowed in names).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("name_key", sa.String(60), nullable=True))
    users = sa.table(
        "users",
        sa.column("user_id", sa.Integer),
        sa.column("name", sa.String),
        sa.column("name_key", sa.String),
    )
    connection = op.get_bind()
    seen: set[str] = set()
    for user_id, name in connection.execute(
        sa.select(users.c.user_id, users.c.name).order_by(users.c.user_id)
    ):
        key = name.lower()
        if key in seen:
            key = f"{key}#{user_id}"
        seen.add(key)
        connection.execute(users.update().where(users.c.user_id == user_id).values(name_key=key))
    with op.batch_alter_table("users") as batch:
        batch.alter_column("name_key", existing_type=sa.String(60), nullable=False)
        batch.create_unique_constraint("uq_users_name_key", ["name_key"])
    op.create_table(
        "signin_failures",
        sa.Column("failure_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("key", sa.String(120), nullable=False),
        sa.Column("at_s", sa.Float, nullable=False),
    )
    op.create_index("ix_signin_failures_key", "signin_failures", ["key", "at_s"])
    op.create_index("ix_signin_failures_at", "signin_failures", ["at_s"])


def downgrade() -> None:
    op.drop_table("signin_failures")
    with op.batch_alter_table("users") as batch:
        batch.drop_constraint("uq_users_name_key", type_="unique")
        batch.drop_column("name_key")
