"""What a crowd and an attacker do to the REST API (issue 17): races, failed sign-ins, parallel hashing.

``python bench/rest_abuse.py --twin twins/liverpool-centre``

One server process (:class:`collab.Server`: SQLite in a temporary folder, argon2id at the deployed 64 MiB
and 3 passes). Measured:

- 20 parallel version saves on one scenario: answers by status, and how many distinct version numbers;
- 10 parallel sign-ups, five as ``alice`` and five as ``Alice``: answers by status, accounts made;
- 200 failed sign-ins on one account: answers by status, and the answer to the right password after them;
- 20 parallel failed sign-ins (each hashes at 64 MiB): answers by status and the rise of the server's
  peak resident memory (VmHWM, MiB).

Prints one JSON line with every figure.
"""

from __future__ import annotations

import argparse
import collections
import json
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

from collab import Server
from metaliverpool.service.twins import twin_id_for
from metaliverpool.store.bundle import read_manifest

PASSWORD = "tangerine-owl-42"


def peak_rss_mib(pid: int) -> float:
    """Peak resident memory of a process in MiB (VmHWM from /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def statuses(responses: list[httpx.Response]) -> dict[int, int]:
    return dict(sorted(collections.Counter(response.status_code for response in responses).items()))


def measure(server: Server, twin_id: str) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    with httpx.Client(base_url=server.url, timeout=120) as client, ThreadPoolExecutor(20) as pool:
        client.post("/api/auth/signup", json={"name": "owner", "password": PASSWORD}).raise_for_status()
        token = client.post("/api/auth/signin", json={"name": "owner", "password": PASSWORD}).json()["token"]
        owner = {"Authorization": f"Bearer {token}"}
        created = client.post("/api/scenarios", json={"twin_id": twin_id, "name": "Races"}, headers=owner)
        path = f"/api/scenarios/{created.json()['scenario_id']}/versions"
        saves = list(pool.map(lambda n: client.post(path, json={"name": f"v{n}"}, headers=owner), range(20)))
        numbers = [version["number"] for version in client.get(path, headers=owner).json()]
        figures["version_saves"] = {"statuses": statuses(saves), "distinct_numbers": len(set(numbers))}

        def sign_up(number: int) -> httpx.Response:
            name = "Alice" if number % 2 else "alice"
            return client.post("/api/auth/signup", json={"name": name, "password": PASSWORD})

        sign_ups = list(pool.map(sign_up, range(10)))
        found = client.get("/api/users", params={"prefix": "alice"}, headers=owner).json()
        found += client.get("/api/users", params={"prefix": "Alice"}, headers=owner).json()
        figures["sign_ups"] = {
            "statuses": statuses(sign_ups),
            "accounts": len({user["name"] for user in found}),
        }

        wrong = [
            client.post("/api/auth/signin", json={"name": "owner", "password": f"guess-{n:06d}"})
            for n in range(200)
        ]
        right = client.post("/api/auth/signin", json={"name": "owner", "password": PASSWORD})
        figures["failed_sign_ins"] = {"statuses": statuses(wrong), "then_right_password": right.status_code}

        before = peak_rss_mib(server.process.pid)
        burst = list(
            pool.map(
                lambda n: client.post("/api/auth/signin", json={"name": f"user{n}", "password": "x" * 12}),
                range(20),
            )
        )
        figures["parallel_sign_ins"] = {
            "statuses": statuses(burst),
            "peak_rss_rise_mib": round(peak_rss_mib(server.process.pid) - before),
        }
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--twin", type=Path, required=True, help="twin bundle folder")
    args = parser.parse_args()
    twin_id = twin_id_for(args.twin, read_manifest(args.twin))
    with tempfile.TemporaryDirectory() as state:
        server = Server(args.twin, Path(state), None)
        try:
            figures = measure(server, twin_id)
        finally:
            server.stop()
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
