"""``metaliverpool serve``: the web server (API, live rooms, web client) for one or more twins."""

from __future__ import annotations

import json
import os
import resource
from pathlib import Path
from typing import Annotated

import typer

from metaliverpool.config import data_dir
from metaliverpool.edits import load_scenario
from metaliverpool.errors import InputError
from metaliverpool.service.live_limits import MAX_MESSAGE_BYTES
from metaliverpool.store.bundle import read_manifest
from metaliverpool.store.db import check_database_url

SERVER_CONFIG_ENV = "METALIVERPOOL_SERVER_CONFIG"
"""Environment variable carrying the server config (JSON) to ``metaliverpool.api.app``."""


def default_web_dir() -> Path | None:
    """The built web client: ``metaliverpool/web_dist`` in the package, else ``web/dist`` of the checkout."""
    package = Path(__file__).resolve().parents[1]
    for candidate in (package / "web_dist", package.parents[1] / "web" / "dist"):
        if (candidate / "index.html").is_file():
            return candidate
    return None


def check_workers(workers: int, database_url: str, redis: str | None) -> None:
    """Several processes share rooms only through Redis and one PostgreSQL database: refuse otherwise."""
    if workers < 1:
        raise InputError("--workers", f"expected 1 or more, got {workers}")
    if workers > 1 and (redis is None or not database_url.startswith("postgresql")):
        raise InputError(
            "--workers",
            f"{workers} processes need --redis URL and a PostgreSQL --db (postgresql+psycopg://...)",
        )


