"""Public consultations over HTTP against a real server process, on SQLite and PostgreSQL: an owner
publishes a scenario; visitors without an account see it, comment at a point (held for moderation) and
support or oppose it once each; the owner approves, rejects and answers, and exports the comments as
CSV and GeoJSON; the challenge, the content checks and the rate limits refuse what they should."""

from __future__ import annotations

import contextlib
import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from shapely.geometry import shape

from web.conftest import ProcessServer, fresh_postgres_database, new_scenario, sign_up_in
from web.consult_client import comment, react, solve, solved
from web.twin_fixture import SOUTH_DEG, STEP_DEG, WEST_DEG

INSIDE = (WEST_DEG + STEP_DEG, SOUTH_DEG + STEP_DEG)
"""A point in the middle of the grid twin (lon, lat degrees)."""
LIMITS = {"comments_per_visitor": 3, "comments_per_address": 5, "challenges_per_address": 40}


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def server(
    request: pytest.FixtureRequest, twin_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ProcessServer]:
    """A server process on SQLite or on a fresh PostgreSQL database, with low public write limits (one
    per module and database: the tests use their own scenarios and client addresses)."""
    with contextlib.ExitStack() as stack:
        url = None if request.param == "sqlite" else stack.enter_context(fresh_postgres_database())
        state = tmp_path_factory.mktemp("state")
        started = ProcessServer(twin_dir, state, database_url=url, public_limits=LIMITS).start()
        stack.callback(started.stop)
        yield started


def visitor(server: ProcessServer, address: str) -> httpx.Client:
    """A client with no account and no cookie yet, at ``address`` (as the proxy on 127.0.0.1 that
    uvicorn trusts says in ``X-Forwarded-For``): each test counts against its own addresses."""
    return httpx.Client(base_url=server.url, timeout=30, headers={"X-Forwarded-For": address})


def published(client: httpx.Client, owner: dict[str, str], name: str = "Close Castle Street") -> int:
    scenario_id = int(
        new_scenario(client, owner, name=name, description="A car-free Castle Street")["scenario_id"]
    )
    answer = client.put(f"/api/scenarios/{scenario_id}/publication", json={"published": True}, headers=owner)
    assert answer.status_code == 200 and answer.json()["published_at_s"] > 0, answer.text
    return scenario_id


