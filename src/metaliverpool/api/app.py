"""The FastAPI application: REST API (OpenAPI at ``/api/openapi.json``), live rooms and the web client.

:func:`create_app` builds an app from a :class:`~metaliverpool.api.context.ServerConfig`; the database is
migrated and the twins are registered when the app starts (lifespan), and everything is closed when it
stops.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool

from metaliverpool.api import (
    live,
    routes_auth,
    routes_checks,
    routes_comments,
    routes_consult,
    routes_live,
    routes_moderation,
    routes_public,
    routes_runs,
    routes_scenarios,
    routes_streets,
    routes_twins,
    routes_versions,
)
from metaliverpool.api.context import ServerConfig, ServerContext
from metaliverpool.api.docs import install_docs
from metaliverpool.api.errors import install_error_handlers
from metaliverpool.api.middleware import BodyLimit, Methods, SecurityHeaders
from metaliverpool.ingest.sensorthings_mqtt import parse_broker
from metaliverpool.scenario.ray_cluster import RayCluster, RaySettings
from metaliverpool.service.examples import seed_example
from metaliverpool.service.fanout import Fanout, InProcessFanout, RedisFanout
from metaliverpool.service.forecasts import ForecastCatalog
from metaliverpool.service.live_view import LiveView
from metaliverpool.service.passwords import Passwords, make_hasher
from metaliverpool.service.public_limits import PublicLimits
from metaliverpool.service.public_map import PublicMap
from metaliverpool.service.rate_limits import AddressLimiter
from metaliverpool.service.rooms import RoomRegistry
from metaliverpool.service.run_queue import QueueLimits
from metaliverpool.service.run_scheduler import RunScheduler
from metaliverpool.service.signal_desk import Publisher
from metaliverpool.service.twins import TwinCatalog
from metaliverpool.store.db import Database, hold_lock
from metaliverpool.store.runstore import RunStore


def fanout_prefix(database_url: str) -> str:
    """The Redis channel prefix of the servers sharing one database: rooms of two deployments (or two test
    runs) on one Redis never mix, since pub/sub channels are global to a Redis server."""
    return f"metaliverpool:{hashlib.sha256(database_url.encode()).hexdigest()[:16]}"


def build_context(config: ServerConfig) -> ServerContext:
    """Open the database (migrated), the run store and the twins; the fan-out is chosen by the config."""
    db = Database(config.database_url)
    db.migrate()
    fanout: Fanout = (
        RedisFanout(config.redis_url, fanout_prefix(config.database_url))
        if config.redis_url
        else InProcessFanout()
    )
    twins = TwinCatalog(list(config.twin_paths))
    store = RunStore(config.state_dir / "runstore")
    return ServerContext(
        config=config,
        db=db,
        runs=store,
        twins=twins,
        forecasts=ForecastCatalog(twins),
        rooms=RoomRegistry(db, fanout),
        fanout=fanout,
        executor=run_scheduler(config, db, store),
        passwords=Passwords(
            make_hasher(config.argon2_memory_kib, config.argon2_time_cost),
            config.hashing_slots,
            config.hashing_wait_s,
        ),
        public_map=None if config.region_data is None else PublicMap(config.region_data),
        public_limiter=AddressLimiter(config.public_read_limits),
        live=live_view(config),
    )


def live_view(config: ServerConfig) -> LiveView | None:
    """The live view of the config's live database (None without one)."""
    if config.live_database_url is None:
        return None
    broker = None if config.live_mqtt is None else parse_broker(config.live_mqtt)
    publisher = Publisher(config.state_dir / "signal_plans", broker, config.live_topic_prefix)
    return LiveView(config.live_database_url, config.signal_operators, publisher)


def run_scheduler(config: ServerConfig, db: Database, store: RunStore) -> RunScheduler:
    """The run scheduler of this process: the config's queue limits, on its Ray cluster (or a local one)."""
    limits = QueueLimits(
        slots=config.run_slots,
        running_per_user=config.runs_per_user,
        queued_per_user=config.queued_runs_per_user,
    )
    # a local instance gets one logical CPU more than the slots: a spare worker process stays warm, so a
    # slot whose worker was stopped (preemption) restarts at once instead of waiting for a new process
    cluster = RayCluster(RaySettings(address=config.ray_address, local_cpus=config.run_slots + 1))
    return RunScheduler(db, store, cluster, limits, cache_dir=config.state_dir / "runcache")


