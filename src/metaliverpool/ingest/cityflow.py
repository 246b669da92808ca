"""CityFlow road networks and flows (JSON) for the simulator, with the roadnet's signal phases.

Translation (CityFlow has lanes dedicated to movements; the simulator's links are FIFO, so each
movement's lanes become their own link):

* every intersection is a node; every road also gets a start node;
* road ``r`` becomes one link per movement (roadLink) that starts on it, from its start node to its end
  intersection, with that movement's lanes (its distinct ``startLaneIndex`` values); a road ending at a
  virtual (boundary) intersection becomes one link with all its lanes. Length: the road's polyline minus
  the two intersections' ``width`` (the stretch before the stop line);
* the crossing of an intersection into road ``r`` is a connector link from the intersection node to
  ``r``'s start node, as long as the mean of its lane links' polylines, with ``r``'s lanes;
* speeds are the lanes' ``maxSpeed``; per lane, capacity is ``v / (length + minGap + v * headwayTime)``
  and jam density ``1 / (length + minGap)`` from the flow file's vehicle parameters (the spacing of
  CityFlow's car following at speed ``v`` and at rest);
* a vehicle's route (roads) becomes: the movement link of each road towards the next road, then the
  connector into the next road, ending on its last road's exit (or straight-on) link;
* flows generate vehicles at ``startTime, startTime + interval, ... <= endTime``.

Signal plans: ``"roadnet"`` runs the intersection's ``lightphases`` in order with their ``time`` (what
CityFlow does when signals are not controlled from outside; its yellow is the 5 s phase in the list);
``"four_phase"`` is the fixed-time baseline of the signal-control papers that use this data (phases
1-4 of the list, 30 s each, each followed by 5 s of phase 0 as yellow).
"""

from __future__ import annotations

import itertools
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from metaliverpool.errors import InputError
from metaliverpool.sim.demand import Demand, Routes, make_demand, routes_from_paths
from metaliverpool.sim.network import SimNetwork, build_sim_network
from metaliverpool.sim.signals import SignalPlan, SignalSpec, build_signal_plan


@dataclass(frozen=True, eq=False)
class CityFlowScenario:
    """A CityFlow roadnet and flow translated for the simulator."""

    network: SimNetwork
    plans: dict[str, SignalPlan]
    demand: Demand
    routes: Routes
    veh_free_time_s: np.ndarray
    link_road_id: tuple[str, ...]


def _load(path: Path) -> Any:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(path, "file not found") from None
    except json.JSONDecodeError as error:
        raise InputError(path, f"not valid JSON: {error.msg}", where=f"line {error.lineno}") from None


def _polyline_m(points: list[dict[str, float]]) -> float:
    return float(sum(math.dist((a["x"], a["y"]), (b["x"], b["y"])) for a, b in itertools.pairwise(points)))


def _field(source: Path, record: dict[str, Any], key: str, where: str) -> Any:
    if not isinstance(record, dict) or key not in record:
        raise InputError(source, f"missing field '{key}'", where=where)
    return record[key]