def test_publish_comment_moderate_answer_react_and_export(server: ProcessServer) -> None:
    with (
        httpx.Client(base_url=server.url, timeout=30) as client,
        visitor(server, "198.51.100.1") as anne,
        visitor(server, "198.51.100.2") as ben,
    ):
        owner = sign_up_in(client, "olivia")
        private_id = int(new_scenario(client, owner, name="Draft")["scenario_id"])
        scenario_id = published(client, owner)

        listed = anne.get("/api/public/consultations").json()
        mine = [c for c in listed if c["scenario_id"] in (scenario_id, private_id)]
        assert [c["scenario_id"] for c in mine] == [scenario_id]
        assert mine[0]["owner"] == "olivia" and mine[0]["reactions"] == {"support": 0, "oppose": 0}
        assert anne.get(f"/api/public/consultations/{private_id}").status_code == 404
        seen = anne.get(f"/api/public/consultations/{scenario_id}").json()
        assert seen["name"] == "Close Castle Street" and seen["results"] is None and seen["comments"] == []
        assert seen["bounds"][0] <= INSIDE[0] <= seen["bounds"][2]
        assert anne.get(f"/api/public/consultations/{scenario_id}/report").status_code == 404  # no run yet

        left = comment(anne, scenario_id, "Keep a loading bay, please", *INSIDE)
        assert left.status_code == 202, left.text
        assert left.json()["status"] == "pending" and "ml_visitor" in left.cookies
        comment_id = left.json()["comment_id"]
        spam = comment(ben, scenario_id, '=HYPERLINK("x")', *INSIDE)
        assert spam.status_code == 202
        assert anne.get(f"/api/public/consultations/{scenario_id}").json()["comments"] == []  # hidden

        queue = client.get(
            f"/api/scenarios/{scenario_id}/public-comments?status=pending", headers=owner
        ).json()
        assert [c["text"] for c in queue] == ["Keep a loading bay, please", '=HYPERLINK("x")']
        assert queue[0]["visitor"] != queue[1]["visitor"]
        base = f"/api/scenarios/{scenario_id}/public-comments"
        moderated = client.patch(
            f"{base}/{comment_id}",
            json={"status": "approved", "answer": "Yes: one bay at no. 12"},
            headers=owner,
        )
        assert moderated.status_code == 200 and moderated.json()["answered_by"] == "olivia"
        assert (
            client.patch(
                f"{base}/{spam.json()['comment_id']}", json={"status": "rejected"}, headers=owner
            ).status_code
            == 200
        )

        shown = anne.get(f"/api/public/consultations/{scenario_id}").json()["comments"]
        assert [(c["text"], c["answer"]) for c in shown] == [
            ("Keep a loading bay, please", "Yes: one bay at no. 12")
        ]
        assert "visitor" not in shown[0] and "status" not in shown[0]

        assert react(anne, scenario_id, "support").json()["reactions"] == {"support": 1, "oppose": 0}
        changed = react(anne, scenario_id, "oppose").json()  # one reaction per visitor: it is replaced
        assert changed == {"reactions": {"support": 0, "oppose": 1}, "your_stance": "oppose"}
        assert react(ben, scenario_id, "support").json()["reactions"] == {"support": 1, "oppose": 1}
        assert anne.get(f"/api/public/consultations/{scenario_id}").json()["your_stance"] == "oppose"
        assert react(ben, scenario_id, None).json()["reactions"] == {"support": 0, "oppose": 1}

        exported = client.get(f"/api/scenarios/{scenario_id}/public-export?format=csv", headers=owner)
        assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(exported.text)))
        assert [(r["status"], r["text"]) for r in rows] == [
            ("approved", "Keep a loading bay, please"),
            ("rejected", '\'=HYPERLINK("x")'),  # a formula is defused for spreadsheets
        ]
        assert (
            float(rows[0]["lon"]) == pytest.approx(INSIDE[0])
            and rows[0]["answer"] == "Yes: one bay at no. 12"
        )
        assert rows[0]["created_at"].endswith("Z")
        geojson = client.get(
            f"/api/scenarios/{scenario_id}/public-export?format=geojson&status=approved", headers=owner
        )
        assert geojson.headers["content-type"].startswith("application/geo+json")
        collection = json.loads(geojson.text)
        assert collection["type"] == "FeatureCollection" and len(collection["features"]) == 1
        point = shape(collection["features"][0]["geometry"])  # a valid GeoJSON geometry (shapely reads it)
        assert point.geom_type == "Point" and (point.x, point.y) == pytest.approx(INSIDE)

        editor = sign_up_in(client, "eddie")
        client.put(f"/api/scenarios/{scenario_id}/members/eddie", json={"role": "editor"}, headers=owner)
        assert client.get(base, headers=editor).status_code == 403
        assert client.get(f"/api/scenarios/{scenario_id}/public-export", headers=editor).status_code == 403
        assert (
            client.put(
                f"/api/scenarios/{scenario_id}/publication", json={"published": False}, headers=editor
            ).status_code
            == 403
        )
        assert anne.get(base).status_code == 401

        client.put(f"/api/scenarios/{scenario_id}/publication", json={"published": False}, headers=owner)
        assert anne.get(f"/api/public/consultations/{scenario_id}").status_code == 404
        assert scenario_id not in [c["scenario_id"] for c in anne.get("/api/public/consultations").json()]
        assert comment(anne, scenario_id, "still there?", *INSIDE).status_code == 404


