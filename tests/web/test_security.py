"""REST hardening: races, sign-in limits, password policy, input validation, body limit, headers and docs.

Races and malformed values run on SQLite and on the real PostgreSQL server (``database_url``).
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from alembic import command
from alembic.config import Config
from fastapi.testclient import TestClient
from sqlalchemy import column, insert, select, table

import metaliverpool.store.db as db_module
from metaliverpool.api.app import create_app
from metaliverpool.service.signin_limits import SigninLimits
from metaliverpool.store.db import Database, User
from web.conftest import ProcessServer, ThreadServer, make_config, new_scenario, sign_up_in

GOOD_PASSWORD = "tangerine-owl-42"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """SQLite in ``tmp_path``, or a fresh database on the PostgreSQL server."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'race.db'}"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def server(twin_dir: Path, tmp_path: Path, database_url: str) -> Iterator[ThreadServer]:
    with ThreadServer(make_config(twin_dir, tmp_path, database_url)) as running:
        yield running


def in_parallel(count: int, call: object) -> list[httpx.Response]:
    """``call(i)`` for i in 0..count-1, all at once from ``count`` threads."""
    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(call, range(count)))  # type: ignore[arg-type]


# --- races ----------------------------------------------------------------------------------------


def test_parallel_version_saves_get_unique_numbers(server: ThreadServer) -> None:
    with httpx.Client(base_url=server.url, timeout=60) as client:
        alice = sign_up_in(client, "alice")
        scenario_id = new_scenario(client, alice)["scenario_id"]

        def save(number: int) -> httpx.Response:
            return client.post(
                f"/api/scenarios/{scenario_id}/versions", json={"name": f"v{number}"}, headers=alice
            )

        answers = in_parallel(20, save)
        history = client.get(f"/api/scenarios/{scenario_id}/versions", headers=alice).json()
    statuses = [answer.status_code for answer in answers]
    assert set(statuses) <= {201, 409}, [
        answer.text for answer in answers if answer.status_code not in (201, 409)
    ]
    assert statuses.count(201) >= 15  # retried, not refused
    numbers = sorted(version["number"] for version in history)
    assert numbers == list(range(1, statuses.count(201) + 1))


def test_parallel_signups_of_one_name_in_two_cases_give_one_account(server: ThreadServer) -> None:
    with httpx.Client(base_url=server.url, timeout=60) as client:

        def sign_up(number: int) -> httpx.Response:
            name = "Alice" if number % 2 else "alice"
            return client.post("/api/auth/signup", json={"name": name, "password": GOOD_PASSWORD})

        answers = in_parallel(10, sign_up)
        headers = sign_up_in(client, "bob")
        found = client.get("/api/users", params={"prefix": "ALI"}, headers=headers).json()
    assert sorted(answer.status_code for answer in answers) == [201] + [409] * 9
    assert all("taken" in answer.json()["detail"] for answer in answers if answer.status_code == 409)
    assert len(found) == 1 and found[0]["name"] in ("Alice", "alice")


def test_taken_is_exact_ignoring_case_not_a_pattern(client: TestClient) -> None:
    sign_up_in(client, "abc")
    assert client.post("/api/auth/signup", json={"name": "a_c", "password": GOOD_PASSWORD}).status_code == 201
    assert client.post("/api/auth/signup", json={"name": "a%", "password": GOOD_PASSWORD}).status_code == 422
    assert client.post("/api/auth/signup", json={"name": "ABC", "password": GOOD_PASSWORD}).status_code == 409