def read_cityflow(roadnet_path: Path, flow_path: Path) -> CityFlowScenario:
    """Read and translate a CityFlow roadnet and flow file (see the module docstring).

    Raises
    ------
    InputError
        Unreadable JSON, a missing field, a route through roads that do not connect, or an unknown road.
    """
    roadnet = _load(roadnet_path)
    flows = _load(flow_path)
    intersections = _field(roadnet_path, roadnet, "intersections", "top level")
    roads = _field(roadnet_path, roadnet, "roads", "top level")
    if not isinstance(flows, list) or not flows:
        raise InputError(flow_path, "expected a non-empty list of flows", where="top level")
    vehicle = _field(flow_path, flows[0], "vehicle", "flow 0")
    veh_length = float(vehicle.get("length", 5.0))
    min_gap = float(vehicle.get("minGap", 2.5))
    headway_time = float(vehicle.get("headwayTime", 2.0))
    jam_vpm = 1.0 / (veh_length + min_gap)

    node_of = {}
    width = {}
    virtual = {}
    for k, inter in enumerate(intersections):
        name = str(_field(roadnet_path, inter, "id", f"intersection {k}"))
        node_of[name] = k
        width[name] = float(inter.get("width", 0.0))
        virtual[name] = bool(inter.get("virtual", False))
    road_index: dict[str, int] = {}
    for k, road in enumerate(roads):
        road_index[str(_field(roadnet_path, road, "id", f"road {k}"))] = k
    start_node = {name: len(intersections) + k for name, k in road_index.items()}
    node_count = len(intersections) + len(roads)

    links: dict[str, list[Any]] = {k: [] for k in ("from", "to", "length", "speed", "cap", "lanes", "name")}

    def add_link(frm: int, to: int, length: float, speed: float, lanes: int, name: str) -> int:
        lane_cap = 3600.0 * speed / (veh_length + min_gap + speed * headway_time)
        for key, value in zip(
            ("from", "to", "length", "speed", "cap", "lanes", "name"),
            (frm, to, max(length, 1.0), speed, lane_cap * lanes, float(lanes), name),
            strict=True,
        ):
            links[key].append(value)
        return len(links["from"]) - 1

    road_info: dict[str, dict[str, Any]] = {}
    for k, road in enumerate(roads):
        rid = str(road["id"])
        where = f"road {rid}"
        start = str(_field(roadnet_path, road, "startIntersection", where))
        end = str(_field(roadnet_path, road, "endIntersection", where))
        if start not in node_of or end not in node_of:
            raise InputError(roadnet_path, "unknown intersection", where=where)
        lanes = _field(roadnet_path, road, "lanes", where)
        speed = float(np.mean([float(lane["maxSpeed"]) for lane in lanes]))
        length = _polyline_m(_field(roadnet_path, road, "points", where)) - width[start] - width[end]
        road_info[rid] = {
            "index": k,
            "start": start,
            "end": end,
            "lanes": len(lanes),
            "speed": speed,
            "length": length,
        }

    movement_link: dict[tuple[str, str], int] = {}
    exit_link: dict[str, int] = {}
    connector: dict[str, int] = {}
    crossing_lengths: dict[str, list[float]] = {}
    for inter in intersections:
        for rl in inter.get("roadLinks", []):
            start_road, end_road = str(rl["startRoad"]), str(rl["endRoad"])
            if start_road not in road_info or end_road not in road_info:
                raise InputError(
                    roadnet_path, "roadLink names an unknown road", where=f"intersection {inter['id']}"
                )
            info = road_info[start_road]
            lanes = len({int(ll["startLaneIndex"]) for ll in rl["laneLinks"]}) or info["lanes"]
            movement_link[(start_road, end_road)] = add_link(
                start_node[start_road], node_of[info["end"]], info["length"], info["speed"], lanes,
                f"{start_road}/{rl.get('type', 'move')}->{end_road}",
            )  # fmt: skip
            crossing_lengths.setdefault(end_road, []).extend(
                _polyline_m(ll["points"]) for ll in rl["laneLinks"]
            )
    for rid, info in road_info.items():
        if not any(key[0] == rid for key in movement_link):
            exit_link[rid] = add_link(
                start_node[rid],
                node_of[info["end"]],
                info["length"],
                info["speed"],
                info["lanes"],
                f"{rid}/exit",
            )
        if rid in crossing_lengths:
            connector[rid] = add_link(
                node_of[info["start"]], start_node[rid], float(np.mean(crossing_lengths[rid])), info["speed"],
                info["lanes"], f"{rid}/crossing",
            )  # fmt: skip

    xs = np.zeros(node_count)
    ys = np.zeros(node_count)
    for k, inter in enumerate(intersections):
        xs[k], ys[k] = float(inter["point"]["x"]), float(inter["point"]["y"])
    for rid, info in road_info.items():
        xs[start_node[rid]], ys[start_node[rid]] = xs[node_of[info["start"]]], ys[node_of[info["start"]]]
    network = build_sim_network(
        node_count=node_count,
        link_from_node=links["from"],
        link_to_node=links["to"],
        link_length_m=links["length"],
        link_free_speed_mps=links["speed"],
        link_capacity_vph=links["cap"],
        link_lanes=links["lanes"],
        jam_density_vpm=jam_vpm,
        link_name=tuple(links["name"]),
        node_x=xs,
        node_y=ys,
        source=str(roadnet_path),
    )

    def last_link(rid: str) -> int:
        if rid in exit_link:
            return exit_link[rid]
        options = sorted(
            (k for k in movement_link if k[0] == rid),
            key=lambda k: "go_straight" not in links["name"][movement_link[k]],
        )
        return movement_link[options[0]]

    paths: list[tuple[int, ...]] = []
    origins: list[int] = []
    departs: list[float] = []
    keys: list[int] = []
    path_key: dict[tuple[int, ...], int] = {}
    for f, flow in enumerate(flows):
        route = [str(r) for r in _field(flow_path, flow, "route", f"flow {f}")]
        if not route or any(r not in road_info for r in route):
            raise InputError(flow_path, "route is empty or names an unknown road", where=f"flow {f}")
        path: list[int] = []
        for a, b in itertools.pairwise(route):
            if (a, b) not in movement_link or b not in connector:
                raise InputError(flow_path, f"no movement from {a} to {b}", where=f"flow {f}")
            path.extend((movement_link[(a, b)], connector[b]))
        path.append(last_link(route[-1]))
        key = path_key.setdefault(tuple(path), len(paths))
        if key == len(paths):
            paths.append(tuple(path))
        begin_s = float(flow.get("startTime", 0.0))
        end_s = float(flow.get("endTime", begin_s))
        interval = float(flow.get("interval", 1.0))
        count = 1 if end_s <= begin_s or interval <= 0 else math.floor((end_s - begin_s) / interval) + 1
        for i in range(count):
            origins.append(start_node[route[0]])
            departs.append(begin_s + i * interval)
            keys.append(key)
    order = np.argsort(np.asarray(departs), kind="stable")
    key_arr = np.asarray(keys, dtype=np.int64)[order]
    dest = np.asarray(links["to"], dtype=np.int32)[[paths[k][-1] for k in key_arr]]
    demand = make_demand(
        np.asarray(origins)[order], dest, np.asarray(departs)[order], np.arange(len(keys))[order]
    )
    routes = routes_from_paths(paths, key_arr)
    free = network.link_free_time_s
    veh_free = np.array([free[list(p)].sum() for p in paths])[key_arr]
    plans = {
        "roadnet": _plan(network, intersections, movement_link, connector, four_phase=False),
        "four_phase": _plan(network, intersections, movement_link, connector, four_phase=True),
    }
    return CityFlowScenario(network, plans, demand, routes, veh_free, tuple(links["name"]))


