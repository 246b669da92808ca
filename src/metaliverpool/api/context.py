"""The server's configuration and the context object every request handler reaches through ``app.state``.

No module-level state: two apps in one process (as the tests make) have two contexts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from metaliverpool.service.fanout import Fanout
from metaliverpool.service.forecasts import ForecastCatalog
from metaliverpool.service.live_view import LiveView
from metaliverpool.service.passwords import HASHING_SLOTS, HASHING_WAIT_S, Passwords
from metaliverpool.service.public_limits import PublicLimits
from metaliverpool.service.public_map import PublicMap
from metaliverpool.service.rate_limits import AddressLimiter, PublicReadLimits
from metaliverpool.service.rooms import RoomRegistry
from metaliverpool.service.run_scheduler import RunScheduler
from metaliverpool.service.signin_limits import SigninLimits
from metaliverpool.service.streets import StreetIndexes
from metaliverpool.service.twins import TwinCatalog
from metaliverpool.store.db import Database
from metaliverpool.store.runstore import RunStore


@dataclass(frozen=True)
class ServerConfig:
    """What a server serves and where it keeps its state.

    ``database_url``: SQLAlchemy URL (SQLite file by default). ``state_dir``: the run store lives in
    ``state_dir/runstore``. ``redis_url``: with it, rooms fan out through Redis pub/sub (several server
    processes on one PostgreSQL database); without it, in process. ``web_dir``: the built web client
    (``index.html`` and assets), or None to serve the API only. ``argon2_*``: password hashing cost
    (argon2id; the tests lower it to stay fast, deployments keep the defaults). ``examples``: scenario
    files imported at start-up for the ``demo`` account, each with a version and a queued run.

    Runs: ``ray_address`` is an existing Ray cluster, or None for a local Ray instance started on the first
    run with ``run_slots`` logical CPUs; ``run_slots`` runs of this process execute at once, at most
    ``runs_per_user`` of one user (across every process on the database), and a user may have at most
    ``queued_runs_per_user`` waiting.
    ``secure_cookies``: mark the sign-in cookie Secure (it is anyway on requests that came over HTTPS).
    ``max_body_bytes``: larger request bodies are refused (413). ``signin_limits``: failed sign-ins
    allowed per account and address in a sliding window. ``hashing_slots``: password hashes computed at
    once; a request waits up to ``hashing_wait_s`` seconds for a slot (then 503). ``region_data``: the
    data folder the public map's region layers are built from at start-up (None: no public map).
    ``public_read_limits``: requests to ``/api/public/*`` allowed per client address (429 beyond them).
    ``live_database_url``: the live archive the map's live state and the signal proposals come from
    (None: no live view); ``signal_operators``: the accounts that may approve or reject signal plans;
    ``live_mqtt`` (``HOST:PORT``) and ``live_topic_prefix``: where approved plans are published (plan
    files go to ``state_dir/signal_plans`` in any case).
    ``public_limits``: what visitors without an account may write (per visitor and address) and the
    proof-of-work challenge's cost.
    """

    twin_paths: tuple[Path, ...]
    database_url: str
    state_dir: Path
    redis_url: str | None = None
    web_dir: Path | None = None
    secure_cookies: bool = False
    argon2_memory_kib: int = 65536
    argon2_time_cost: int = 3
    examples: tuple[Path, ...] = ()
    ray_address: str | None = None
    run_slots: int = 4
    runs_per_user: int = 2
    queued_runs_per_user: int = 20
    max_body_bytes: int = 1_048_576
    signin_limits: SigninLimits = field(default_factory=SigninLimits)
    hashing_slots: int = HASHING_SLOTS
    hashing_wait_s: float = HASHING_WAIT_S
    region_data: Path | None = None
    public_read_limits: PublicReadLimits = field(default_factory=PublicReadLimits)
    public_limits: PublicLimits = field(default_factory=PublicLimits)
    live_database_url: str | None = None
    signal_operators: tuple[str, ...] = ()
    live_mqtt: str | None = None
    live_topic_prefix: str = ""


@dataclass
class ServerContext:
    """Everything the handlers use: database, run store, twins and their forecasting models, rooms, run
    scheduler (``executor``), passwords (hashing with a bound on concurrency)."""

    config: ServerConfig
    db: Database
    runs: RunStore
    twins: TwinCatalog
    rooms: RoomRegistry
    fanout: Fanout
    executor: RunScheduler
    forecasts: ForecastCatalog
    passwords: Passwords = field(default_factory=Passwords)
    public_map: PublicMap | None = None
    public_limiter: AddressLimiter = field(default_factory=lambda: AddressLimiter(PublicReadLimits()))
    live: LiveView | None = None
    streets: StreetIndexes = field(default_factory=StreetIndexes)
