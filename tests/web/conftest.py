"""Fixtures for the web tests: a small twin, an app on SQLite, live servers in a thread or a process, and
fresh PostgreSQL databases and Redis (the real servers here; skipped, with the reason, if absent)."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from metaliverpool.api.app import SERVER_CONFIG_ENV, create_app
from metaliverpool.api.context import ServerConfig, ServerContext
from metaliverpool.scenario.ray_cluster import RayCluster, RaySettings
from metaliverpool.service.live_limits import MAX_MESSAGE_BYTES
from web.region_fixture import write_region
from web.twin_fixture import train_grid_forecast, write_grid_twin

REPO = Path(__file__).resolve().parents[2]
TEST_ARGON2_MEMORY_KIB = 8192
"""The tests hash passwords with argon2id at 8 MiB and one pass (deployments: 64 MiB, three passes)."""
TEST_PASSWORD = "correct-horse"
"""A password the policy accepts (10+ characters, not common), for every test account."""
POSTGRES_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
REDIS_URL = "redis://127.0.0.1:6379/0"
TEST_RUN_SLOTS = 4
"""The servers' default run slots: the tests' local Ray instance has one logical CPU more, as theirs."""


@pytest.fixture(scope="session")
def twin_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small grid twin, written once per session."""
    return write_grid_twin(tmp_path_factory.mktemp("twin") / "grid")


@pytest.fixture(scope="session")
def region_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny region data folder for the public map (``region_fixture``)."""
    return write_region(tmp_path_factory.mktemp("region"))


@pytest.fixture(scope="session")
def forecast_model(twin_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A LightGBM congestion model trained on the grid twin's simulated history, saved in the twin."""
    return train_grid_forecast(twin_dir, tmp_path_factory.mktemp("history"))