def raise_open_file_limit() -> int:
    """Raise this process's open-file limit (inherited by its workers) to the hard limit: every socket is
    a file. Returns the new soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def register(app: typer.Typer) -> None:
    """Add the ``serve`` command."""

    @app.command("serve")
    def serve(
        twin: Annotated[list[Path], typer.Option("--twin", help="Twin bundle folder (repeat for more).")],
        db: Annotated[
            str | None, typer.Option("--db", help="Database URL (default: SQLite beside the twin).")
        ] = None,
        host: Annotated[str, typer.Option("--host")] = "127.0.0.1",
        port: Annotated[int, typer.Option("--port")] = 8000,
        state: Annotated[
            Path | None, typer.Option("--state", help="Folder for the run store (default: beside the twin).")
        ] = None,
        redis: Annotated[
            str | None, typer.Option("--redis", help="Redis URL to share rooms between server processes.")
        ] = None,
        web: Annotated[Path | None, typer.Option("--web", help="Built web client folder.")] = None,
        data: Annotated[
            Path | None,
            typer.Option(
                "--data",
                help="Region data folder for the public map (default: METALIVERPOOL_DATA or "
                "../shared/data/liverpool, when it exists).",
            ),
        ] = None,
        example: Annotated[
            list[Path] | None,
            typer.Option("--example", help="Scenario file to import for the 'demo' account (repeatable)."),
        ] = None,
        secure_cookies: Annotated[
            bool,
            typer.Option(
                "--secure-cookies",
                help="Mark the sign-in cookie Secure (behind an HTTPS proxy; HTTPS requests get it anyway).",
            ),
        ] = False,
        # runs: the queue's limits and where the runs execute (docs/web.md, "Run queue and Ray")
        ray: Annotated[
            str | None,
            typer.Option("--ray", help="Ray cluster address for runs (default: a local Ray instance)."),
        ] = None,
        run_slots: Annotated[
            int, typer.Option("--run-slots", min=1, max=4096, help="Runs this server executes at once.")
        ] = 4,
        runs_per_user: Annotated[
            int, typer.Option("--runs-per-user", min=1, help="Running runs per user (all processes).")
        ] = 2,
        queued_runs_per_user: Annotated[
            int, typer.Option("--queued-runs-per-user", min=1, help="Waiting runs per user.")
        ] = 20,
        workers: Annotated[
            int,
            typer.Option(
                "--workers",
                help="Server processes on the one port (more than 1 needs --redis and a PostgreSQL --db); "
                "a process that dies is restarted.",
            ),
        ] = 1,
        live_db: Annotated[
            str | None,
            typer.Option(
                "--live-db", help="PostgreSQL URL of the live archive (the map's live state, signals)."
            ),
        ] = None,
        signal_operator: Annotated[
            list[str] | None,
            typer.Option("--signal-operator", help="Account that may approve signal plans (repeatable)."),
        ] = None,
        live_mqtt: Annotated[
            str | None, typer.Option("--live-mqtt", help="HOST:PORT of the broker approved plans go to.")
        ] = None,
        live_topic_prefix: Annotated[
            str, typer.Option("--live-topic-prefix", help="Prefix before v1.1/ of the plans' topics.")
        ] = "",
    ) -> None:
        """Serve the map, the API and live collaboration on http://HOST:PORT."""
        import uvicorn

        for path in twin:
            read_manifest(path)
        examples = [str(path.resolve()) for path in example or []]
        for path in example or []:
            load_scenario(path)  # a bad example file fails here, with its one-line error
        first = twin[0].resolve()
        state_dir = (state or first.parent / f"{first.name}.server").resolve()
        url = check_database_url(db or f"sqlite:///{state_dir / 'metaliverpool.db'}")
        check_workers(workers, url, redis)
        web_dir = web or default_web_dir()
        if web is not None and not (web / "index.html").is_file():
            raise InputError(web, "no index.html: build the web client with `make web`")
        if data is not None and not data.is_dir():
            raise InputError(data, "no such region data folder")
        region_data = data or (data_dir() if data_dir().is_dir() else None)
        if live_mqtt is not None:
            from metaliverpool.ingest.sensorthings_mqtt import parse_broker

            parse_broker(live_mqtt)  # a bad address fails here, with its one-line error
        state_dir.mkdir(parents=True, exist_ok=True)  # only once every input is known to be good
        twin_paths = [str(path.resolve()) for path in twin]
        config = {
            "twin_paths": twin_paths,
            "database_url": url,
            "state_dir": str(state_dir),
            "redis_url": redis,
            "web_dir": None if web_dir is None else str(web_dir.resolve()),
            "region_data": None if region_data is None else str(region_data.resolve()),
            "examples": examples,
            "secure_cookies": secure_cookies,
            "ray_address": ray,
            "run_slots": run_slots,
            "runs_per_user": runs_per_user,
            "queued_runs_per_user": queued_runs_per_user,
            "live_database_url": live_db,
            "signal_operators": list(signal_operator or []),
            "live_mqtt": live_mqtt,
            "live_topic_prefix": live_topic_prefix,
        }
        # The entry points do not import each other: the API reads its config from the environment.
        os.environ[SERVER_CONFIG_ENV] = json.dumps(config)
        raise_open_file_limit()
        processes = f", {workers} processes" if workers > 1 else ""
        typer.echo(f"serving {', '.join(twin_paths)} on http://{host}:{port} (db {url}{processes})")
        if workers > 1 and ray is None:
            typer.echo(
                "runs: each process starts its own local Ray instance on its first run; to share one, "
                "start it with `ray start --head` and pass --ray auto (docs/web.md, 'Run queue and Ray')"
            )
        if examples:
            from metaliverpool.service.examples import DEMO_PASSWORD, DEMO_USER

            typer.echo(f"example scenarios: sign in as '{DEMO_USER}' with password '{DEMO_PASSWORD}'")
        uvicorn.run(
            "metaliverpool.api.app:app_from_environment",
            factory=True,
            host=host,
            port=port,
            log_level="warning",
            ws="websockets-sansio",
            ws_max_size=MAX_MESSAGE_BYTES,
            # No permessage-deflate: it holds a zlib stream per socket (about half of a viewer's memory)
            # and compresses every update once per socket instead of once for the room.
            ws_per_message_deflate=False,
            workers=workers,
        )
