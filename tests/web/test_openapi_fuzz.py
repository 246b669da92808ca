"""Schemathesis against a real server process: every operation of ``/api/openapi.json``, fuzzed with a
bearer token, must answer without a server error and as its schema says (status, content type, body)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from web.conftest import ProcessServer, new_scenario, sign_up_in

CHECKS = ",".join(
    (
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_schema_conformance",
        "unsupported_method",  # 405 with Allow for a method the path does not serve
        "allow_header_conformance",
    )
)
MAX_EXAMPLES = 25
"""Cases per operation and phase (about 1,800 cases per database; each run takes 40-70 s on 2 cores)."""


GROUP = r"^/api/(public|auth|users|twins|health)"
"""The operations of the first schemathesis process (the second takes the rest)."""


def schemathesis_command(url: str, token: str, report: Path, max_examples: int, group: str) -> list[str]:
    """The schemathesis CLI on the server at ``url`` over the operations of one ``group`` ("in": those whose
    path matches :data:`GROUP`, "out": the others)."""
    selection = "--include-path-regex" if group == "in" else "--exclude-path-regex"
    return [
        str(Path(sys.executable).with_name("schemathesis")),
        "run",
        f"{url}/api/openapi.json",
        "--checks",
        CHECKS,
        "--max-examples",
        str(max_examples),
        "--seed",
        "17",
        "--workers",
        "1",
        "--phases",
        "examples,coverage,fuzzing",
        "--header",
        f"Authorization: Bearer {token}",
        selection,
        GROUP,
        "--exclude-path",
        "/api/auth/signout",  # it would end the fuzzer's own session
        "--request-timeout",
        "30",
        "--generation-database",
        "none",
        "--continue-on-failure",
        "--no-color",
        "--report",
        "junit",
        "--report-junit-path",
        str(report.with_name(f"{report.stem}-{group}{report.suffix}")),
    ]


def run_schemathesis(url: str, token: str, report: Path, max_examples: int = MAX_EXAMPLES) -> str:
    """Run schemathesis on the server at ``url``; returns its output (raises if it fails).

    Two processes of one worker each, on disjoint halves of the operations, rather than one process with
    two worker threads: hypothesis parses lambdas' source with ``ast`` while it generates, and CPython
    3.11 keeps the AST constructor's recursion depth per interpreter, not per thread, so two threads
    building ASTs at once can fail with "SystemError: AST constructor recursion depth mismatch"
    (CPython gh-106905; seen here on ``GET /api/public/search``). Processes share no interpreter; the
    cases, checks and seed are those of one process with two workers.
    """
    processes = [
        subprocess.Popen(
            schemathesis_command(url, token, report, max_examples, group),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=report.parent,
        )
        for group in ("in", "out")
    ]
    outputs = [process.communicate(timeout=600)[0] for process in processes]
    output = "\n".join(outputs)
    assert all(process.returncode == 0 for process in processes), output
    return output


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str | None:
    """None (the server's SQLite file), or a fresh database on the PostgreSQL server (it refuses NUL)."""
    return None if request.param == "sqlite" else str(request.getfixturevalue("postgres_url"))


def test_schemathesis_finds_no_failure(
    twin_dir: Path, region_dir: Path, tmp_path: Path, database_url: str | None
) -> None:
    server = ProcessServer(
        twin_dir, tmp_path / "state", database_url=database_url, region_data=str(region_dir)
    ).start()
    try:
        with httpx.Client(base_url=server.url) as client:
            headers = sign_up_in(client, "fuzzer")
            new_scenario(client, headers, name="Fuzzed")
        run_schemathesis(server.url, headers["Authorization"].split(" ", 1)[1], tmp_path / "junit.xml")
        assert httpx.get(f"{server.url}/api/health").json() == {"ok": True}
    finally:
        server.stop()