@contextlib.contextmanager
def fresh_postgres_database() -> Iterator[str]:
    """A fresh, empty PostgreSQL database (created in the server at 127.0.0.1:5432, dropped afterwards)."""
    name = f"ml_web_{uuid.uuid4().hex[:10]}"
    try:
        admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as error:  # the server is not reachable here
        pytest.skip(f"PostgreSQL not reachable at {POSTGRES_ADMIN_URL}: {error}")
    yield POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test."""
    with fresh_postgres_database() as url:
        yield url


@pytest.fixture(scope="session")
def local_ray() -> Iterator[RayCluster]:
    """One local Ray instance for the session, its worker processes started: the servers of the run tests
    find it connected and use it (instead of each starting and stopping its own, about 5 s each)."""
    cluster = RayCluster(RaySettings(local_cpus=TEST_RUN_SLOTS + 1))
    ray = cluster.connect()

    def occupy_a_worker(seconds: float) -> None:
        time.sleep(seconds)

    ray.get([ray.remote(occupy_a_worker).remote(1.0) for _ in range(TEST_RUN_SLOTS + 1)])
    yield cluster
    cluster.close()


@pytest.fixture
def redis_url() -> str:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_timeout=2).ping()
    except Exception as error:
        pytest.skip(f"Redis not reachable at {REDIS_URL}: {error}")
    return REDIS_URL


def make_config(
    twin_dir: Path, state: Path, database_url: str | None = None, **extra: object
) -> ServerConfig:
    """A server config with its database and run store under ``state``."""
    settings: dict[str, object] = {
        "argon2_memory_kib": TEST_ARGON2_MEMORY_KIB,
        "argon2_time_cost": 1,
        **extra,
    }
    return ServerConfig(
        twin_paths=(twin_dir,),
        database_url=database_url or f"sqlite:///{state / 'web.db'}",
        state_dir=state,
        **settings,  # type: ignore[arg-type]
    )


@pytest.fixture
def config(twin_dir: Path, tmp_path: Path) -> ServerConfig:
    """A fresh SQLite-backed config."""
    return make_config(twin_dir, tmp_path)


@pytest.fixture
def client(config: ServerConfig) -> Iterator[TestClient]:
    """A test client of a fresh app (lifespan run)."""
    with TestClient(create_app(config)) as test_client:
        yield test_client


def sign_up_in(client: TestClient | httpx.Client, name: str, password: str = TEST_PASSWORD) -> dict[str, str]:
    """Create ``name`` and return its Authorization header."""
    response = client.post("/api/auth/signup", json={"name": name, "password": password})
    assert response.status_code == 201, response.text
    response = client.post("/api/auth/signin", json={"name": name, "password": password})
    assert response.status_code == 200, response.text
    client.cookies.clear()
    return {"Authorization": f"Bearer {response.json()['token']}"}


def new_scenario(client: TestClient | httpx.Client, headers: dict[str, str], **body: object) -> dict:
    """Create a scenario on the test twin as the user of ``headers`` (``body`` adds or overrides fields)."""
    payload = {"twin_id": "test-grid", "name": "Close Castle Street", **body}
    response = client.post("/api/scenarios", json=payload, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


def free_port() -> int:
    """A free TCP port on loopback."""
    with contextlib.closing(socket.socket()) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until_healthy(url: str, process: subprocess.Popen[bytes], timeout_s: float) -> None:
    """Poll ``url``/api/health until it answers 200; raise if ``process`` exits or ``timeout_s`` passes."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            if httpx.get(f"{url}/api/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if process.poll() is not None:
            output = process.stdout.read().decode(errors="replace") if process.stdout else ""
            raise RuntimeError(f"server exited with code {process.returncode}: {output}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"server did not start within {timeout_s:g} s")
        time.sleep(0.1)


class ThreadServer:
    """uvicorn serving an app in a background thread (same process: for the live-protocol tests)."""

    def __init__(self, config: ServerConfig) -> None:
        self.port = free_port()
        self.app = create_app(config)
        self.server = uvicorn.Server(
            uvicorn.Config(
                self.app,
                host="127.0.0.1",
                port=self.port,
                log_level="warning",
                ws="websockets-sansio",
                ws_max_size=MAX_MESSAGE_BYTES,
            )
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def context(self) -> ServerContext:
        """The running app's context (its database, rooms, ...), set when the server has started."""
        context: ServerContext = self.app.state.context
        return context

    def __enter__(self) -> ThreadServer:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)


@pytest.fixture
def live_server(config: ServerConfig) -> Iterator[ThreadServer]:
    """A running server on a free port (in this process)."""
    with ThreadServer(config) as server:
        yield server


class ProcessServer:
    """``metaliverpool serve`` in its own process, which the tests can kill (SIGKILL) and restart."""

    def __init__(
        self,
        twin_dir: Path,
        state: Path,
        web_dir: Path | None = None,
        database_url: str | None = None,
        **settings: object,
    ) -> None:
        """``settings`` override entries of the server's JSON config (``argon2_memory_kib``, ...)."""
        self.settings = settings
        self.twin_dir = twin_dir
        self.state = state
        self.web_dir = web_dir
        self.database_url = database_url
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self) -> tuple[list[str], dict[str, str]]:
        """uvicorn's factory mode with the config ``metaliverpool serve`` would write (``test_cli`` runs
        ``metaliverpool serve`` itself; this skips loading every other command group, which is slow)."""
        config = {
            "twin_paths": [str(self.twin_dir)],
            "database_url": self.database_url or f"sqlite:///{self.state / 'metaliverpool.db'}",
            "state_dir": str(self.state),
            "redis_url": None,
            "web_dir": None if self.web_dir is None else str(self.web_dir),
            "argon2_memory_kib": TEST_ARGON2_MEMORY_KIB,
            "argon2_time_cost": 1,
            **self.settings,
        }
        command = [
            sys.executable,
            "-m",
            "uvicorn",
            "metaliverpool.api.app:app_from_environment",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--log-level",
            "warning",
            "--ws",
            "websockets-sansio",
            "--ws-max-size",
            str(MAX_MESSAGE_BYTES),
        ]
        return command, {**os.environ, SERVER_CONFIG_ENV: json.dumps(config)}

    def start(self) -> ProcessServer:
        self.state.mkdir(parents=True, exist_ok=True)
        command, env = self.command()
        self.process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
        wait_until_healthy(self.url, self.process, timeout_s=60)
        return self

    def kill(self) -> None:
        """SIGKILL: no shutdown hooks, like a crash."""
        if self.process is not None:
            self.process.kill()
            self.process.wait(10)
            self.process = None

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
            self.process = None


# --- the browser tests (test_browser*.py) ---------------------------------------------------------


@pytest.fixture(scope="module")
def web_dist() -> Path:
    dist = REPO / "web" / "dist"
    if not (dist / "index.html").is_file():
        pytest.skip("web client not built: run `make web` (npm ci + vite build)")
    return dist


@pytest.fixture(scope="module")
def region_server(
    twin_dir: Path, region_dir: Path, tmp_path_factory: pytest.TempPathFactory, web_dist: Path
) -> Iterator[ProcessServer]:
    """A server process per test module with the tiny region (the public map) and the grid twin."""
    server = ProcessServer(
        twin_dir, tmp_path_factory.mktemp("state"), web_dir=web_dist, region_data=str(region_dir)
    ).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's Chromium under Playwright (imported here, so the other web tests do not need it)."""
    from playwright.sync_api import sync_playwright

    from web.browser_pages import CHROMIUM, CHROMIUM_ARGS

    if not CHROMIUM.is_file():
        pytest.skip("Debian's Chromium is not installed at /usr/bin/chromium (apt-get install chromium)")

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def shared_server(
    twin_dir: Path, tmp_path_factory: pytest.TempPathFactory, web_dist: Path
) -> Iterator[ProcessServer]:
    """One server for the tests that do not kill it (each test signs up its own users)."""
    process = ProcessServer(twin_dir, tmp_path_factory.mktemp("state"), web_dir=web_dist).start()
    yield process
    process.stop()