def test_migration_keeps_existing_accounts_that_differ_by_case(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    db = Database(url)
    config = Config()
    config.set_main_option("script_location", str(Path(db_module.__file__).with_name("migrations")))
    with db.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0001")
        old_users = table(
            "users", column("name"), column("password_hash"), column("colour"), column("created_at_s")
        )
        for name in ("Alice", "alice", "bob\n"):
            connection.execute(
                insert(old_users).values(name=name, password_hash="x", colour="#000000", created_at_s=0.0)
            )
    db.migrate()
    with db.session() as session:
        keys = dict(session.execute(select(User.name, User.name_key)).all())
    db.dispose()
    assert keys == {"Alice": "alice", "alice": "alice#2", "bob\n": "bob\n"}


# --- sign-in limits -------------------------------------------------------------------------------


def test_failed_signins_lock_the_account_then_the_address_across_processes(
    twin_dir: Path, tmp_path: Path
) -> None:
    limits = SigninLimits(per_account=3, per_address=5, window_s=60.0)
    config = make_config(twin_dir, tmp_path, signin_limits=limits)
    with TestClient(create_app(config)) as one, TestClient(create_app(config)) as two:
        sign_up_in(one, "alice", GOOD_PASSWORD)
        wrong = {"name": "alice", "password": "not-the-password"}
        assert [one.post("/api/auth/signin", json=wrong).status_code for _ in range(3)] == [401] * 3
        locked = two.post("/api/auth/signin", json={"name": "alice", "password": GOOD_PASSWORD})
        assert locked.status_code == 429  # the other process shares the count, and the lock holds
        assert 1 <= int(locked.headers["retry-after"]) <= 60
        assert "account" in locked.json()["detail"]
        for name in ("bob", "carol"):
            assert two.post("/api/auth/signin", json={"name": name, "password": "x" * 12}).status_code == 401
        by_address = one.post("/api/auth/signin", json={"name": "dave", "password": "x" * 12})
        assert by_address.status_code == 429 and "address" in by_address.json()["detail"]
        assert "retry-after" in by_address.headers


def test_signin_succeeds_again_after_the_window(twin_dir: Path, tmp_path: Path) -> None:
    config = make_config(twin_dir, tmp_path, signin_limits=SigninLimits(per_account=2, window_s=1.0))
    with TestClient(create_app(config)) as client:
        sign_up_in(client, "alice", GOOD_PASSWORD)
        for _ in range(2):
            client.post("/api/auth/signin", json={"name": "alice", "password": "wrong-password"})
        right = {"name": "alice", "password": GOOD_PASSWORD}
        assert client.post("/api/auth/signin", json=right).status_code == 429
        time.sleep(1.2)
        assert client.post("/api/auth/signin", json=right).status_code == 200


def peak_rss_kib(pid: int) -> int:
    """The process's peak resident memory (VmHWM) in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM")


def test_parallel_signins_at_64_mib_each_do_not_take_a_gigabyte(twin_dir: Path, tmp_path: Path) -> None:
    server = ProcessServer(twin_dir, tmp_path / "state", argon2_memory_kib=65536, argon2_time_cost=3).start()
    try:
        assert server.process is not None
        with httpx.Client(base_url=server.url, timeout=60) as client:
            sign_up_in(client, "alice", GOOD_PASSWORD)  # one hash already done: the allocator is warm
            before_kib = peak_rss_kib(server.process.pid)

            def sign_in(number: int) -> httpx.Response:
                return client.post("/api/auth/signin", json={"name": f"user{number}", "password": "x" * 12})

            answers = in_parallel(20, sign_in)
        growth_mib = (peak_rss_kib(server.process.pid) - before_kib) / 1024
    finally:
        server.stop()
    assert all(a.status_code == 401 or (a.status_code == 503 and "retry-after" in a.headers) for a in answers)
    assert growth_mib < 300, f"peak memory grew by {growth_mib:.0f} MiB"


# --- password policy and names ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "password", "reason"),
    [
        ("alice", "12345678", "characters"),
        ("alice", " " * 12, "whitespace"),
        ("alice", "alice", "characters"),
        ("alice", "my-Alice-2026", "name"),
        ("alice", "1234567890", "common"),
        ("alice", "Qwertyuiop", "common"),
        ("alice", "x" * 201, "characters"),
    ],
)
def test_weak_passwords_are_refused(client: TestClient, name: str, password: str, reason: str) -> None:
    response = client.post("/api/auth/signup", json={"name": name, "password": password})
    detail = json.dumps(response.json()["detail"])
    assert response.status_code == 422 and "password" in detail and reason in detail


@pytest.mark.parametrize("name", ["bob\n", "bob ", " bob", "bób", "bob\u0000", "b"])
def test_look_alike_names_are_refused(client: TestClient, name: str) -> None:
    response = client.post("/api/auth/signup", json={"name": name, "password": GOOD_PASSWORD})
    assert response.status_code == 422
    assert "name" in json.dumps(response.json()["detail"])


# --- malformed values ---------------------------------------------------------------------------------


def test_malformed_values_are_refused_naming_the_field(server: ThreadServer) -> None:
    with httpx.Client(base_url=server.url, timeout=60) as client:
        alice = sign_up_in(client, "alice")
        scenario_id = new_scenario(client, alice)["scenario_id"]
        json_headers = {**alice, "content-type": "application/json"}
        cases: list[tuple[httpx.Response, str]] = [
            (client.get(f"/api/scenarios/{2**63 + 5}", headers=alice), "scenario_id"),
            (client.get(f"/api/runs/{2**64}", headers=alice), "run_id"),
            (client.get("/api/versions/diff", params={"a": 2**70, "b": 1}, headers=alice), "a"),
            (
                client.post(
                    "/api/scenarios",
                    content=b'{"twin_id": "test-grid", "name": "\\ud800"}',
                    headers=json_headers,
                ),
                "name",
            ),
            (client.post("/api/auth/signin", json={"name": "a\u0000b", "password": "x" * 12}), "name"),
            (
                client.post("/api/auth/signup", json={"name": "carol", "password": "pass\u0000word-12"}),
                "password",
            ),
            (
                client.patch(
                    f"/api/scenarios/{scenario_id}", json={"description": "d" * 10_001}, headers=alice
                ),
                "description",
            ),
            (
                client.post(
                    "/api/scenarios", json={"twin_id": "test-grid", "name": "n" * 201}, headers=alice
                ),
                "name",
            ),
            (
                client.put(
                    f"/api/scenarios/{scenario_id}/members/a%00b", json={"role": "viewer"}, headers=alice
                ),
                "name",
            ),
            (client.post(f"/api/scenarios/{scenario_id}/runs", json={"seeds": [-1]}, headers=alice), "seeds"),
            (
                client.post(f"/api/scenarios/{scenario_id}/runs", json={"seeds": [2**80]}, headers=alice),
                "seeds",
            ),
            (client.get("/api/users", params={"prefix": "\u0000"}, headers=alice), "prefix"),
            (client.get("/api/scenarios", params={"limit": 100_000}, headers=alice), "limit"),
        ]
        listed = client.get("/api/scenarios", params={"limit": 1}, headers=alice).json()
    for response, field in cases:
        assert response.status_code == 422, (response.request.url, response.text)
        assert field in json.dumps(response.json()["detail"]), (response.request.url, response.text)
    assert len(listed) == 1


def test_a_huge_description_is_refused_before_it_is_read(live_server: ThreadServer) -> None:
    with httpx.Client(base_url=live_server.url, timeout=60) as client:
        alice = sign_up_in(client, "alice")
        huge = client.post(
            "/api/scenarios",
            json={"twin_id": "test-grid", "name": "n", "description": "d" * 5_000_000},
            headers=alice,
        )

        def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
            yield b'{"twin_id": "test-grid", "name": "n", "description": "'
            for _ in range(2048):
                yield b"d" * 1024
            yield b'"}'

        streamed = client.post(
            "/api/scenarios", content=chunks(), headers={**alice, "content-type": "application/json"}
        )
        listed = client.get("/api/scenarios", headers=alice).json()
    assert huge.status_code == 413 and "bytes" in huge.json()["detail"]
    assert streamed.status_code == 413
    assert listed == []


def test_a_100_mib_body_is_refused_by_its_length_alone(live_server: ThreadServer) -> None:
    with socket.create_connection(("127.0.0.1", live_server.port), timeout=10) as connection:
        connection.sendall(
            b"POST /api/auth/signup HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 104857600\r\n\r\n{"
        )
        answer = connection.recv(4096).decode()
    assert answer.startswith("HTTP/1.1 413"), answer


# --- headers, cookies, methods, docs ------------------------------------------------------------------


def test_security_headers_on_every_response(client: TestClient) -> None:
    for path in ("/api/health", "/api/openapi.json", "/api/docs", "/api/scenarios", "/nowhere"):
        headers = client.get(path).headers
        csp = headers["content-security-policy"]
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp and "script-src 'self'" in csp
        assert headers["x-frame-options"] == "DENY"
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "same-origin"


def test_api_docs_are_served_from_the_package(client: TestClient) -> None:
    page = client.get("/api/docs").text
    assert "http" not in page  # nothing from another site
    for path in (
        "/api/docs/static/swagger-ui-bundle.js",
        "/api/docs/static/swagger-ui.css",
        "/api/docs/start.js",
    ):
        assert path in page or path.endswith("start.js")
        response = client.get(path)
        assert response.status_code == 200 and len(response.content) > 100


@pytest.mark.parametrize(
    ("secure_cookies", "base_url", "secure"),
    [
        (False, "http://testserver", False),
        (True, "http://testserver", True),
        (False, "https://testserver", True),
    ],
)
def test_cookie_is_secure_when_configured_or_over_https(
    twin_dir: Path, tmp_path: Path, secure_cookies: bool, base_url: str, secure: bool
) -> None:
    config = make_config(twin_dir, tmp_path, secure_cookies=secure_cookies)
    with TestClient(create_app(config), base_url=base_url) as client:
        sign_up_in(client, "alice", GOOD_PASSWORD)
        cookie = client.post("/api/auth/signin", json={"name": "alice", "password": GOOD_PASSWORD}).headers[
            "set-cookie"
        ]
    assert ("; secure" in cookie.lower()) == secure
    assert "httponly" in cookie.lower()


def test_options_and_unknown_methods_name_the_allowed_ones(client: TestClient) -> None:
    options = client.options("/api/scenarios")
    assert options.status_code == 204 and options.headers["allow"] == "GET, OPTIONS, POST"
    wrong = client.put("/api/scenarios/1/versions")
    assert wrong.status_code == 405 and wrong.headers["allow"] == "GET, OPTIONS, POST"
    assert client.options("/api/auth/signin").headers["allow"] == "OPTIONS, POST"
