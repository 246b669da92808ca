"""TNTP files (Transportation Networks for Research): read, write, and compile to a :class:`RoadGraph`.

Four kinds of file, as in https://github.com/bstabler/TransportationNetworks:

- ``*_net.tntp``: metadata (``<NUMBER OF ZONES>``, ``<NUMBER OF NODES>``, ``<FIRST THRU NODE>``,
  ``<NUMBER OF LINKS>``, optionally ``<TOLL FACTOR>``, ``<DISTANCE FACTOR>``), ``<END OF METADATA>``, then one
  link per line: ``init_node term_node capacity length free_flow_time b power speed toll link_type ;``.
- ``*_trips.tntp``: ``<NUMBER OF ZONES>``, ``<TOTAL OD FLOW>``, then ``Origin o`` blocks of ``d : flow;``.
- ``*_flow.tntp``: a header line then ``from to volume cost`` per link.
- ``*_node.tntp``: a header line then ``node x y ;``.

Values keep the file's units (TNTP times are usually minutes). Node and zone numbers in the file start at
1; zones are nodes ``1..zones``. Every malformation raises :class:`~metaliverpool.errors.InputError` naming
the file, the line and what was expected. Writers go through :mod:`metaliverpool.atomic`.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt

from metaliverpool.atomic import write_text_atomic
from metaliverpool.errors import InputError
from metaliverpool.network.graph import VDF_BPR, RoadGraph

LINK_COLUMNS = (
    "init_node",
    "term_node",
    "capacity",
    "length",
    "free_flow_time",
    "b",
    "power",
    "speed",
    "toll",
    "link_type",
)
_META = re.compile(r"^\s*<([^>]+)>\s*(.*?)\s*$")
_ORIGIN = re.compile(r"^\s*Origin\s+(\S+)\s*$", re.IGNORECASE)
_PAIR = re.compile(r"^\s*([^:;\s]+)\s*:\s*([^:;\s]+)\s*$")

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True, eq=False)
class TntpNetwork:
    """The content of a ``_net.tntp`` file (arrays indexed by link row, in file order and units)."""

    zone_count: int
    node_count: int
    first_thru_node: int
    init_node: IntArray
    term_node: IntArray
    capacity: FloatArray
    length: FloatArray
    free_flow_time: FloatArray
    b: FloatArray
    power: FloatArray
    speed: FloatArray
    toll: FloatArray
    link_type: IntArray
    toll_factor: float | None = None
    distance_factor: float | None = None
    metadata: dict[str, str] = field(default_factory=dict)

    @property
    def link_count(self) -> int:
        """Number of links."""
        return int(self.init_node.shape[0])


@dataclass(frozen=True, eq=False)
class TntpTrips:
    """The content of a ``_trips.tntp`` file: ``demand[o - 1, d - 1]`` trips from zone o to zone d."""

    zone_count: int
    demand: FloatArray
    total_od_flow: float | None = None


@dataclass(frozen=True, eq=False)
class TntpFlow:
    """The content of a ``_flow.tntp`` file (one row per link)."""

    init_node: IntArray
    term_node: IntArray
    volume: FloatArray
    cost: FloatArray


@dataclass(frozen=True, eq=False)
class TntpNodes:
    """The content of a ``_node.tntp`` file."""

    node: IntArray
    x: FloatArray
    y: FloatArray


def _read_lines(path: Path) -> list[str]:
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "file not found")
    try:
        return path.read_text(encoding="utf-8", errors="strict").splitlines()
    except UnicodeDecodeError as error:
        raise InputError(path, f"not a UTF-8 text file ({error.reason})") from None


def _split_metadata(path: Path, lines: list[str]) -> tuple[dict[str, str], int]:
    """Metadata keys (upper case) and the index of the first line after ``<END OF METADATA>``."""
    metadata: dict[str, str] = {}
    for index, line in enumerate(lines):
        stripped = line.strip()
        if not stripped or stripped.startswith("~"):
            continue
        match = _META.match(stripped)
        if match is None:
            raise InputError(
                path,
                f"expected a <KEY> value metadata line or <END OF METADATA>, found {stripped[:40]!r}",
                where=f"line {index + 1}",
            )
        key = match.group(1).strip().upper()
        if key == "END OF METADATA":
            return metadata, index + 1
        metadata[key] = match.group(2)
    raise InputError(path, "no <END OF METADATA> line")


def _meta_int(path: Path, metadata: dict[str, str], key: str, *, required: bool = True) -> int | None:
    if key not in metadata:
        if required:
            raise InputError(path, f"missing metadata <{key}>")
        return None
    text = metadata[key].strip()
    try:
        return int(text)
    except ValueError:
        raise InputError(path, f"expected an integer, found {text!r}", where=f"<{key}>") from None


def _meta_float(path: Path, metadata: dict[str, str], key: str) -> float | None:
    if key not in metadata:
        return None
    text = metadata[key].strip()
    try:
        value = float(text)
    except ValueError:
        raise InputError(path, f"expected a number, found {text!r}", where=f"<{key}>") from None
    if not math.isfinite(value):
        raise InputError(path, f"expected a finite number, found {text!r}", where=f"<{key}>")
    return value


def _data_rows(lines: list[str], start: int) -> list[tuple[int, list[str]]]:
    """(line number, fields) of every non-blank, non-comment line from ``start``, ``;`` removed."""
    rows = []
    for index in range(start, len(lines)):
        stripped = lines[index].strip()
        if not stripped or stripped.startswith("~"):
            continue
        if stripped.endswith(";"):
            stripped = stripped[:-1]
        rows.append((index + 1, stripped.split()))
    return rows


def _number(path: Path, text: str, line: int, name: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise InputError(
            path, f"expected a number for {name}, found {text!r}", where=f"line {line}"
        ) from None
    if not math.isfinite(value):
        raise InputError(path, f"expected a finite number for {name}, found {text!r}", where=f"line {line}")
    return value


def _whole(path: Path, text: str, line: int, name: str) -> int:
    value = _number(path, text, line, name)
    if value != int(value):
        raise InputError(path, f"expected a whole number for {name}, found {text!r}", where=f"line {line}")
    return int(value)


def read_net(path: Path) -> TntpNetwork:
    """Read a ``_net.tntp`` file.

    Raises
    ------
    InputError
        Missing file or metadata, a link line without 10 fields or with a non-numeric field, a node
        outside ``1..<NUMBER OF NODES>``, a negative value, a congestible link without capacity, or a
        link count that differs from ``<NUMBER OF LINKS>``.
    """
    path = Path(path)
    lines = _read_lines(path)
    metadata, start = _split_metadata(path, lines)
    zones = _meta_int(path, metadata, "NUMBER OF ZONES")
    nodes = _meta_int(path, metadata, "NUMBER OF NODES")
    links = _meta_int(path, metadata, "NUMBER OF LINKS")
    first_thru = _meta_int(path, metadata, "FIRST THRU NODE", required=False)
    assert zones is not None and nodes is not None and links is not None
    if first_thru is None:
        first_thru = 1
    if zones < 0 or nodes < 1 or zones > nodes:
        raise InputError(path, f"need 0 <= zones <= nodes and nodes >= 1, found {zones} zones, {nodes} nodes")
    if not 1 <= first_thru <= nodes + 1:
        raise InputError(path, f"expected a node number 1..{nodes + 1}", where="<FIRST THRU NODE>")
    rows = _data_rows(lines, start)
    values = np.zeros((len(rows), len(LINK_COLUMNS)), dtype=np.float64)
    for i, (line, fields) in enumerate(rows):
        if len(fields) != len(LINK_COLUMNS):
            raise InputError(
                path,
                f"expected {len(LINK_COLUMNS)} fields ({' '.join(LINK_COLUMNS)}), found {len(fields)}",
                where=f"line {line}",
            )
        for j, name in enumerate(LINK_COLUMNS):
            values[i, j] = _number(path, fields[j], line, name)
        for j in (0, 1):
            node = values[i, j]
            if node != int(node) or not 1 <= node <= nodes:
                raise InputError(
                    path, f"{LINK_COLUMNS[j]} {fields[j]} is not a node 1..{nodes}", where=f"line {line}"
                )
        for j in (2, 3, 4, 5, 6):
            if values[i, j] < 0:
                raise InputError(
                    path, f"{LINK_COLUMNS[j]} must be >= 0, found {fields[j]}", where=f"line {line}"
                )
        if values[i, 2] <= 0 and values[i, 5] > 0 and values[i, 4] > 0:
            raise InputError(path, "capacity must be > 0 when b > 0", where=f"line {line}")
    if len(rows) != links:
        raise InputError(path, f"<NUMBER OF LINKS> is {links} but the file has {len(rows)} link lines")
    return TntpNetwork(
        zone_count=zones,
        node_count=nodes,
        first_thru_node=first_thru,
        init_node=values[:, 0].astype(np.int64),
        term_node=values[:, 1].astype(np.int64),
        capacity=values[:, 2].copy(),
        length=values[:, 3].copy(),
        free_flow_time=values[:, 4].copy(),
        b=values[:, 5].copy(),
        power=values[:, 6].copy(),
        speed=values[:, 7].copy(),
        toll=values[:, 8].copy(),
        link_type=values[:, 9].astype(np.int64),
        toll_factor=_meta_float(path, metadata, "TOLL FACTOR"),
        distance_factor=_meta_float(path, metadata, "DISTANCE FACTOR"),
        metadata=metadata,
    )


def read_trips(path: Path, *, zone_count: int | None = None) -> TntpTrips:
    """Read a ``_trips.tntp`` file into a dense zone-by-zone matrix.

    ``zone_count`` (from the network) must match the file's ``<NUMBER OF ZONES>`` when given.

    Raises
    ------
    InputError
        Missing metadata, a destination before any ``Origin`` line, a malformed ``d : flow`` pair, a zone
        outside ``1..<NUMBER OF ZONES>``, a negative or repeated entry, or a total that differs from
        ``<TOTAL OD FLOW>`` by more than 0.01%.
    """
    path = Path(path)
    lines = _read_lines(path)
    metadata, start = _split_metadata(path, lines)
    zones = _meta_int(path, metadata, "NUMBER OF ZONES")
    assert zones is not None
    if zones < 1:
        raise InputError(path, f"expected at least 1 zone, found {zones}", where="<NUMBER OF ZONES>")
    if zone_count is not None and zones != zone_count:
        raise InputError(
            path, f"the network has {zone_count} zones but the file {zones}", where="<NUMBER OF ZONES>"
        )
    total = _meta_float(path, metadata, "TOTAL OD FLOW")
    demand = np.zeros((zones, zones), dtype=np.float64)
    seen = np.zeros((zones, zones), dtype=bool)
    origin = -1
    for index in range(start, len(lines)):
        stripped = lines[index].strip()
        line = index + 1
        if not stripped or stripped.startswith("~"):
            continue
        match = _ORIGIN.match(stripped)
        if match is not None:
            origin = _whole(path, match.group(1), line, "origin")
            if not 1 <= origin <= zones:
                raise InputError(path, f"origin {origin} is not a zone 1..{zones}", where=f"line {line}")
            continue
        if origin < 0:
            raise InputError(
                path, "expected an 'Origin <zone>' line before destinations", where=f"line {line}"
            )
        for part in stripped.split(";"):
            if not part.strip():
                continue
            pair = _PAIR.match(part)
            if pair is None:
                raise InputError(
                    path, f"expected 'zone : flow', found {part.strip()!r}", where=f"line {line}"
                )
            destination = _whole(path, pair.group(1), line, "destination")
            flow = _number(path, pair.group(2), line, "flow")
            if not 1 <= destination <= zones:
                raise InputError(
                    path, f"destination {destination} is not a zone 1..{zones}", where=f"line {line}"
                )
            if flow < 0:
                raise InputError(path, f"flow must be >= 0, found {pair.group(2)}", where=f"line {line}")
            if seen[origin - 1, destination - 1]:
                raise InputError(path, f"pair {origin} -> {destination} given twice", where=f"line {line}")
            seen[origin - 1, destination - 1] = True
            demand[origin - 1, destination - 1] = flow
    if total is not None:
        found = float(demand.sum())
        if abs(found - total) > 1e-4 * max(abs(total), 1.0):
            raise InputError(path, f"<TOTAL OD FLOW> is {total} but the entries sum to {found:.6f}")
    return TntpTrips(zone_count=zones, demand=demand, total_od_flow=total)


def _read_table(path: Path, columns: int, names: tuple[str, ...]) -> tuple[list[int], np.ndarray]:
    lines = _read_lines(path)
    rows: list[list[float]] = []
    line_numbers: list[int] = []
    header_done = False
    for index, raw in enumerate(lines):
        stripped = raw.strip()
        if not stripped or stripped.startswith("~") or stripped.startswith("<"):
            continue
        if stripped.endswith(";"):
            stripped = stripped[:-1]
        fields = stripped.split()
        if not header_done:
            header_done = True
            try:
                float(fields[0])
            except ValueError:
                continue
        if len(fields) != columns:
            raise InputError(
                path,
                f"expected {columns} fields ({' '.join(names)}), found {len(fields)}",
                where=f"line {index + 1}",
            )
        rows.append([_number(path, text, index + 1, names[j]) for j, text in enumerate(fields)])
        line_numbers.append(index + 1)
    if not rows:
        raise InputError(path, f"no data rows (expected lines of {' '.join(names)})")
    return line_numbers, np.asarray(rows, dtype=np.float64)


def read_flow(path: Path) -> TntpFlow:
    """Read a ``_flow.tntp`` file (``from to volume cost`` per line after a header).

    Raises
    ------
    InputError
        Missing file, no rows, a row without 4 fields, a non-numeric field, a negative volume or a
        non-integer node.
    """
    path = Path(path)
    line_numbers, table = _read_table(path, 4, ("from", "to", "volume", "cost"))
    for i, line in enumerate(line_numbers):
        for j in (0, 1):
            if table[i, j] != int(table[i, j]) or table[i, j] < 1:
                raise InputError(
                    path, f"expected a node number >= 1, found {table[i, j]}", where=f"line {line}"
                )
        if table[i, 2] < 0:
            raise InputError(path, f"volume must be >= 0, found {table[i, 2]}", where=f"line {line}")
    return TntpFlow(
        init_node=table[:, 0].astype(np.int64),
        term_node=table[:, 1].astype(np.int64),
        volume=table[:, 2].copy(),
        cost=table[:, 3].copy(),
    )


def read_nodes(path: Path) -> TntpNodes:
    """Read a ``_node.tntp`` file (``node x y ;`` per line after a header).

    Raises
    ------
    InputError
        Missing file, no rows, a row without 3 fields, a non-numeric field or a repeated node.
    """
    path = Path(path)
    line_numbers, table = _read_table(path, 3, ("node", "x", "y"))
    node = table[:, 0]
    for i, line in enumerate(line_numbers):
        if node[i] != int(node[i]) or node[i] < 1:
            raise InputError(path, f"expected a node number >= 1, found {node[i]}", where=f"line {line}")
    unique, counts = np.unique(node, return_counts=True)
    if np.any(counts > 1):
        repeated = int(unique[counts > 1][0])
        line = line_numbers[int(np.flatnonzero(node == repeated)[1])]
        raise InputError(path, f"node {repeated} given twice", where=f"line {line}")
    return TntpNodes(node=node.astype(np.int64), x=table[:, 1].copy(), y=table[:, 2].copy())


def _format(value: float) -> str:
    return repr(float(value)) if value != int(value) or abs(value) >= 1e15 else str(int(value))


def write_net(network: TntpNetwork, path: Path) -> None:
    """Write ``network`` as a ``_net.tntp`` file (atomically); :func:`read_net` reads it back exactly."""
    head = [
        f"<NUMBER OF ZONES> {network.zone_count}",
        f"<NUMBER OF NODES> {network.node_count}",
        f"<FIRST THRU NODE> {network.first_thru_node}",
        f"<NUMBER OF LINKS> {network.link_count}",
    ]
    if network.toll_factor is not None:
        head.append(f"<TOLL FACTOR> {_format(network.toll_factor)}")
    if network.distance_factor is not None:
        head.append(f"<DISTANCE FACTOR> {_format(network.distance_factor)}")
    head += ["<END OF METADATA>", "", "", "~\t" + "\t".join(LINK_COLUMNS) + "\t;"]
    columns = [
        network.init_node,
        network.term_node,
        network.capacity,
        network.length,
        network.free_flow_time,
        network.b,
        network.power,
        network.speed,
        network.toll,
        network.link_type,
    ]
    body = [
        "\t" + "\t".join(_format(column[i]) for column in columns) + "\t;" for i in range(network.link_count)
    ]
    write_text_atomic(Path(path), "\n".join(head + body) + "\n")


def write_trips(trips: TntpTrips, path: Path) -> None:
    """Write ``trips`` as a ``_trips.tntp`` file (atomically), five pairs per line."""
    demand = trips.demand
    out = [
        f"<NUMBER OF ZONES> {trips.zone_count}",
        f"<TOTAL OD FLOW> {float(demand.sum())!r}",
        "<END OF METADATA>",
        "",
    ]
    for origin in range(trips.zone_count):
        out += ["", f"Origin \t{origin + 1}"]
        pairs = [f"{d + 1:5d} : {float(demand[origin, d])!r};" for d in range(trips.zone_count)]
        out += ["    ".join(pairs[k : k + 5]) for k in range(0, len(pairs), 5)]
    write_text_atomic(Path(path), "\n".join(out) + "\n")


def write_flow(flow: TntpFlow, path: Path) -> None:
    """Write link flows and costs as a ``_flow.tntp`` file (atomically)."""
    out = ["From \tTo \tVolume \tCost "]
    out += [
        f"{int(flow.init_node[i])} \t{int(flow.term_node[i])} \t"
        f"{float(flow.volume[i])!r} \t{float(flow.cost[i])!r} "
        for i in range(flow.init_node.shape[0])
    ]
    write_text_atomic(Path(path), "\n".join(out) + "\n")


def write_nodes(nodes: TntpNodes, path: Path) -> None:
    """Write node coordinates as a ``_node.tntp`` file (atomically)."""
    out = ["Node\tX\tY\t;"]
    out += [
        f"{int(nodes.node[i])}\t{float(nodes.x[i])!r}\t{float(nodes.y[i])!r}\t;"
        for i in range(nodes.node.shape[0])
    ]
    write_text_atomic(Path(path), "\n".join(out) + "\n")


def road_graph_from_tntp(
    network: TntpNetwork,
    *,
    toll_factor: float | None = None,
    distance_factor: float | None = None,
    time_unit_s: float = 60.0,
    source: str = "TNTP network",
) -> RoadGraph:
    """Compile a TNTP network to a :class:`RoadGraph` (BPR with the file's ``b`` and ``power``).

    The generalised cost of a link is its BPR time plus ``toll_factor * toll + distance_factor * length``
    (file units: time per toll unit, time per length unit). The factors come from the file's
    ``<TOLL FACTOR>``/``<DISTANCE FACTOR>`` metadata when present, else from the arguments, else 0; the
    toll term is folded into ``link_fixed_cost_s`` (``link_toll`` keeps the raw toll). File times are
    multiplied by ``time_unit_s`` (60: minutes) to get seconds; lengths are kept in file units in
    ``link_length_m`` only when no unit is known, so treat them as "file length units".
    """
    toll_weight = network.toll_factor if network.toll_factor is not None else (toll_factor or 0.0)
    distance_weight = (
        network.distance_factor if network.distance_factor is not None else (distance_factor or 0.0)
    )
    fixed = (toll_weight * network.toll + distance_weight * network.length) * time_unit_s
    return RoadGraph.from_arrays(
        node_count=network.node_count,
        link_from=network.init_node - 1,
        link_to=network.term_node - 1,
        link_capacity_vph=network.capacity,
        link_free_time_s=network.free_flow_time * time_unit_s,
        link_length_m=network.length,
        link_alpha=network.b,
        link_beta=network.power,
        link_vdf=VDF_BPR,
        link_toll=network.toll,
        link_fixed_cost_s=fixed,
        link_external_id=np.arange(1, network.link_count + 1, dtype=np.int64),
        node_external_id=np.arange(1, network.node_count + 1, dtype=np.int64),
        zone_node=np.arange(network.zone_count, dtype=np.int32),
        first_thru_node=network.first_thru_node - 1,
        time_unit_s=time_unit_s,
        source=source,
    )
