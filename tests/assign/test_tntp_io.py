"""TNTP reader and writer: round trips, and one clear InputError per kind of malformation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from metaliverpool.errors import InputError
from metaliverpool.ingest import tntp

NET = """<NUMBER OF ZONES> 2
<NUMBER OF NODES> 3
<FIRST THRU NODE> 3
<NUMBER OF LINKS> 3
<END OF METADATA>

~\tinit_node\tterm_node\tcapacity\tlength\tfree_flow_time\tb\tpower\tspeed\ttoll\tlink_type\t;
\t1\t3\t100\t2\t1.5\t0.15\t4\t0\t0\t1\t;
\t3\t2\t200\t3\t2\t0.15\t4\t0\t2.5\t1\t;
\t1\t2\t50\t9\t10\t0\t1\t0\t0\t2\t;
"""

TRIPS = """<NUMBER OF ZONES> 2
<TOTAL OD FLOW> 30.0
<END OF METADATA>


Origin 1
    1 :      0.0;     2 :     20.0;

Origin 2
    1 :     10.0;
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_read_net_values(tmp_path: Path) -> None:
    net = tntp.read_net(write(tmp_path, "n_net.tntp", NET))
    assert (net.zone_count, net.node_count, net.first_thru_node, net.link_count) == (2, 3, 3, 3)
    assert net.init_node.tolist() == [1, 3, 1] and net.term_node.tolist() == [3, 2, 2]
    assert net.toll.tolist() == [0.0, 2.5, 0.0] and net.link_type.tolist() == [1, 1, 2]
    assert net.toll_factor is None and net.distance_factor is None


def test_read_trips_values(tmp_path: Path) -> None:
    trips = tntp.read_trips(write(tmp_path, "t_trips.tntp", TRIPS), zone_count=2)
    np.testing.assert_array_equal(trips.demand, [[0.0, 20.0], [10.0, 0.0]])
    assert trips.total_od_flow == 30.0


def test_round_trips(tmp_path: Path) -> None:
    net = tntp.read_net(write(tmp_path, "n_net.tntp", NET))
    tntp.write_net(net, tmp_path / "copy_net.tntp")
    again = tntp.read_net(tmp_path / "copy_net.tntp")
    for name in ("init_node", "term_node", "capacity", "length", "free_flow_time", "b", "power", "toll"):
        np.testing.assert_array_equal(getattr(net, name), getattr(again, name))
    trips = tntp.read_trips(write(tmp_path, "t_trips.tntp", TRIPS))
    tntp.write_trips(trips, tmp_path / "copy_trips.tntp")
    np.testing.assert_array_equal(tntp.read_trips(tmp_path / "copy_trips.tntp").demand, trips.demand)
    flow = tntp.TntpFlow(net.init_node, net.term_node, np.array([1.5, 0.0, 1e-3]), np.array([1.0, 2.0, 3.25]))
    tntp.write_flow(flow, tmp_path / "f_flow.tntp")
    back = tntp.read_flow(tmp_path / "f_flow.tntp")
    np.testing.assert_array_equal(back.volume, flow.volume)
    np.testing.assert_array_equal(back.cost, flow.cost)
    nodes = tntp.TntpNodes(np.array([1, 2]), np.array([-96.77, -96.71]), np.array([43.61, 43.60]))
    tntp.write_nodes(nodes, tmp_path / "n_node.tntp")
    np.testing.assert_array_equal(tntp.read_nodes(tmp_path / "n_node.tntp").x, nodes.x)


def test_factors_from_metadata_win_over_arguments(tmp_path: Path) -> None:
    text = NET.replace("<END OF METADATA>", "<TOLL FACTOR> 0.5\n<DISTANCE FACTOR> 0.25\n<END OF METADATA>")
    net = tntp.read_net(write(tmp_path, "n_net.tntp", text))
    graph = tntp.road_graph_from_tntp(net, toll_factor=99.0, distance_factor=99.0)
    expected = (0.5 * net.toll + 0.25 * net.length) * 60.0
    np.testing.assert_allclose(graph.link_fixed_cost_s, expected)
    plain = tntp.road_graph_from_tntp(tntp.read_net(write(tmp_path, "p_net.tntp", NET)), distance_factor=0.04)
    np.testing.assert_allclose(plain.link_fixed_cost_s, 0.04 * net.length * 60.0)