def _plan(
    network: SimNetwork,
    intersections: list[dict[str, Any]],
    movement_link: dict[tuple[str, str], int],
    connector: dict[str, int],
    *,
    four_phase: bool,
) -> SignalPlan:
    specs: list[SignalSpec] = []
    for k, inter in enumerate(intersections):
        light = inter.get("trafficLight") or {}
        phases = light.get("lightphases") or []
        if inter.get("virtual", False) or not phases:
            continue
        road_links = inter["roadLinks"]

        def turns(
            index: int, road_links: list[dict[str, Any]] = road_links, phases: list[Any] = phases
        ) -> tuple[tuple[int, int], ...]:
            out = []
            for i in phases[index]["availableRoadLinks"]:
                rl = road_links[int(i)]
                a, b = str(rl["startRoad"]), str(rl["endRoad"])
                out.append((movement_link[(a, b)], connector[b]))
            return tuple(out)

        if four_phase and len(phases) >= 5:
            order = [1, 0, 2, 0, 3, 0, 4, 0]
            greens = [30.0, 5.0] * 4
        else:
            order = list(range(len(phases)))
            greens = [float(p["time"]) for p in phases]
        specs.append(
            SignalSpec(
                node=k,
                phases=tuple(turns(i) for i in order),
                green_s=tuple(greens),
                amber_s=(0.0,) * len(order),
                all_red_s=(0.0,) * len(order),
            )
        )
    return build_signal_plan(network, specs)
