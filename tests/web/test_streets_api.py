"""The editor's look-ups on a real server process: a street grown junction by junction with its current
values and valid choices, a junction with all its signal nodes and its name, a drawn low-traffic
neighbourhood's filters, cells and rat-runs, the edit checks naming LSOAs by name; bad parameters refused."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from web.conftest import ProcessServer, new_scenario, sign_up_in
from web.streets_fixture import REGION, ltn_area, write_streets_twin


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProcessServer]:
    twin = write_streets_twin(tmp_path_factory.mktemp("streets") / "twin")
    process = ProcessServer(twin, tmp_path_factory.mktemp("streets-state")).start()
    yield process
    process.stop()


@pytest.fixture(scope="module")
def alice(server: ProcessServer) -> dict[str, str]:
    with httpx.Client(base_url=server.url) as client:
        return sign_up_in(client, "alice")


def _get(server: ProcessServer, headers: dict[str, str], path: str, **params: object) -> httpx.Response:
    with httpx.Client(base_url=server.url, timeout=60) as client:
        return client.get(path, params=params, headers=headers)


def test_a_street_grows_and_shrinks_junction_by_junction(
    server: ProcessServer, alice: dict[str, str]
) -> None:
    url = f"/api/twins/{REGION}/street"
    first = _get(server, alice, url, link_id=0).json()  # Dale Street, node 10 -> 11 (way 10)
    assert first["name"] == "Dale Street" and first["segments"] == 1
    assert first["from_junction"] == "Crosshall Street"
    assert first["to_junction"] == "Sir Thomas Street / Stanley Street"
    assert first["osm_way_ids"] == [10, 11] and first["length_m"] == 280.0
    assert first["beyond_selection_m"] == 280.0, "way 11 runs on past the junction: the edit covers it"
    assert not first["can_extend_before"] and first["can_extend_after"]
    longer = _get(server, alice, url, link_id=0, after=1).json()
    assert longer["segments"] == 2 and longer["to_junction"] == "Hatton Garden"
    whole = _get(server, alice, url, link_id=0, after=9).json()
    assert whole["segments"] == 3 and whole["osm_way_ids"] == [10, 11, 12]
    assert whole["to_junction"] == "Castle Street" and not whole["can_extend_after"]
    assert whole["beyond_selection_m"] == 0.0 and whole["length_m"] == 700.0
    assert whole["current"] == {
        "lanes": [2],
        "speed_limit_mph": [30.0],
        "highway": ["primary"],
        "one_way": False,
    }
    assert whole["choices"]["speed_limit_mph"] == [20, 40, 50, 60, 70]  # UK limits but the current 30
    assert 2 not in whole["choices"]["lanes"] and whole["choices"]["bus_lane"] is True


def test_a_one_lane_street_offers_no_bus_lane(server: ProcessServer, alice: dict[str, str]) -> None:
    rows = [_get(server, alice, f"/api/twins/{REGION}/street", link_id=k).json() for k in range(26, 34, 2)]
    assert {row["name"] for row in rows} == {"Temple Street"}
    assert rows[0]["choices"]["bus_lane"] is False
    assert rows[0]["choices"]["bus_lane_reason"].startswith("Temple Street has 1 lane in a direction")


def test_a_junction_is_all_its_signal_nodes_named_by_its_streets(
    server: ProcessServer, alice: dict[str, str]
) -> None:
    junction = _get(server, alice, f"/api/twins/{REGION}/junction", osm_node_id=717).json()
    assert junction["name"] == "Dale Street / Sir Thomas Street / Stanley Street"
    assert junction["signal_osm_node_ids"] == [712, 717] and junction["control"] == "signals"
    assert junction["cycle_s"] > 0
    assert {a["street"] for a in junction["approaches"]} == {
        "Dale Street",
        "Sir Thomas Street",
        "Stanley Street",
    }


def test_a_drawn_neighbourhood_shows_filters_cells_and_rat_runs(
    server: ProcessServer, alice: dict[str, str]
) -> None:
    with httpx.Client(base_url=server.url, timeout=60) as client:
        answer = client.post(f"/api/twins/{REGION}/ltn", json={"area": ltn_area()}, headers=alice)
        assert answer.status_code == 200, answer.text
        preview = answer.json()
        assert not preview["changes_nothing"] and preview["entries"] == 4
        assert len(preview["filters"]) == 3 and len(preview["cells"]) == 3
        assert preview["rat_runs_before"] == 4 and preview["rat_runs_after"] == 0
        assert {(r["from"], r["to"]) for r in preview["rat_runs"]} >= {("Crosshall Street", "Castle Street")}
        # main roads only: nothing to filter, said plainly
        mains = client.post(
            f"/api/twins/{REGION}/ltn",
            json={"area": ltn_area(), "minor_highways": ["service"]},
            headers=alice,
        ).json()
        assert mains["changes_nothing"] and "contains no street of the classes service" in mains["why"]


@pytest.mark.parametrize(
    ("method", "path", "payload", "status"),
    [
        ("GET", "street?link_id=99999", None, 404),
        ("GET", "street?link_id=-1", None, 422),
        ("GET", "street?link_id=0&after=51", None, 422),
        ("GET", "street?link_id=x", None, 422),
        ("GET", "junction?osm_node_id=1", None, 404),
        ("POST", "ltn", {"area": {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [0, 0]]]}}, 422),
        ("POST", "ltn", {"area": ltn_area(), "minor_highways": ["DROP TABLE"]}, 422),
        ("POST", "ltn", {"area": ltn_area(), "extra": 1}, 422),
    ],
)
def test_bad_parameters_are_refused(
    server: ProcessServer, alice: dict[str, str], method: str, path: str, payload: object, status: int
) -> None:
    with httpx.Client(base_url=server.url, timeout=60) as client:
        answer = client.request(method, f"/api/twins/{REGION}/{path}", json=payload, headers=alice)
        assert answer.status_code == status, answer.text
        assert client.get(f"/api/twins/{REGION}/street?link_id=0").status_code == 401  # no account


def test_checks_name_lsoas_by_name(server: ProcessServer, alice: dict[str, str]) -> None:
    with httpx.Client(base_url=server.url, timeout=60) as client:
        scenario = new_scenario(client, alice, twin_id=REGION)["scenario_id"]
        edits = [{"kind": "new_development", "lsoa_code": "E01006514", "homes": 100}]
        body = client.post(
            f"/api/scenarios/{scenario}/check", json={"edits": edits, "engine": "static"}, headers=alice
        )
        assert body.json()["edits"][0]["title"] == "edit 1 (100 homes in Liverpool 022C (E01006514))"
