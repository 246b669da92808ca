"""Streets as people name them: consecutive links with the same name (or ref) between two junctions.

A link's *street key* is its OSM ``name``, else its ``ref``, else ``#way<osm_way_id>`` (an unnamed way is
a street of its own). Along one key the links form an undirected graph (a one-way street still joins its
two ends). A node *ends a segment* of a street when the street does not simply pass through it there:

- another named street meets it (a junction as people see it: ``Dale Street / Sir Thomas Street``),
- the street ends or branches (not exactly two neighbours along the street).

An unnamed way, a driveway or a service road joining the street does not end a segment. A *segment* is
the chain of the street's links between two such nodes; a *selection* is the clicked segment extended
junction by junction at either end (at a branch the straightest continuation is taken).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

UNNAMED_PREFIX = "#way"
"""Street keys of unnamed ways start with this (``#way1000``): they are not names and end no segment."""


def street_key(name: str, ref: str, osm_way_id: int) -> str:
    """The key links of one street share: the name, else the ref, else the way itself."""
    return name or ref or f"{UNNAMED_PREFIX}{osm_way_id}"


def _text(frame: pd.DataFrame, column: str) -> list[str]:
    if column not in frame.columns:
        return [""] * len(frame)
    return [value if isinstance(value, str) else "" for value in frame[column].to_numpy(dtype=object)]


@dataclass(frozen=True)
class StreetSelection:
    """A run of one street: its key, its nodes in order (``node_ids``, twin node ids, ends included), the
    rows of ``links`` along it (both directions), and whether it can grow at either end."""

    key: str
    node_ids: tuple[int, ...]
    """West to east (south to north on a street running more north-south), the clicked segment's way."""
    link_rows: tuple[int, ...]
    segments: int
    can_extend_before: bool
    can_extend_after: bool
    towards: tuple[str, str]
    """The compass words of the two ends: ``("west", "east")`` or ``("south", "north")``."""

    @property
    def named(self) -> bool:
        """The street has a name or a ref (not an unnamed way)."""
        return not self.key.startswith(UNNAMED_PREFIX)


class StreetGraph:
    """Each street's undirected graph over the twin's links, and the named streets at each node."""

    def __init__(self, links: pd.DataFrame, nodes: pd.DataFrame) -> None:
        names, refs = _text(links, "name"), _text(links, "ref")
        ways = links["osm_way_id"].to_numpy(dtype=np.int64)
        self.keys = [street_key(n, r, int(w)) for n, r, w in zip(names, refs, ways, strict=True)]
        link_from = links["from_node_id"].to_numpy(dtype=np.int64)
        link_to = links["to_node_id"].to_numpy(dtype=np.int64)
        self._neighbours: dict[tuple[str, int], list[int]] = {}
        self._pair_rows: dict[tuple[str, int, int], list[int]] = {}
        self._named_at: dict[int, set[str]] = {}
        for row, (key, a, b) in enumerate(zip(self.keys, link_from.tolist(), link_to.tolist(), strict=True)):
            pair = (key, min(a, b), max(a, b))
            if pair not in self._pair_rows:
                self._pair_rows[pair] = []
                if a != b:
                    self._neighbours.setdefault((key, a), []).append(b)
                    self._neighbours.setdefault((key, b), []).append(a)
            self._pair_rows[pair].append(row)
            if not key.startswith(UNNAMED_PREFIX):
                self._named_at.setdefault(a, set()).add(key)
                self._named_at.setdefault(b, set()).add(key)
        self._lon = dict(zip(nodes["node_id"].tolist(), nodes["lon"].tolist(), strict=True))
        self._lat = dict(zip(nodes["node_id"].tolist(), nodes["lat"].tolist(), strict=True))
        self._from = link_from
        self._to = link_to

    def neighbours(self, key: str, node: int) -> list[int]:
        """The nodes next to ``node`` along street ``key``."""
        return self._neighbours.get((key, node), [])

    def other_streets_at(self, key: str, node: int) -> list[str]:
        """The named streets other than ``key`` that touch ``node``, sorted."""
        return sorted(self._named_at.get(node, set()) - {key})

    def ends_segment(self, key: str, node: int) -> bool:
        """The street does not simply pass through ``node`` (see the module docstring)."""
        return len(self.neighbours(key, node)) != 2 or bool(self.other_streets_at(key, node))

    def _walk(self, key: str, previous: int, node: int, seen: set[int]) -> list[int]:
        """Nodes after ``node`` (coming from ``previous``) up to and including the next segment end."""
        path: list[int] = []
        while not self.ends_segment(key, node):
            following = [n for n in self.neighbours(key, node) if n != previous]
            if not following or following[0] in seen:
                break  # a ring street: stop where it closes
            previous, node = node, following[0]
            seen.add(node)
            path.append(node)
        return path

    def segment_nodes(self, row: int) -> list[int]:
        """The nodes of the segment holding link ``row``, in the link's direction."""
        key, a, b = self.keys[row], int(self._from[row]), int(self._to[row])
        seen = {a, b}
        ahead = self._walk(key, a, b, seen)
        behind = self._walk(key, b, a, seen)
        return [*reversed(behind), a, b, *ahead]

    def _bearing_rad(self, a: int, b: int) -> float:
        dx = (self._lon[b] - self._lon[a]) * math.cos(math.radians(self._lat[a]))
        return math.atan2(self._lat[b] - self._lat[a], dx)

    def _extend(self, key: str, path: list[int]) -> list[int] | None:
        """``path`` grown by one segment past its last node (the straightest way on), or None at the
        street's end."""
        previous, end = path[-2], path[-1]
        used = set(path)
        onward = [n for n in self.neighbours(key, end) if n not in used]
        if not onward:
            return None
        heading = self._bearing_rad(previous, end)

        def turn(n: int) -> float:
            delta = self._bearing_rad(end, n) - heading
            return abs(math.atan2(math.sin(delta), math.cos(delta)))

        nxt = min(onward, key=turn)
        used.add(nxt)
        return [*path, nxt, *self._walk(key, end, nxt, used)]

    def _grow(self, key: str, path: list[int], count: int) -> tuple[list[int], int]:
        """``path`` grown by up to ``count`` segments past its last node, and by how many it grew."""
        for grown_by in range(count):
            grown = self._extend(key, path)
            if grown is None:
                return path, grown_by
            path = grown
        return path, count

    def _oriented(self, path: list[int]) -> tuple[list[int], tuple[str, str]]:
        """``path`` running west to east, or south to north when it runs more north-south, and the words
        of its two ends (whichever direction of a two-way street was clicked, the same answer)."""
        first, last = path[0], path[-1]
        dx = (self._lon[last] - self._lon[first]) * math.cos(math.radians(self._lat[first]))
        dy = self._lat[last] - self._lat[first]
        if abs(dx) >= abs(dy):
            return (path if dx >= 0 else path[::-1]), ("west", "east")
        return (path if dy >= 0 else path[::-1]), ("south", "north")

    def select(self, row: int, before: int = 0, after: int = 0) -> StreetSelection:
        """The segment of link ``row`` (oriented by :meth:`_oriented`) extended by ``before`` segments at
        its west (south) end and ``after`` at its east (north) end, fewer where the street ends."""
        key = self.keys[row]
        path, towards = self._oriented(self.segment_nodes(row))
        path, grown_after = self._grow(key, path, after)
        path, grown_before = self._grow(key, path[::-1], before)
        path.reverse()
        segments = 1 + grown_after + grown_before
        rows = [r for a, b in itertools.pairwise(path) for r in self._pair_rows[(key, min(a, b), max(a, b))]]
        return StreetSelection(
            key=key,
            node_ids=tuple(path),
            link_rows=tuple(sorted(rows)),
            segments=segments,
            can_extend_before=self._extend(key, list(reversed(path))) is not None,
            can_extend_after=self._extend(key, path) is not None,
            towards=towards,
        )
