"""``metaliverpool serve``: bad input exits 2 with one line; a real start serves the API and the client, and
closes a live socket that sends a message above the live limit (uvicorn's ``ws_max_size``)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from metaliverpool.cli.main import main
from metaliverpool.service.live_limits import MAX_MESSAGE_BYTES
from web.conftest import REPO, TEST_PASSWORD, free_port, new_scenario, sign_up_in, wait_until_healthy
from web.protocol import token_of


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--twin", "/nonexistent/twin"], "not a twin bundle folder"),
        (["--twin", "{twin}", "--example", "{bad}"], "bad.yaml"),
        (["--twin", "{twin}", "--web", "{empty}"], "no index.html"),
        (["--twin", "{twin}", "--db", "mysql://nowhere/db"], "unsupported database URL"),
    ],
)
def test_serve_refuses_bad_input_with_one_line(
    arguments: list[str], message: str, twin_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("schema_version: 2\nname: x\nedits:\n- kind: close_road\n  osm_way_ids: []\n")
    empty = tmp_path / "empty"
    empty.mkdir()
    filled = [a.format(twin=twin_dir, bad=bad, empty=empty) for a in arguments]
    with pytest.raises(SystemExit) as exit_info:
        main(["serve", *filled, "--state", str(tmp_path / "state"), "--port", str(free_port())])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and message in err and "\n" not in err


def test_serve_starts_and_serves_api_and_web_client(twin_dir: Path, tmp_path: Path) -> None:
    port = free_port()
    command = [str(Path(sys.executable).with_name("metaliverpool")), "serve", "--twin", str(twin_dir)]
    command += ["--state", str(tmp_path / "state"), "--port", str(port), "--secure-cookies"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        wait_until_healthy(f"http://127.0.0.1:{port}", process, timeout_s=120)
        assert (tmp_path / "state" / "metaliverpool.db").is_file()  # SQLite by default, in --state
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
            alice = sign_up_in(http, "alice")
            signin = http.post("/api/auth/signin", json={"name": "alice", "password": TEST_PASSWORD})
            scenario_id = new_scenario(http, alice)["scenario_id"]
        assert "; secure" in signin.headers["set-cookie"].lower()  # --secure-cookies, even over http
        if (REPO / "web" / "dist" / "index.html").is_file():
            page = httpx.get(f"http://127.0.0.1:{port}/")
            assert page.status_code == 200 and '<div id="app">' in page.text
        url = f"ws://127.0.0.1:{port}/api/scenarios/{scenario_id}/live?token={token_of(alice)}"
        with connect(url, max_size=None) as socket:
            with pytest.raises(ConnectionClosed):
                socket.send(b"\x00" * (MAX_MESSAGE_BYTES + 1))
                while True:
                    socket.recv(timeout=10)
            # The server refuses the frame by its header and closes with 1009; when it drops the connection
            # before this client has written the rest of the megabyte, the close frame is lost with it.
            assert socket.close_code == 1009 or socket.close_code is None
        wait_until_healthy(f"http://127.0.0.1:{port}", process, timeout_s=10)  # and it is still serving
    finally:
        process.terminate()
        process.wait(10)
