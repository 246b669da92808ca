"""Things matched to the grid twin's links and junctions, and the review table a person corrects."""

from __future__ import annotations

from pathlib import Path

import pytest

from live.conftest import LAT0, LON0, STEP, CannedService, count_thing, line, point, signal_thing
from metaliverpool.errors import InputError
from metaliverpool.ingest.sensorthings import SensorThingsClient, parse_thing
from metaliverpool.ingest.sensorthings_match import match_things, read_review_table, write_review_table
from metaliverpool.network.twin import Twin
from metaliverpool.service.live_discovery import discover_feed

DEG_LAT_M = 111_200.0


def link_between(twin: Twin, a: int, b: int) -> int:
    links = twin.links
    row = links[(links["from_node_id"] == a) & (links["to_node_id"] == b)]
    return int(row["link_id"].iloc[0])


def things() -> list[dict]:
    mid_lat = LAT0 + 10 / DEG_LAT_M  # 10 m north of the street from node 0 to node 1
    return [
        count_thing(1, 101, line((LON0 + 0.4 * STEP, mid_lat), (LON0 + 0.6 * STEP, mid_lat))),  # eastbound
        count_thing(2, 102, line((LON0 + 0.6 * STEP, mid_lat), (LON0 + 0.4 * STEP, mid_lat))),  # westbound
        count_thing(3, 103, point(LON0 + STEP, LAT0 + 0.5 * STEP)),  # on the street 1 -> 4, no bearing
        count_thing(4, 104, point(LON0 + 0.5 * STEP, LAT0 + 0.5 * STEP)),  # a block's middle: 110 m away
        signal_thing(5, 105, point(LON0 + STEP + 15 / 70_000, LAT0 + STEP)),  # 15 m from the centre node
        signal_thing(6, 106, point(LON0, LAT0)),  # at a corner that has no signals
    ]


def test_detectors_match_by_point_and_bearing_and_signals_by_junction(live_twin: Twin) -> None:
    rows = {r.datastream_id: r for r in match_things([parse_thing(t) for t in things()], live_twin)}
    assert rows[101].link_id == link_between(live_twin, 0, 1) and rows[101].status == "matched"
    assert rows[101].distance_m == pytest.approx(10.0, abs=0.3)
    assert rows[101].bearing_difference_deg == pytest.approx(0.0, abs=1.0)
    assert rows[102].link_id == link_between(live_twin, 1, 0) and rows[102].status == "matched"
    assert rows[103].status == "no_bearing" and rows[103].link_id in (
        link_between(live_twin, 1, 4),
        link_between(live_twin, 4, 1),
    )
    assert rows[104].status == "unmatched" and "no car link within 50 m" in rows[104].reason
    assert (rows[105].kind, rows[105].junction_id, rows[105].status) == ("signal", 0, "matched")
    assert rows[105].distance_m == pytest.approx(15.0, abs=1.0)
    assert rows[106].status == "unmatched" and "no junction within 40 m" in rows[106].reason


def test_a_persons_corrections_survive_rediscovery(
    canned: CannedService, live_twin: Twin, tmp_path: Path
) -> None:
    canned.pages[("/v1.1/Things", 0)] = {"value": things()}
    review = tmp_path / "review.csv"
    with SensorThingsClient(canned.root) as client:
        first = discover_feed(client, live_twin, review)
    assert first.status_counts() == {"matched": 3, "no_bearing": 1, "unmatched": 2}
    # The person confirms detector 103 on the northbound link, rejects 104 and the unmatched signal.
    northbound = link_between(live_twin, 1, 4)
    text = review.read_text().splitlines()
    edited = [text[0]]
    for row in text[1:]:
        cells = row.split(",")
        if cells[1] == "103":
            cells[4], cells[8] = str(northbound), "confirmed"
        if cells[1] in ("104", "106"):
            cells[8] = "rejected"
        edited.append(",".join(cells))
    review.write_text("\n".join(edited) + "\n")
    with SensorThingsClient(canned.root) as client:
        again = discover_feed(client, live_twin, review)
    by_id = {m.datastream_id: m for m in again.matches}
    assert (by_id[103].link_id, by_id[103].status) == (northbound, "confirmed")
    assert sorted(again.datastreams) == [101, 102, 103, 105]
    assert [m.datastream_id for m in read_review_table(review, live_twin)] == [101, 102, 103, 104, 105, 106]


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("status", "maybe", "line 2, column 'status': expected one of"),
        ("link_id", "99999", "line 2, column 'link_id': link_id 99999 is not in the twin"),
        ("link_id", "", "line 2, column 'link_id': a matched detector needs a link_id"),
        ("datastream_id", "x", "line 2, column 'datastream_id': expected a int or nothing"),
    ],
)
def test_a_bad_review_table_names_line_and_column(
    live_twin: Twin, tmp_path: Path, column: str, value: str, message: str
) -> None:
    review = tmp_path / "review.csv"
    write_review_table(match_things([parse_thing(things()[0])], live_twin), review)
    header, row = review.read_text().splitlines()
    cells = row.split(",")
    cells[header.split(",").index(column)] = value
    review.write_text(f"{header}\n{','.join(cells)}\n")
    with pytest.raises(InputError, match=message):
        read_review_table(review, live_twin)
