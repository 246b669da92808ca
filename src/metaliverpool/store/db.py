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

import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

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
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

from metaliverpool.errors import InputError, MetaLiverpoolError

T = TypeVar("T")

ROLES = ("owner", "editor", "viewer")
"""Per-scenario roles, strongest first."""

VISIBILITIES = ("private", "shared")
"""``private``: members only. ``shared``: every signed-in user may read (members keep their roles)."""

RUN_STATUSES = ("queued", "running", "done", "failed", "cancelled")
"""A run waits (``queued``), is held by one server process (``running``), and ends ``done``, ``failed`` or
``cancelled``; a running run goes back to ``queued`` when it is preempted, retried or its server is lost
(:mod:`metaliverpool.service.run_queue`)."""

TRANSACTION_ATTEMPTS = 12
"""How often :meth:`Database.run` tries a transaction that lost a race before giving up."""


class StoreBusy(MetaLiverpoolError):
    """A transaction kept losing races with concurrent writers (HTTP 409: try again)."""


class Retry(Exception):
    """Raised inside :meth:`Database.run` work to roll back and run the work again (a lost race)."""


def is_lost_race(error: BaseException) -> bool:
    """Whether ``error`` is a concurrency failure worth retrying: SQLite busy/locked (a write upgrade of a
    stale snapshot), PostgreSQL serialization failure or deadlock."""
    if not isinstance(error, DBAPIError) or isinstance(error, IntegrityError):
        return False
    text = str(error.orig).lower()
    code = getattr(error.orig, "sqlstate", None)
    return "database is locked" in text or "database is busy" in text or code in ("40001", "40P01")


def now_s() -> float:
    """The current UTC time in seconds since the Unix epoch."""
    return time.time()


class Base(DeclarativeBase):
    """Declarative base of every table here."""


def _name_key(context: Any) -> str:
    return str(context.get_current_parameters()["name"]).lower()


class User(Base):
    """An account: a unique name, an argon2 password hash and the colour of its cursor."""

    __tablename__ = "users"
    user_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(40), unique=True, nullable=False)
    name_key: Mapped[str] = mapped_column(String(60), unique=True, nullable=False, default=_name_key)
    """The name in lower case (by default): unique, so names differing only by case cannot both exist."""
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


class SigninFailure(Base):
    """A failed sign-in, counted against its account name (``name:...``) and client address (``addr:...``)
    for the sliding-window limits of :mod:`metaliverpool.service.signin_limits`."""

    __tablename__ = "signin_failures"
    failure_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(120), nullable=False)
    at_s: Mapped[float] = mapped_column(Float, nullable=False)

    __table_args__ = (Index("ix_signin_failures_key", "key", "at_s"), Index("ix_signin_failures_at", "at_s"))


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
    published_at_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    """When the owner published it for public consultation (None: not published)."""


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
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    """Claims of the run that count against its retry limit (a preempted claim, or one whose server was
    lost, is not counted)."""
    started_at_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    """When a worker began executing the current attempt (None while queued or waiting for a worker)."""
    holder: Mapped[str | None] = mapped_column(String(80), nullable=True)
    """The server process (``host:pid:random``) that claimed the run while it is running."""
    lease_until_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    """The holder renews this while it lives; a running run whose lease passed is queued again."""
    executor: Mapped[str | None] = mapped_column(String(80), nullable=True)
    """The worker process executing the current attempt (``host:pid``)."""

    __table_args__ = (Index("ix_runs_status_user", "status", "created_by"),)


COMMENT_STATUSES = ("pending", "approved", "rejected")
"""A public comment waits for the owner (``pending``, hidden from the public), then is shown
(``approved``) or kept hidden (``rejected``)."""

STANCES = ("support", "oppose")
"""A visitor's reaction to a published scenario."""


class PublicComment(Base):
    """A located comment a visitor (no account) left on a published scenario, with the owner's answer."""

    __tablename__ = "public_comments"
    comment_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    scenario_id: Mapped[int] = mapped_column(
        ForeignKey("scenarios.scenario_id", ondelete="CASCADE"), nullable=False
    )
    visitor_key: Mapped[str] = mapped_column(String(64), nullable=False)
    """SHA-256 (hex) of the visitor's cookie: a pseudonym, never the cookie itself."""
    text: Mapped[str] = mapped_column(Text, nullable=False)
    lon: Mapped[float] = mapped_column(Float, nullable=False)
    lat: Mapped[float] = mapped_column(Float, nullable=False)
    status: Mapped[str] = mapped_column(String(10), nullable=False, default="pending")
    created_at_s: Mapped[float] = mapped_column(Float, nullable=False, default=now_s)
    moderated_at_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    answer: Mapped[str | None] = mapped_column(Text, nullable=True)
    answered_by: Mapped[str | None] = mapped_column(String(40), nullable=True)
    answered_at_s: Mapped[float | None] = mapped_column(Float, nullable=True)

    __table_args__ = (Index("ix_public_comments_scenario", "scenario_id", "status", "comment_id"),)


class PublicReaction(Base):
    """A visitor's support or opposition: one per visitor per scenario (changing it replaces it)."""

    __tablename__ = "public_reactions"
    scenario_id: Mapped[int] = mapped_column(
        ForeignKey("scenarios.scenario_id", ondelete="CASCADE"), primary_key=True
    )
    visitor_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    stance: Mapped[str] = mapped_column(String(10), nullable=False)
    at_s: Mapped[float] = mapped_column(Float, nullable=False, default=now_s)


class PublicChallenge(Base):
    """A proof-of-work challenge handed to a visitor: used once, until ``expires_at_s``."""

    __tablename__ = "public_challenges"
    challenge: Mapped[str] = mapped_column(String(64), primary_key=True)
    bits: Mapped[int] = mapped_column(Integer, nullable=False)
    expires_at_s: Mapped[float] = mapped_column(Float, nullable=False)

    __table_args__ = (Index("ix_public_challenges_expires", "expires_at_s"),)


class PublicWrite(Base):
    """A public write (or challenge) attempt, counted per visitor and per address (``key``) for the
    sliding-window limits of :mod:`metaliverpool.service.public_limits`."""

    __tablename__ = "public_writes"
    write_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(120), nullable=False)
    at_s: Mapped[float] = mapped_column(Float, nullable=False)

    __table_args__ = (Index("ix_public_writes_key", "key", "at_s"), Index("ix_public_writes_at", "at_s"))


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

    def run(self, work: Callable[[Session], T], attempts: int = TRANSACTION_ATTEMPTS) -> T:
        """``work(session)`` in its own transaction, committed; run again (after a short random pause) when
        it raises :class:`Retry` or loses a race with another writer (:func:`is_lost_race`). Raises
        :class:`StoreBusy` after ``attempts`` lost races."""
        for attempt in range(attempts):
            try:
                with self.session() as session:
                    return work(session)
            except Retry:
                pass
            except DBAPIError as error:
                if not is_lost_race(error):
                    raise
            time.sleep(random.uniform(0.0, 0.01 * 2 ** min(attempt, 5)))
        raise StoreBusy("too many concurrent changes; try again")

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()