def seed(context: ServerContext) -> None:
    """Import the config's example scenarios on the first twin (once; their runs are queued)."""
    if not context.config.examples:
        return
    twin_id = next(iter(context.twins.entries))
    twin_path = context.twins.get(twin_id).path
    for path in context.config.examples:
        with context.db.session() as session:
            hold_lock(session, "metaliverpool:seed")  # workers starting together seed one at a time
            seed_example(session, context.passwords, twin_id, twin_path, path)


def create_app(config: ServerConfig) -> FastAPI:
    """The application serving ``config``."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        context = await run_in_threadpool(build_context, config)
        app.state.context = context
        if context.public_map is not None:
            await run_in_threadpool(context.public_map.build)  # a missing source file fails the start
        await run_in_threadpool(seed, context)
        context.executor.start()
        try:
            yield
        finally:
            await run_in_threadpool(context.executor.stop)
            await context.rooms.close()
            await context.fanout.close()
            context.db.dispose()

    app = FastAPI(
        title="Meta Liverpool",
        summary="The shared, persistent twin of Liverpool: map layers, scenarios, live editing, runs.",
        version="0.1.0",
        openapi_url="/api/openapi.json",
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.add_middleware(GZipMiddleware, minimum_size=1024)
    app.add_middleware(Methods, router=app.router)
    app.add_middleware(BodyLimit, limit_bytes=config.max_body_bytes)
    app.add_middleware(SecurityHeaders)
    install_error_handlers(app)
    install_docs(app)
    for module in (
        routes_auth,
        routes_twins,
        routes_streets,
        routes_public,
        routes_consult,
        routes_scenarios,
        routes_moderation,
        routes_checks,
        routes_versions,
        routes_comments,
        routes_runs,
        routes_live,
        live,
    ):
        app.include_router(module.router)

    @app.get("/api/health", tags=["server"])
    def health() -> dict[str, Any]:
        """Liveness: ``{"ok": true}``."""
        return {"ok": True}

    if config.web_dir is not None and (config.web_dir / "index.html").is_file():
        app.mount("/", StaticFiles(directory=config.web_dir, html=True), name="web")
    return app


SERVER_CONFIG_ENV = "METALIVERPOOL_SERVER_CONFIG"
"""Environment variable with the JSON config that ``metaliverpool serve`` hands to uvicorn's factory."""


def config_from_json(text: str) -> ServerConfig:
    """A :class:`ServerConfig` from the JSON written by ``metaliverpool serve``."""
    data = json.loads(text)
    return ServerConfig(
        twin_paths=tuple(Path(path) for path in data["twin_paths"]),
        database_url=data["database_url"],
        state_dir=Path(data["state_dir"]),
        redis_url=data.get("redis_url"),
        web_dir=None if data.get("web_dir") is None else Path(data["web_dir"]),
        argon2_memory_kib=int(data.get("argon2_memory_kib", 65536)),
        argon2_time_cost=int(data.get("argon2_time_cost", 3)),
        examples=tuple(Path(path) for path in data.get("examples", [])),
        ray_address=data.get("ray_address"),
        run_slots=int(data.get("run_slots", 4)),
        runs_per_user=int(data.get("runs_per_user", 2)),
        queued_runs_per_user=int(data.get("queued_runs_per_user", 20)),
        secure_cookies=bool(data.get("secure_cookies", False)),
        region_data=None if data.get("region_data") is None else Path(data["region_data"]),
        live_database_url=data.get("live_database_url"),
        signal_operators=tuple(data.get("signal_operators", [])),
        live_mqtt=data.get("live_mqtt"),
        live_topic_prefix=str(data.get("live_topic_prefix", "")),
        public_limits=PublicLimits(**data.get("public_limits", {})),
    )


def app_from_environment() -> FastAPI:
    """The app for uvicorn's factory mode, configured by :data:`SERVER_CONFIG_ENV`."""
    return create_app(config_from_json(os.environ[SERVER_CONFIG_ENV]))