NET_ERRORS = [
    ("missing metadata", NET.replace("<NUMBER OF NODES> 3\n", ""), "missing metadata <NUMBER OF NODES>"),
    ("bad metadata", NET.replace("<NUMBER OF LINKS> 3", "<NUMBER OF LINKS> three"), "expected an integer"),
    ("no end", NET.replace("<END OF METADATA>", ""), "expected a <KEY> value metadata line"),
    (
        "field count",
        NET.replace("\t1\t3\t100\t2\t1.5\t0.15\t4\t0\t0\t1\t;", "\t1\t3\t100\t;"),
        "expected 10 fields",
    ),
    ("not a number", NET.replace("\t200\t", "\tlots\t"), "expected a number for capacity"),
    ("node range", NET.replace("\t3\t2\t200", "\t4\t2\t200"), "init_node 4 is not a node 1..3"),
    ("negative", NET.replace("\t1.5\t", "\t-1.5\t"), "free_flow_time must be >= 0"),
    ("no capacity", NET.replace("\t100\t", "\t0\t"), "capacity must be > 0 when b > 0"),
    ("link count", NET.replace("<NUMBER OF LINKS> 3", "<NUMBER OF LINKS> 4"), "<NUMBER OF LINKS> is 4"),
    ("first thru", NET.replace("<FIRST THRU NODE> 3", "<FIRST THRU NODE> 9"), "expected a node number 1..4"),
]


@pytest.mark.parametrize(("case", "text", "message"), NET_ERRORS, ids=[c[0] for c in NET_ERRORS])
def test_net_errors(tmp_path: Path, case: str, text: str, message: str) -> None:
    path = write(tmp_path, "bad_net.tntp", text)
    with pytest.raises(InputError) as caught:
        tntp.read_net(path)
    assert message in str(caught.value)
    assert str(caught.value).startswith(str(path))


def test_net_error_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "bad_net.tntp", NET.replace("\t200\t", "\tlots\t"))
    with pytest.raises(
        InputError, match=r"bad_net.tntp: line 9: expected a number for capacity, found 'lots'"
    ):
        tntp.read_net(path)


TRIP_ERRORS = [
    ("no origin", TRIPS.replace("Origin 1\n", ""), "expected an 'Origin <zone>' line"),
    ("bad pair", TRIPS.replace("2 :     20.0;", "2 20.0;"), "expected 'zone : flow'"),
    ("zone range", TRIPS.replace("2 :     20.0;", "3 :     20.0;"), "destination 3 is not a zone 1..2"),
    ("origin range", TRIPS.replace("Origin 2", "Origin 5"), "origin 5 is not a zone 1..2"),
    ("negative", TRIPS.replace("20.0;", "-20.0;"), "flow must be >= 0"),
    ("twice", TRIPS.replace("1 :     10.0;", "1 :     10.0;  1 : 5.0;"), "pair 2 -> 1 given twice"),
    ("total", TRIPS.replace("<TOTAL OD FLOW> 30.0", "<TOTAL OD FLOW> 31.0"), "<TOTAL OD FLOW> is 31.0"),
    ("not a number", TRIPS.replace("20.0;", "twenty;"), "expected a number for flow"),
]


@pytest.mark.parametrize(("case", "text", "message"), TRIP_ERRORS, ids=[c[0] for c in TRIP_ERRORS])
def test_trips_errors(tmp_path: Path, case: str, text: str, message: str) -> None:
    with pytest.raises(InputError, match=r"bad_trips\.tntp") as caught:
        tntp.read_trips(write(tmp_path, "bad_trips.tntp", text))
    assert message in str(caught.value)


def test_trips_zone_count_must_match_network(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="the network has 3 zones but the file 2"):
        tntp.read_trips(write(tmp_path, "t_trips.tntp", TRIPS), zone_count=3)


def test_flow_and_node_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="line 2: expected 4 fields"):
        tntp.read_flow(write(tmp_path, "a_flow.tntp", "From To Volume Cost\n1 2 3\n"))
    with pytest.raises(InputError, match="volume must be >= 0"):
        tntp.read_flow(write(tmp_path, "b_flow.tntp", "From To Volume Cost\n1 2 -3 1\n"))
    with pytest.raises(InputError, match="no data rows"):
        tntp.read_flow(write(tmp_path, "c_flow.tntp", "From To Volume Cost\n"))
    with pytest.raises(InputError, match="line 3: node 1 given twice"):
        tntp.read_nodes(write(tmp_path, "d_node.tntp", "Node X Y ;\n1 0 0 ;\n1 1 1 ;\n"))
    with pytest.raises(InputError, match="file not found"):
        tntp.read_net(tmp_path / "absent_net.tntp")
    with pytest.raises(InputError, match="not a UTF-8 text file"):
        path = tmp_path / "binary_net.tntp"
        path.write_bytes(b"\xff\xfe\x00<")
        tntp.read_net(path)
