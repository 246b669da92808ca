"""The web server's database: SQLAlchemy 2 models, engines and sessions.

One database holds accounts, scenarios, their members and roles, the CRDT updates of every scenario's
shared document (appended as they arrive, so a killed server loses no accepted edit), named versions,
runs and their KPIs. Run outputs themselves live in the content-addressed run store
(:mod:`metaliverpool.store.runstore`); rows keep only their digests.

SQLite (WAL journal, ``synchronous=NORMAL``: a committed row survives the process being killed) is the
default; PostgreSQL (``postgresql+psycopg://...``) is supported. The schema is created and upgraded by the
Alembic migrations packaged in :mod:`metaliverpool.store.migrations` (:func:`migrate_database`).

Times are UTC seconds since the Unix epoch (``*_at_s``, float).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    create_engine,
    event,
    text,
)
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

from metaliverpool.errors import InputError

ROLES = ("owner", "editor", "viewer")
"""Per-scenario roles, strongest first."""

VISIBILITIES = ("private", "shared")
"""``private``: members only. ``shared``: every signed-in user may read (members keep their roles)."""

RUN_STATUSES = ("queued", "running", "done", "failed")


def now_s() -> float:
    """The current UTC time in seconds since the Unix epoch."""
    return time.time()


class Base(DeclarativeBase):
    """Declarative base of every table here."""


class User(Base):
    """An account: a unique name, an argon2 password hash and the colour of its cursor."""

    __tablename__ = "users"
    user_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(40), unique=True, nullable=False)
    password_hash: Mapped[str] = mapped_column(String(200), nullable=False)
    colour: Mapped[str] = mapped_column(String(7), nullable=False)
    created_at_s: Mapped[float] = mapped_column(Float, nullable=False, default=now_s)


class AuthToken(Base):
    """A sign-in session: the SHA-256 of a random bearer token (the token itself is never stored)."""

    __tablename__ = "auth_tokens"
    token_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.user_id", ondelete="CASCADE"), nullable=False)
    created_at_s: Mapped[float] = mapped_column(Float, nullable=False, default=now_s)
    expires_at_s: Mapped[float] = mapped_column(Float, nullable=False)


class Scenario(Base):
    """A scenario: a base twin plus a shared CRDT document of edits and comments."""

    __tablename__ = "scenarios"
    scenario_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    twin_id: Mapped[str] = mapped_column(String(100), nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False, default="")
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.user_id"), nullable=False)
    visibility: Mapped[str] = mapped_column(String(10), nullable=False, default="private")
    forked_from_version_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at_s: Mapped[float] = mapped_column(Float, nullable=False, default=now_s)


class Membership(Base):
    """A user's role in a scenario (``owner``, ``editor`` or ``viewer``)."""

    __tablename__ = "memberships"
    scenario_id: Mapped[int] = mapped_column(
        ForeignKey("scenarios.scenario_id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.user_id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[str] = mapped_column(String(10), nullable=False)


class DocUpdate(Base):
    """One accepted CRDT update (Yjs v1 encoding) of a scenario's document, in arrival order."""

    __tablename__ = "doc_updates"
    update_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    scenario_id: Mapped[int] = mapped_column(
        ForeignKey("scenarios.scenario_id", ondelete="CASCADE"), nullable=False
    )
    update: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    user_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at_s: Mapped[float] = mapped_column(Float, nullable=False, default=now_s)

    __table_args__ = (Index("ix_doc_updates_scenario", "scenario_id", "update_id"),)


class Version(Base):
    """A named version of a scenario: the whole document state and its edits at that moment."""

    __tablename__ = "versions"
    version_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    scenario_id: Mapped[int] = mapped_column(
        ForeignKey("scenarios.scenario_id", ondelete="CASCADE"), nullable=False
    )
    number: Mapped[int] = mapped_column(Integer, nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.user_id"), nullable=False)
    created_at_s: Mapped[float] = mapped_column(Float, nullable=False, default=now_s)
    state: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    edits_json: Mapped[str] = mapped_column(Text, nullable=False)

    __table_args__ = (Index("ix_versions_scenario", "scenario_id", "number", unique=True),)


class Run(Base):
    """A run of a scenario (or its baseline): status, progress, KPIs and output digests."""

    __tablename__ = "runs"
    run_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    scenario_id: Mapped[int] = mapped_column(
        ForeignKey("scenarios.scenario_id", ondelete="CASCADE"), nullable=False
    )
    version_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    status: Mapped[str] = mapped_column(String(10), nullable=False, default="queued")
    progress: Mapped[float] = mapped_column(Float, nullable=False, default=0.0)
    message: Mapped[str] = mapped_column(Text, nullable=False, default="")
    config_json: Mapped[str] = mapped_column(Text, nullable=False, default="{}")
    kpis_json: Mapped[str] = mapped_column(Text, nullable=False, default="{}")
    outputs_json: Mapped[str] = mapped_column(Text, nullable=False, default="{}")
    created_by: Mapped[int] = mapped_column(ForeignKey("users.user_id"), nullable=False)
    created_at_s: Mapped[float] = mapped_column(Float, nullable=False, default=now_s)
    finished_at_s: Mapped[float | None] = mapped_column(Float, nullable=True)


def _set_sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def check_database_url(url: str) -> str:
    """``url`` if it names a supported database (SQLite or PostgreSQL); else :class:`InputError`."""
    if not (url.startswith("sqlite") or url.startswith("postgresql")):
        raise InputError(
            url, "unsupported database URL (expected sqlite:///FILE or postgresql+psycopg://...)"
        )
    return url


def make_engine(url: str) -> Engine:
    """An engine for ``url`` (``sqlite:///path.db`` or ``postgresql+psycopg://...``).

    SQLite gets the WAL journal, foreign keys and a busy timeout; its folder is created if needed.
    Raises :class:`InputError` for a URL of an unsupported database.
    """
    if url.startswith("sqlite"):
        path = url.split(":///", 1)[1] if ":///" in url else ""
        if path and path != ":memory:":
            Path(path).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 10})
        event.listen(engine, "connect", _set_sqlite_pragmas)
        return engine
    if url.startswith("postgresql"):
        return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)
    raise InputError(url, "unsupported database URL (expected sqlite:///FILE or postgresql+psycopg://...)")


def hold_lock(connection: Connection | Session, name: str) -> None:
    """Serialise a transaction with every other one that takes the lock ``name``, until it ends.

    On PostgreSQL a transaction-scoped advisory lock, so that server processes starting together
    (``serve --workers N``) migrate and seed one after another; SQLite serves one process and needs none.
    """
    dialect = connection.dialect if isinstance(connection, Connection) else connection.get_bind().dialect
    if dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(hashtext(:name))"), {"name": name})


def migrate_database(engine: Engine) -> None:
    """Create or upgrade the schema to the newest packaged Alembic migration (one process at a time)."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(Path(__file__).with_name("migrations")))
    with engine.begin() as connection:
        hold_lock(connection, "metaliverpool:migrate")
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


class Database:
    """An engine plus a session factory; pass it to the services (no global database)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    def migrate(self) -> None:
        """Bring the schema up to date (:func:`migrate_database`)."""
        migrate_database(self.engine)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session that commits when the block ends without error and rolls back otherwise."""
        session = self._sessions()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()
