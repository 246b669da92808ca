"""A visitor's side of a public consultation, as a test client: fetch a proof-of-work challenge, solve
it with hashlib (independently of the server's checker), and write."""

from __future__ import annotations

import hashlib
from typing import Any

import httpx


def solve(challenge: str, bits: int) -> str:
    """The first decimal ``solution`` whose SHA-256 of ``"<challenge>:<solution>"`` has ``bits`` leading
    zero bits (a brute-force search, as a browser does it)."""
    counter = 0
    while True:
        digest = hashlib.sha256(f"{challenge}:{counter}".encode()).digest()
        if int.from_bytes(digest, "big") >> (256 - bits) == 0:
            return str(counter)
        counter += 1


def solved(client: httpx.Client) -> dict[str, str]:
    """A fresh challenge and its solution, as the body fields of a public write."""
    answer = client.get("/api/public/challenge")
    assert answer.status_code == 200, answer.text
    challenge = answer.json()
    return {"challenge": challenge["challenge"], "solution": solve(challenge["challenge"], challenge["bits"])}


def comment(client: httpx.Client, scenario_id: int, text: str, lon: float, lat: float) -> httpx.Response:
    """Leave a comment as the client's visitor (with a solved challenge)."""
    body: dict[str, Any] = {"text": text, "lon": lon, "lat": lat, **solved(client)}
    return client.post(f"/api/public/consultations/{scenario_id}/comments", json=body)


def react(client: httpx.Client, scenario_id: int, stance: str | None) -> httpx.Response:
    """Support, oppose or withdraw as the client's visitor (with a solved challenge)."""
    body = {"stance": stance, **solved(client)}
    return client.put(f"/api/public/consultations/{scenario_id}/reaction", json=body)
