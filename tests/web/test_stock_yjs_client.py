"""A third-party client: the stock npm ``y-websocket`` provider (Node, ``tests/web/node``) on a real server.

It joins with its token in the URL parameters, syncs, edits and shows presence to a Python client and
back, then stays alone in the room for longer than its 30 s watchdog without reconnecting (the server's
heartbeat). A "too far behind" close (the real overflow of its send queue) and the server's shutdown
(1012) are retryable codes: the provider reconnects, or tries to.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from pycrdt import Map

from metaliverpool.api.live import MAX_QUEUED_MESSAGES, SocketConnection
from metaliverpool.api.live_client import LiveClient
from metaliverpool.service.live_access import CLOSE_BEHIND, CLOSE_RESTART
from metaliverpool.service.rooms import HEARTBEAT_MESSAGE
from web.conftest import ThreadServer, make_config, new_scenario, sign_up_in
from web.protocol import close_road, edit_entry, token_of

NODE_DIR = Path(__file__).resolve().parent / "node"
ALONE_S = 40.0
"""Longer than the provider's 30 s watchdog (it reconnects when it heard nothing for 30 s)."""


@pytest.fixture(scope="session")
def node_client_dir() -> Path:
    """``tests/web/node`` with its packages installed (``npm ci`` from the lock file if absent)."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("node and npm are needed for the stock y-websocket client")
    if not (NODE_DIR / "node_modules" / "y-websocket").is_dir():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=NODE_DIR, check=True)
    return NODE_DIR


class StockClient:
    """``stock-client.mjs`` in a subprocess: its events (JSON lines) and commands (JSON lines)."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.events: list[dict[str, Any]] = []
        self.changed = asyncio.Event()
        self.reader = asyncio.create_task(self._read())

    @classmethod
    async def start(cls, directory: Path, url: str, scenario_id: int, token: str) -> StockClient:
        process = await asyncio.create_subprocess_exec(
            "node",
            str(directory / "stock-client.mjs"),
            url,
            str(scenario_id),
            token,
            cwd=directory,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        return cls(process)

    async def _read(self) -> None:
        assert self.process.stdout is not None
        async for line in self.process.stdout:
            self.events.append(json.loads(line))
            self.changed.set()

    def seen(self, since: int = 0, **fields: Any) -> list[dict[str, Any]]:
        """Events from index ``since`` on whose fields equal ``fields``."""
        return [e for e in self.events[since:] if all(e.get(k) == v for k, v in fields.items())]

    async def wait_for(self, condition: Callable[[], bool], timeout_s: float = 10.0) -> None:
        deadline = time.monotonic() + timeout_s
        while not condition():
            self.changed.clear()
            await asyncio.wait_for(self.changed.wait(), max(deadline - time.monotonic(), 0.0))

    async def command(self, **command: Any) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(command).encode() + b"\n")
        await self.process.stdin.drain()

    async def exit(self) -> None:
        await self.command(exit=True)
        await asyncio.wait_for(self.process.wait(), 10)
        await self.reader


def flood(connection: SocketConnection) -> None:
    """Queue more messages than a connection may have waiting, in one go (run in the server's loop)."""
    for _ in range(MAX_QUEUED_MESSAGES + 1):
        connection.send(HEARTBEAT_MESSAGE)


def test_stock_y_websocket_client_edits_stays_connected_and_reconnects(
    node_client_dir: Path, twin_dir: Path, tmp_path: Path
) -> None:
    server = ThreadServer(make_config(twin_dir, tmp_path)).__enter__()
    try:
        with httpx.Client(base_url=server.url) as http:
            alice, bob = sign_up_in(http, "alice"), sign_up_in(http, "bob")
            scenario_id = new_scenario(http, alice)["scenario_id"]
            http.put(f"/api/scenarios/{scenario_id}/members/bob", json={"role": "editor"}, headers=alice)
        rooms = server.context.rooms

        async def play() -> None:
            node = await StockClient.start(
                node_client_dir, f"ws://127.0.0.1:{server.port}/api/scenarios", scenario_id, token_of(alice)
            )
            await node.wait_for(lambda: bool(node.seen(event="sync", synced=True)))
            node_id = node.seen(event="start")[0]["client_id"]
            python = await LiveClient(
                f"ws://127.0.0.1:{server.port}/api/scenarios/{scenario_id}/live", token_of(bob)
            ).connect()

            await node.command(edit="from-node", value=edit_entry(close_road(1001), "alice"))
            await python.wait_for(lambda: "from-node" in python.doc.get("edits", type=Map).to_py())
            await python.transact(
                lambda doc: doc.get("edits", type=Map).__setitem__(
                    "from-python", edit_entry(close_road(1002), "bob")
                )
            )
            await node.wait_for(lambda: bool(node.seen(event="edits", keys=["from-node", "from-python"])))
            await node.command(presence={"cursor": {"lon": -2.99, "lat": 53.41}})
            await python.wait_for(lambda: "cursor" in python.presence.get(node_id, {}))
            assert python.presence[node_id]["user"]["name"] == "alice"  # stamped by the server
            assert python.presence[node_id]["cursor"] == {"lon": -2.99, "lat": 53.41}
            await python.set_presence({"cursor": {"lon": -2.98, "lat": 53.40}})
            await node.wait_for(lambda: bool(node.seen(event="presence", client_ids=[python.client_id])))
            await python.close()

            alone = len(node.events)
            await asyncio.sleep(ALONE_S)
            assert node.seen(alone, event="connection-close") == []
            assert node.seen(alone, event="status") == []  # neither disconnected nor connecting again

            (connection,) = rooms.rooms[scenario_id].connections.values()
            behind = len(node.events)
            connection.writer.get_loop().call_soon_threadsafe(flood, connection)
            await node.wait_for(lambda: bool(node.seen(behind, event="sync", synced=True)))
            assert [e["code"] for e in node.seen(behind, event="connection-close")] == [CLOSE_BEHIND]
            assert node.seen(behind, event="closed") == []  # not final

            restart = len(node.events)
            await asyncio.to_thread(server.__exit__, None, None, None)
            await node.wait_for(lambda: bool(node.seen(restart, event="status", status="connecting")))
            assert node.seen(restart, event="connection-close")[0]["code"] == CLOSE_RESTART
            assert node.seen(restart, event="closed") == []
            await node.exit()

        asyncio.run(play())
    finally:
        server.__exit__(None, None, None)