def test_challenge_and_content_are_checked(server: ProcessServer) -> None:
    with httpx.Client(base_url=server.url, timeout=30) as client, visitor(server, "198.51.100.9") as anne:
        scenario_id = published(client, sign_up_in(client, "oscar"))
        url = f"/api/public/consultations/{scenario_id}/comments"
        point = {"lon": INSIDE[0], "lat": INSIDE[1]}

        assert anne.post(url, json={"text": "no challenge", **point}).status_code == 422
        unknown = anne.post(url, json={"text": "x", **point, "challenge": "0" * 32, "solution": "1"})
        assert unknown.status_code == 422 and "challenge" in unknown.json()["detail"]
        issued = anne.get("/api/public/challenge").json()
        assert issued["bits"] == 16
        wrong = next(str(n) for n in range(1000) if not _solves(issued["challenge"], str(n), issued["bits"]))
        refused = anne.post(
            url, json={"text": "x", **point, "challenge": issued["challenge"], "solution": wrong}
        )
        assert refused.status_code == 422 and "solution" in refused.json()["detail"]
        right = solve(issued["challenge"], issued["bits"])
        again = anne.post(
            url, json={"text": "x", **point, "challenge": issued["challenge"], "solution": right}
        )
        assert again.status_code == 422 and "used" in again.json()["detail"]  # a wrong try used it up

        addresses = iter(range(1, 100))

        def leave(**fields: object) -> httpx.Response:
            """A new visitor from a new address (through the proxy on 127.0.0.1 that uvicorn trusts)."""
            anne.cookies.clear()
            headers = {"X-Forwarded-For": f"192.0.2.{next(addresses)}"}
            return anne.post(url, json={"text": "fine", **point, **solved(anne), **fields}, headers=headers)

        assert leave(lon=INSIDE[0] + 0.5).status_code == 422  # outside the scenario's area
        assert "lon" in leave(lon=INSIDE[0] + 0.5).json()["detail"]
        assert leave(text="see http://a.example http://b.example www.c.example").status_code == 422
        assert leave(text="   ").status_code == 422
        assert leave(text="bell \x07").status_code == 422
        assert leave(text="x" * 2001).status_code == 422
        not_a_number = anne.post(
            url,
            content=b'{"text": "x", "lon": NaN, "lat": 53.4}',
            headers={"content-type": "application/json"},
        )
        assert not_a_number.status_code in (400, 422)
        assert (
            anne.post(
                url, content=b"{" + b" " * 2_000_000 + b"}", headers={"content-type": "application/json"}
            ).status_code
            == 413
        )
        assert leave().status_code == 202
        answer = anne.post(
            "/api/public/consultations/999999/comments", json={"text": "x", **point, **solved(anne)}
        )
        assert answer.status_code == 404


def _solves(challenge: str, solution: str, bits: int) -> bool:
    import hashlib

    digest = hashlib.sha256(f"{challenge}:{solution}".encode()).digest()
    return int.from_bytes(digest, "big") >> (256 - bits) == 0


def test_rate_limits_per_visitor_then_per_address(server: ProcessServer) -> None:
    with (
        httpx.Client(base_url=server.url, timeout=30) as client,
        visitor(server, "203.0.113.7") as anne,
        visitor(server, "203.0.113.7") as ben,
    ):
        scenario_id = published(client, sign_up_in(client, "owen"))
        answers = [comment(anne, scenario_id, f"note {n}", *INSIDE).status_code for n in range(4)]
        assert answers == [202, 202, 202, 429]  # 3 per visitor
        over = comment(anne, scenario_id, "again", *INSIDE)
        assert over.status_code == 429 and "visitor" in over.json()["detail"]
        assert 1 <= int(over.headers["retry-after"]) <= 3600
        # a second visitor at the same address: the address's 5 (the refused tries did not count)
        assert [comment(ben, scenario_id, f"b {n}", *INSIDE).status_code for n in range(3)] == [202, 202, 429]
        by_address = comment(ben, scenario_id, "b", *INSIDE)
        assert by_address.status_code == 429 and "address" in by_address.json()["detail"]
        # reactions have their own counts; challenges are limited per address
        assert react(ben, scenario_id, "support").status_code == 200
        codes = [anne.get("/api/public/challenge").status_code for _ in range(40)]
        assert codes[-1] == 429 and codes.count(200) == 40 - codes.count(429)
        queue = client.get(
            f"/api/scenarios/{scenario_id}/public-comments", headers=sign_up_in(client, "x-other")
        )
        assert queue.status_code == 404  # a private scenario's queue does not exist for others
