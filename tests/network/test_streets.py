"""Street grouping on small graphs with known answers: consecutive ways of one name between junctions,
extended junction by junction; unnamed ways end no segment; a ring street stops where it closes."""

from __future__ import annotations

import numpy as np
import pytest

from metaliverpool.network.streets import StreetGraph, street_key
from small_twins import LAT0, LON0, LinkSpec, make_twin

STEP = 0.001


def _two_way(a: int, b: int, way: int, name: str, **kw: object) -> list[LinkSpec]:
    return [LinkSpec(a, b, way, name=name, **kw), LinkSpec(b, a, way, name=name, **kw)]  # type: ignore[arg-type]


def dale_street() -> StreetGraph:
    """Dale Street: nodes 0-1-2-3-4 west to east in ways 10 (0-1), 11 (1-2-3), 12 (3-4); Sir Thomas
    Street crosses at node 2 (5-2-6); an unnamed service road joins at node 1 (7); a one-way ``Hatton
    Garden`` leaves node 3 northwards (3->8)."""
    points = [(LON0 + k * STEP, LAT0) for k in range(5)]
    points += [(LON0 + 2 * STEP, LAT0 - STEP), (LON0 + 2 * STEP, LAT0 + STEP), (LON0 + STEP, LAT0 - STEP)]
    points += [(LON0 + 3 * STEP, LAT0 + STEP)]
    links = [
        *_two_way(0, 1, 10, "Dale Street"),
        *_two_way(1, 2, 11, "Dale Street"),
        *_two_way(2, 3, 11, "Dale Street"),
        *_two_way(3, 4, 12, "Dale Street"),
        *_two_way(5, 2, 20, "Sir Thomas Street"),
        *_two_way(2, 6, 20, "Sir Thomas Street"),
        *_two_way(7, 1, 30, "", highway="service"),
        LinkSpec(3, 8, 40, name="Hatton Garden", oneway=True),
    ]
    twin = make_twin(points, links)
    return StreetGraph(twin.links, twin.nodes)


def _row(graph: StreetGraph, a: int, b: int) -> int:
    return next(r for r in range(len(graph.keys)) if (graph._from[r], graph._to[r]) == (a, b))


def test_street_key_prefers_name_then_ref_then_way() -> None:
    assert street_key("Dale Street", "A57", 1) == "Dale Street"
    assert street_key("", "A57", 1) == "A57"
    assert street_key("", "", 1) == "#way1"


def test_a_segment_runs_between_named_junctions_through_an_unnamed_side_road() -> None:
    graph = dale_street()
    selection = graph.select(_row(graph, 0, 1))
    assert selection.key == "Dale Street"
    assert selection.node_ids == (0, 1, 2)  # node 1 has only an unnamed service road: no junction
    assert selection.segments == 1
    assert not selection.can_extend_before and selection.can_extend_after
    ways = {int(graph._from[r]) for r in selection.link_rows}
    assert ways == {0, 1, 2} and len(selection.link_rows) == 4  # both directions of two pairs


def test_extend_and_shorten_junction_by_junction() -> None:
    graph = dale_street()
    row = _row(graph, 2, 3)
    assert graph.select(row).node_ids == (2, 3)  # Sir Thomas Street at 2, Hatton Garden at 3
    assert graph.select(row, after=1).node_ids == (2, 3, 4)
    assert graph.select(row, before=1).node_ids == (0, 1, 2, 3)
    whole = graph.select(row, before=5, after=5)
    assert whole.node_ids == (0, 1, 2, 3, 4) and whole.segments == 3  # capped where the street ends
    assert not whole.can_extend_before and not whole.can_extend_after
    # clicked in the other direction, the same answer: a selection runs west to east
    assert graph.select(_row(graph, 3, 2), after=1) == graph.select(row, after=1)
    assert graph.select(row).towards == ("west", "east")
    assert graph.other_streets_at("Dale Street", 2) == ["Sir Thomas Street"]
    assert graph.other_streets_at("Dale Street", 1) == []


def test_a_crossing_street_is_its_own_street() -> None:
    graph = dale_street()
    selection = graph.select(_row(graph, 5, 2), after=3)
    assert selection.key == "Sir Thomas Street" and selection.node_ids == (5, 2, 6)
    one_way = graph.select(_row(graph, 3, 8))
    assert one_way.node_ids == (3, 8) and one_way.link_rows == (_row(graph, 3, 8),)


def test_a_ring_street_stops_where_it_closes() -> None:
    square = [(LON0, LAT0), (LON0 + STEP, LAT0), (LON0 + STEP, LAT0 + STEP), (LON0, LAT0 + STEP)]
    links = [spec for k in range(4) for spec in _two_way(k, (k + 1) % 4, 50, "Ring Road")]
    twin = make_twin(square, links)
    graph = StreetGraph(twin.links, twin.nodes)
    selection = graph.select(0, before=3, after=3)
    assert sorted(set(selection.node_ids)) == [0, 1, 2, 3]
    assert len(selection.link_rows) == len(set(selection.link_rows))


@pytest.mark.parametrize("turn", ["from the fork", "straight"])
def test_at_a_fork_the_straightest_way_on_is_taken(turn: str) -> None:
    """A street forks at node 1 into a straight branch (east, to 2) and one to the north-east (to 3)."""
    points = [(LON0, LAT0), (LON0 + STEP, LAT0), (LON0 + 2 * STEP, LAT0), (LON0 + 2 * STEP, LAT0 + STEP)]
    links = [
        *_two_way(0, 1, 1, "Fork Lane"),
        *_two_way(1, 2, 2, "Fork Lane"),
        *_two_way(1, 3, 3, "Fork Lane"),
    ]
    graph = StreetGraph(*(lambda t: (t.links, t.nodes))(make_twin(points, links)))
    if turn == "straight":
        chosen = graph.select(_row(graph, 0, 1), after=1).node_ids
        assert chosen == (0, 1, 2)
    else:  # from the north-east branch back through the fork: west, not east
        chosen = graph.select(_row(graph, 3, 1), before=1).node_ids
        assert chosen == (0, 1, 3)
    assert np.all(np.diff(chosen) != 0)
