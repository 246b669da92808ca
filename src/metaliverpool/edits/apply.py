"""Apply a scenario's edits to a twin: ``apply_edits(twin, scenario) -> Twin`` (a new twin; the input is
left unchanged).

What each edit does to the twin tables (units as in ``docs/twin-format.md``):

- ``close_road`` (``vehicles: all``) and ``modal_filter``: the links of the ways are removed from the road
  network; ``close_road`` (``vehicles: general``) and ``modal_filter`` with ``bus_gate``: ``access`` becomes
  ``bus_only`` (the car network leaves them out).
- ``change_lanes``: ``lanes`` set, ``capacity_vph`` scaled by new lanes / old lanes; on a coded twin also
  ``saturation_flow_vph`` (RR67 for the new lanes) and ``stop_line_capacity_vph`` (by the same ratio), the
  capacities the engines read there.
- ``bus_lane``: one lane per direction removed from general traffic (``lanes - 1``, capacity scaled);
  ``bus_lane`` column set. Ways with one lane in a direction are refused.
- ``speed_limit``: ``speed_limit_mps`` set; ``free_speed_mps`` scaled by new limit / old limit.
- ``low_traffic_neighbourhood``: filters placed by :func:`metaliverpool.edits.ltn.place_cell_filters`.
- ``turn_ban``: rows added to ``turn_restrictions`` (``kind = "no"``, ``osm_relation_id = -1``).
- ``signal_plan``: ``junctions`` columns ``plan_cycle_s``, ``plan_green_splits``, ``plan_offset_s`` and
  ``plan_optimise`` set for the junction (engines read them; NaN / empty / False mean "engine default").
- ``ai_signal_control``: ``junctions`` columns ``ai_horizon_s``, ``ai_risk_threshold``,
  ``ai_sample_interval_s`` and ``ai_forecast`` set for the junctions the AI loop covers and
  ``ai_control`` (whether it may take them over: ``enabled``); the dynamic engine reads them.
- ``cordon_charge``: ``toll_gbp`` raised on the links crossing the polygon's boundary.
- ``new_development``, ``demand_change``: the ``trips`` table (:mod:`metaliverpool.edits.trips`).

Links keep a ``base_link_id`` column (their ``link_id`` in the base twin), so results of the baseline and
the scenario can be joined link by link even after links are removed and renumbered. Edits that would cut
a zone's node off the car network are refused; trip ends they cut off move to their zone's node.
``manifest["edits_applied"]`` lists, per edit, what changed (counts), for the report.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from metaliverpool.edits.check import CONFLICTING_KINDS, EditCheck, engine_refusal
from metaliverpool.edits.connectivity import reach_flags, strong_components
from metaliverpool.edits.describe import edit_label, streets_of_ways
from metaliverpool.edits.ltn import place_cell_filters
from metaliverpool.edits.schema import (
    MPS_PER_MPH,
    AiSignalControl,
    BusLane,
    ChangeLanes,
    CloseRoad,
    CordonCharge,
    DemandChange,
    DemandSettings,
    Edit,
    LowTrafficNeighbourhood,
    ModalFilter,
    NewDevelopment,
    Scenario,
    SignalPlan,
    SpeedLimit,
    TurnBan,
)
from metaliverpool.edits.select import (
    mask_links_inside,
    mask_links_of_ways,
    mask_nodes_inside,
    node_of_osm_node,
    zone_of_lsoa,
)
from metaliverpool.edits.trips import add_development_trips, rng_for, scale_trips
from metaliverpool.errors import InputError
from metaliverpool.network.coding import link_saturation_flow_vph
from metaliverpool.network.twin import Twin


@dataclass
class _State:
    """The tables being edited (copies) and what happened so far."""

    source: str
    links: pd.DataFrame
    nodes: pd.DataFrame
    junctions: pd.DataFrame
    turn_restrictions: pd.DataFrame
    zones: pd.DataFrame
    trips: pd.DataFrame
    protected_nodes: np.ndarray
    root: int = 0
    base_reach: tuple[np.ndarray, np.ndarray] = field(
        default_factory=lambda: (np.zeros(0, bool), np.zeros(0, bool))
    )
    outcomes: list[dict[str, Any]] = field(default_factory=list)

    def car_open(self) -> np.ndarray:
        return np.asarray((~self.links["closed"]) & (self.links["access"] != "bus_only"), dtype=bool)

    def reach(self) -> tuple[np.ndarray, np.ndarray]:
        """Per node: reachable from the root by car, and able to reach it (see :meth:`check_reachable`)."""
        open_links = self.car_open()
        return reach_flags(
            int(self.nodes["node_id"].max()) + 1,
            self.links["from_node_id"].to_numpy()[open_links],
            self.links["to_node_id"].to_numpy()[open_links],
            self.root,
        )

    def lost_nodes(self) -> np.ndarray:
        """Protected nodes that reached (or were reached from) the network before the edits and no longer do.

        (Cordon nodes where traffic only enters or only leaves the extract are one-way by nature: only the
        directions they had in the base twin count.)
        """
        now_from, now_to = self.reach()
        base_from, base_to = self.base_reach
        lost = (base_from & ~now_from) | (base_to & ~now_to)
        return self.protected_nodes[lost[self.protected_nodes]]

    def check_reachable(self, where: str) -> int:
        """Refuse an edit that cuts a zone node off the car network; move trip ends it cuts off (trips that
        started or ended on a closed street) to their zone's node. Returns how many trip ends moved."""
        lost = self.lost_nodes()
        zone_nodes = self.zones["node_id"].to_numpy(dtype=np.int64)
        cut_zones = lost[np.isin(lost, zone_nodes)]
        if cut_zones.size:
            osm = self.nodes.loc[self.nodes["node_id"] == int(cut_zones[0]), "osm_node_id"]
            name = int(osm.iloc[0]) if len(osm) else int(cut_zones[0])
            raise InputError(
                self.source,
                f"this edit cuts OSM node {name} (a zone's node) "
                f"off the car network; {cut_zones.size} such node(s) lost",
                where=where,
            )
        moved = 0
        node_of_zone = pd.Series(zone_nodes, index=self.zones["zone_id"].to_numpy())
        for end in ("origin", "destination"):
            nodes = self.trips[f"{end}_node_id"].to_numpy(dtype=np.int64)
            cut = np.isin(nodes, lost)
            if cut.any():
                zones = self.trips[f"{end}_zone_id"].to_numpy()[cut]
                nodes[cut] = node_of_zone.reindex(zones).to_numpy(dtype=np.int64)
                self.trips[f"{end}_node_id"] = nodes.astype(np.int32)
                moved += int(cut.sum())
        return moved


def _assign(frame: pd.DataFrame, column: str, rows: Any, values: Any) -> None:
    """Set ``frame[column]`` at positional ``rows`` (indices or a boolean mask) to ``values``."""
    array = frame[column].to_numpy(copy=True)
    array[rows] = values
    frame[column] = array


def _touched(state: _State, mask: np.ndarray) -> set[int]:
    """The base links at ``mask`` (for the conflict check of :data:`~.check.CONFLICTING_KINDS`)."""
    return set(state.links["base_link_id"].to_numpy()[mask].tolist())


def _close_road(state: _State, edit: CloseRoad, where: str) -> dict[str, Any]:
    mask = mask_links_of_ways(state.links, edit.osm_way_ids, source=state.source, where=where)
    if edit.vehicles == "all":
        _assign(state.links, "closed", mask, True)
    else:
        _assign(state.links, "access", mask, "bus_only")
    moved = state.check_reachable(where)
    return {"links_closed": int(mask.sum()), "trip_ends_moved": moved}


def _modal_filter(state: _State, edit: ModalFilter, where: str) -> dict[str, Any]:
    mask = mask_links_of_ways(state.links, edit.osm_way_ids, source=state.source, where=where)
    if edit.bus_gate:
        _assign(state.links, "access", mask, "bus_only")
    else:
        _assign(state.links, "closed", mask, True)
    moved = state.check_reachable(where)
    return {"links_closed": int(mask.sum()), "trip_ends_moved": moved}


def _scale_lanes(state: _State, mask: np.ndarray, new_lanes: np.ndarray) -> None:
    """Set the lanes at ``mask``, scaling ``capacity_vph`` by new / old lanes and, on a coded twin (the
    columns the engines read there), ``saturation_flow_vph`` to the RR67 flow of the new lane count and
    ``stop_line_capacity_vph`` by the same ratio (its green ratio or give-way share kept)."""
    old = state.links["lanes"].to_numpy(dtype=np.float64)[mask]
    old = np.where(old > 0, old, 1.0)
    capacity = state.links["capacity_vph"].to_numpy(dtype=np.float64)[mask]
    _assign(state.links, "capacity_vph", mask, capacity * (new_lanes / old))
    _assign(state.links, "lanes", mask, new_lanes)
    if "saturation_flow_vph" in state.links.columns:
        saturation = state.links["saturation_flow_vph"].to_numpy(dtype=np.float64)[mask]
        new_saturation = link_saturation_flow_vph(new_lanes)
        ratio = np.where(saturation > 0, new_saturation / np.where(saturation > 0, saturation, 1.0), 1.0)
        _assign(state.links, "saturation_flow_vph", mask, new_saturation)
        if "stop_line_capacity_vph" in state.links.columns:
            stop_line = state.links["stop_line_capacity_vph"].to_numpy(dtype=np.float64)[mask]
            _assign(state.links, "stop_line_capacity_vph", mask, stop_line * ratio)


def _change_lanes(state: _State, edit: ChangeLanes, where: str) -> dict[str, Any]:
    mask = mask_links_of_ways(state.links, edit.osm_way_ids, source=state.source, where=where)
    _scale_lanes(state, mask, np.full(int(mask.sum()), float(edit.lanes)))
    return {"links_changed": int(mask.sum()), "_links": _touched(state, mask)}


def _bus_lane(state: _State, edit: BusLane, where: str) -> dict[str, Any]:
    mask = mask_links_of_ways(state.links, edit.osm_way_ids, source=state.source, where=where)
    lanes = state.links["lanes"].to_numpy(dtype=np.float64)[mask]
    if np.any(lanes < 2):
        way = int(state.links["osm_way_id"].to_numpy()[mask][np.flatnonzero(lanes < 2)[0]])
        raise InputError(
            state.source,
            f"{streets_of_ways(state.links, [way])} (OSM way {way}) has 1 lane in a direction; "
            "a bus lane needs 2 (one stays for general traffic)",
            where=f"{where}, field 'osm_way_ids'",
        )
    _scale_lanes(state, mask, lanes - 1.0)
    _assign(state.links, "bus_lane", mask, True)
    return {"links_changed": int(mask.sum()), "_links": _touched(state, mask)}


def _speed_limit(state: _State, edit: SpeedLimit, where: str) -> dict[str, Any]:
    if edit.osm_way_ids is not None:
        mask = mask_links_of_ways(state.links, edit.osm_way_ids, source=state.source, where=where)
    else:
        assert edit.area is not None
        mask = mask_links_inside(
            state.links, state.nodes, edit.area.to_shapely(), source=state.source, where=where
        )
    if edit.exclude_highways:
        mask = mask & ~state.links["highway"].isin(edit.exclude_highways).to_numpy()
    new_limit = edit.speed_limit_mph * MPS_PER_MPH
    old_limit = state.links.loc[mask, "speed_limit_mps"].to_numpy(dtype=np.float64)
    free = state.links.loc[mask, "free_speed_mps"].to_numpy(dtype=np.float64)
    ratio = np.where(old_limit > 0, new_limit / np.where(old_limit > 0, old_limit, 1.0), 1.0)
    state.links.loc[mask, "free_speed_mps"] = np.where(
        old_limit > 0, free * ratio, np.minimum(free, new_limit)
    )
    state.links.loc[mask, "speed_limit_mps"] = new_limit
    return {"links_changed": int(mask.sum()), "_links": _touched(state, mask)}


def _low_traffic_neighbourhood(state: _State, edit: LowTrafficNeighbourhood, where: str) -> dict[str, Any]:
    polygon = edit.area.to_shapely()
    inside = mask_nodes_inside(state.nodes, polygon)
    node_count = int(state.nodes["node_id"].max()) + 1
    node_inside = np.zeros(node_count, dtype=np.bool_)
    node_inside[inside.index.to_numpy()[inside.to_numpy()]] = True
    open_rows = np.flatnonzero(state.car_open())
    links = state.links.iloc[open_rows]
    filtered, cell, entries = place_cell_filters(
        links["from_node_id"].to_numpy(dtype=np.int64),
        links["to_node_id"].to_numpy(dtype=np.int64),
        links["length_m"].to_numpy(dtype=np.float64),
        links["highway"].to_numpy(dtype=object),
        node_inside,
        edit.minor_highways,
    )
    if not cell.any():
        raise InputError(
            state.source,
            f"the cell contains no street of the classes {', '.join(edit.minor_highways)}",
            where=f"{where}, field 'area'",
        )
    filtered_rows = open_rows[filtered]
    _assign(state.links, "closed", filtered_rows, True)
    reopened = _reopen_until_reachable(state, filtered_rows)
    if filtered_rows.size == reopened:
        if entries < 2:
            reason = (
                f"it changes nothing: its {int(cell.sum())} street links have {entries} way(s) in for motor "
                "traffic, so no through route crosses the cell; draw it over streets between main roads"
            )
        elif filtered_rows.size == 0:
            reason = (
                "it changes nothing: no street of the cell joins the parts reached from different entries"
            )
        else:
            reason = (
                f"it changes nothing: all {reopened} filter(s) had to be removed again to keep every "
                "address reachable by car (one-way streets)"
            )
        raise InputError(state.source, reason, where=f"{where}, field 'area'")
    return {
        "cell_links": int(cell.sum()),
        "links_filtered": int(filtered_rows.size - reopened),
        "filters_reopened_for_access": reopened,
    }


def _reopen_until_reachable(state: _State, filtered_rows: np.ndarray) -> int:
    """Reopen filtered links (both directions of a street at once) until every protected node is reached."""
    link_from = state.links["from_node_id"].to_numpy(dtype=np.int64)
    link_to = state.links["to_node_id"].to_numpy(dtype=np.int64)
    remaining = [int(row) for row in filtered_rows]
    reopened = 0
    while remaining and state.lost_nodes().size:
        row = remaining.pop(0)
        ends = {int(link_from[row]), int(link_to[row])}
        pair = [other for other in remaining if {int(link_from[other]), int(link_to[other])} == ends]
        remaining = [other for other in remaining if other not in pair]
        _assign(state.links, "closed", np.asarray([row, *pair], dtype=np.int64), False)
        reopened += 1 + len(pair)
    return reopened


def _turn_ban(state: _State, edit: TurnBan, where: str) -> dict[str, Any]:
    via = node_of_osm_node(
        state.nodes, edit.via_osm_node_id, source=state.source, where=where, field="via_osm_node_id"
    )
    for field_name in ("from_osm_way_id", "to_osm_way_id"):
        way = getattr(edit, field_name)
        mask_links_of_ways(state.links, [way], source=state.source, where=where, field=field_name)
    links = state.links
    into = links[(links["osm_way_id"] == edit.from_osm_way_id) & (links["to_node_id"] == via)]
    out = links[(links["osm_way_id"] == edit.to_osm_way_id) & (links["from_node_id"] == via)]
    if into.empty:
        raise InputError(
            state.source,
            f"OSM way {edit.from_osm_way_id} has no link entering OSM node {edit.via_osm_node_id}",
            where=f"{where}, field 'from_osm_way_id'",
        )
    if out.empty:
        raise InputError(
            state.source,
            f"OSM way {edit.to_osm_way_id} has no link leaving OSM node {edit.via_osm_node_id}",
            where=f"{where}, field 'to_osm_way_id'",
        )
    rows = [
        {
            "osm_relation_id": -1,
            "from_link_id": int(a),
            "via_node_id": via,
            "to_link_id": int(b),
            "kind": "no",
        }
        for a in into["link_id"]
        for b in out["link_id"]
        if a != b
    ]
    state.turn_restrictions = pd.concat([state.turn_restrictions, pd.DataFrame(rows)], ignore_index=True)
    return {"turns_banned": len(rows)}


def _junction_row_of_osm_node(state: _State, osm_node_id: int, where: str) -> int:
    """Row of ``junctions`` holding the OSM node (a network node or a clustered signal node)."""
    for column in ("osm_node_ids", "signal_osm_node_ids"):
        if column not in state.junctions.columns:
            continue
        for row, ids in enumerate(state.junctions[column].to_numpy()):
            if ids is not None and osm_node_id in {int(v) for v in ids}:
                return row
    node = node_of_osm_node(state.nodes, osm_node_id, source=state.source, where=where, field="osm_node_id")
    junction = int(state.nodes["junction_id"].to_numpy()[state.nodes["node_id"].to_numpy() == node][0])
    rows = np.flatnonzero(state.junctions["junction_id"].to_numpy() == junction)
    if junction < 0 or rows.size == 0:
        raise InputError(
            state.source,
            f"OSM node {osm_node_id} is not part of a junction",
            where=f"{where}, field 'osm_node_id'",
        )
    return int(rows[0])


def _signal_plan(state: _State, edit: SignalPlan, where: str) -> dict[str, Any]:
    row = _junction_row_of_osm_node(state, edit.osm_node_id, where)
    control = str(state.junctions["control"].to_numpy()[row])
    if control != "signals":
        raise InputError(
            state.source,
            f"the junction at OSM node {edit.osm_node_id} is controlled by '{control}', not signals",
            where=f"{where}, field 'osm_node_id'",
        )
    junctions = state.junctions
    _assign(junctions, "plan_optimise", row, bool(edit.optimise))
    _assign(junctions, "plan_cycle_s", row, float(edit.cycle_s) if edit.cycle_s is not None else np.nan)
    _assign(junctions, "plan_offset_s", row, float(edit.offset_s) if edit.offset_s is not None else np.nan)
    splits = junctions["plan_green_splits"].to_numpy(copy=True)
    splits[row] = list(edit.green_splits or [])
    junctions["plan_green_splits"] = splits
    return {"junction_id": int(junctions["junction_id"].to_numpy()[row])}


def _ai_signal_control(state: _State, edit: AiSignalControl, where: str) -> dict[str, Any]:
    junctions = state.junctions
    signals = (junctions["control"] == "signals").to_numpy()
    if edit.osm_node_ids is None:
        rows = np.flatnonzero(signals)
    else:
        rows = np.array(
            [_junction_row_of_osm_node(state, n, where) for n in edit.osm_node_ids], dtype=np.int64
        )
        not_signals = rows[~signals[rows]]
        if not_signals.size:
            junction = int(junctions["junction_id"].to_numpy()[not_signals[0]])
            raise InputError(
                state.source,
                f"junction {junction} is not signalised: the AI loop retimes signals only",
                where=f"{where}, field 'osm_node_ids'",
            )
    if rows.size == 0:
        raise InputError(state.source, "the twin has no signalised junction for the AI loop", where=where)
    _assign(junctions, "ai_control", rows, bool(edit.enabled))
    _assign(junctions, "ai_horizon_s", rows, 60.0 * edit.horizon_min)
    _assign(junctions, "ai_risk_threshold", rows, edit.risk_threshold)
    _assign(junctions, "ai_sample_interval_s", rows, edit.sample_interval_s)
    _assign(junctions, "ai_forecast", rows, edit.forecast)
    return {"junctions_eligible": int(rows.size) if edit.enabled else 0}


def _cordon_charge(state: _State, edit: CordonCharge, where: str) -> dict[str, Any]:
    inside = mask_nodes_inside(state.nodes, edit.area.to_shapely())
    tail_in = inside.reindex(state.links["from_node_id"]).to_numpy(dtype=bool)
    head_in = inside.reindex(state.links["to_node_id"]).to_numpy(dtype=bool)
    inbound = ~tail_in & head_in
    outbound = tail_in & ~head_in
    mask = {"inbound": inbound, "outbound": outbound, "both": inbound | outbound}[edit.direction]
    if not mask.any():
        raise InputError(
            state.source, f"no road crosses the cordon ({edit.direction})", where=f"{where}, field 'area'"
        )
    state.links.loc[mask, "toll_gbp"] = (
        state.links.loc[mask, "toll_gbp"].to_numpy(dtype=np.float64) + edit.charge_gbp
    )
    return {"links_charged": int(mask.sum())}


def _new_development(state: _State, edit: NewDevelopment, where: str) -> dict[str, Any]:
    zone = zone_of_lsoa(state.zones, edit.lsoa_code, source=state.source, where=where, field="lsoa_code")
    homes_trips = round(edit.homes * edit.car_trips_per_home)
    jobs_trips = round(edit.jobs * edit.car_trips_per_job)
    before = len(state.trips)
    state.trips = add_development_trips(
        state.trips, zone, homes_trips, jobs_trips, rng_for(["new_development", edit.model_dump(mode="json")])
    )
    return {"trips_added": len(state.trips) - before}


def _demand_change(state: _State, edit: DemandChange, where: str) -> dict[str, Any]:
    trips = state.trips
    if edit.lsoa_codes is None:
        selected = np.ones(len(trips), dtype=bool)
    else:
        ids = [
            int(
                zone_of_lsoa(state.zones, code, source=state.source, where=where, field="lsoa_codes")[
                    "zone_id"
                ]
            )
            for code in edit.lsoa_codes
        ]
        selected = (trips["origin_zone_id"].isin(ids) | trips["destination_zone_id"].isin(ids)).to_numpy()
    before = len(trips)
    state.trips = scale_trips(
        trips, edit.percent, selected, rng_for(["demand_change", edit.model_dump(mode="json")])
    )
    return {"trips_before": before, "trips_after": len(state.trips)}


_HANDLERS: dict[type, Callable[[_State, Any, str], dict[str, Any]]] = {
    CloseRoad: _close_road,
    ModalFilter: _modal_filter,
    ChangeLanes: _change_lanes,
    BusLane: _bus_lane,
    SpeedLimit: _speed_limit,
    LowTrafficNeighbourhood: _low_traffic_neighbourhood,
    TurnBan: _turn_ban,
    SignalPlan: _signal_plan,
    AiSignalControl: _ai_signal_control,
    CordonCharge: _cordon_charge,
    NewDevelopment: _new_development,
    DemandChange: _demand_change,
}


def _root_node(state: _State) -> int:
    """A protected node in the strongly connected component holding most protected nodes."""
    open_links = state.car_open()
    _, labels = strong_components(
        int(state.nodes["node_id"].max()) + 1,
        state.links["from_node_id"].to_numpy()[open_links],
        state.links["to_node_id"].to_numpy()[open_links],
    )
    if state.protected_nodes.size == 0:
        return int(state.nodes["node_id"].iloc[0])
    values, counts = np.unique(labels[state.protected_nodes], return_counts=True)
    main = values[np.argmax(counts)]
    return int(state.protected_nodes[labels[state.protected_nodes] == main][0])


def _prepare_links(links: pd.DataFrame) -> pd.DataFrame:
    links = links.copy()
    if "base_link_id" not in links.columns:
        links["base_link_id"] = links["link_id"].to_numpy(dtype=np.int32)
    if "bus_lane" not in links.columns:
        links["bus_lane"] = False
    links["capacity_vph"] = links["capacity_vph"].astype(np.float64)
    links["free_speed_mps"] = links["free_speed_mps"].astype(np.float64)
    links["speed_limit_mps"] = links["speed_limit_mps"].astype(np.float64)
    links["toll_gbp"] = links["toll_gbp"].astype(np.float64)
    links["closed"] = False
    return links


def _prepare_junctions(junctions: pd.DataFrame) -> pd.DataFrame:
    junctions = junctions.copy()
    defaults: dict[str, Any] = {
        "plan_cycle_s": np.nan,
        "plan_offset_s": np.nan,
        "plan_optimise": False,
        "ai_control": False,
        "ai_horizon_s": np.nan,
        "ai_risk_threshold": np.nan,
        "ai_sample_interval_s": np.nan,
        "ai_forecast": "",
    }
    for column, value in defaults.items():
        if column not in junctions.columns:
            junctions[column] = value
    if "plan_green_splits" not in junctions.columns:
        junctions["plan_green_splits"] = pd.Series(
            [[] for _ in range(len(junctions))], index=junctions.index, dtype=object
        )
    return junctions


def _finish_links(links: pd.DataFrame, turns: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Drop closed links, renumber ``link_id`` densely and remap turn restrictions onto the new ids."""
    kept = links[~links["closed"]].drop(columns="closed").reset_index(drop=True)
    new_id = pd.Series(np.arange(len(kept), dtype=np.int32), index=kept["link_id"].to_numpy())
    kept["link_id"] = new_id.to_numpy()
    if len(turns):
        valid = turns["from_link_id"].isin(new_id.index) & turns["to_link_id"].isin(new_id.index)
        turns = turns[valid].copy()
        turns["from_link_id"] = new_id.reindex(turns["from_link_id"]).to_numpy(dtype=np.int32)
        turns["to_link_id"] = new_id.reindex(turns["to_link_id"]).to_numpy(dtype=np.int32)
        turns = turns.reset_index(drop=True)
    return kept, turns


def _start(twin: Twin, name: str) -> _State:
    """The editing state of ``twin``: tables copied, the nodes to keep reachable and their reach."""
    protected = np.unique(
        np.concatenate(
            [
                twin.trips["origin_node_id"].to_numpy(dtype=np.int64),
                twin.trips["destination_node_id"].to_numpy(dtype=np.int64),
                twin.zones["node_id"].to_numpy(dtype=np.int64),
            ]
        )
    )
    state = _State(
        source=name,
        links=_prepare_links(twin.links),
        nodes=twin.nodes,
        junctions=_prepare_junctions(twin.junctions),
        turn_restrictions=twin.turn_restrictions.copy(),
        zones=twin.zones,
        trips=twin.trips.copy(),
        protected_nodes=protected[protected >= 0],
    )
    state.root = _root_node(state)
    state.base_reach = state.reach()
    return state


def _snapshot(state: _State) -> _State:
    """A copy of the edited tables, to roll an edit back that turns out refused."""
    return dataclasses.replace(
        state,
        links=state.links.copy(),
        junctions=state.junctions.copy(),
        turn_restrictions=state.turn_restrictions,
        trips=state.trips.copy(),
        outcomes=list(state.outcomes),
    )


def _edits_and_name(scenario: Scenario | Sequence[Edit], source: str | None) -> tuple[Sequence[Edit], str]:
    if isinstance(scenario, Scenario):
        return scenario.edits, source or scenario.source
    return scenario, source or "edits"


def check_edits(
    twin: Twin,
    scenario: Scenario | Sequence[Edit],
    *,
    engine: str | None = None,
    source: str | None = None,
) -> tuple[Twin, list[EditCheck]]:
    """Check every edit (:mod:`metaliverpool.edits.check`) and apply, in order, those that pass.

    Returns the twin after the edits that passed and one :class:`EditCheck` per edit. A refused edit is
    left out of the twin (rolled back), so the later edits are checked against what will really run.
    ``engine``: refuse what that engine cannot represent (none: no engine check).
    """
    edits, name = _edits_and_name(scenario, source)
    state = _start(twin, name)
    checks: list[EditCheck] = []
    touched: dict[str, list[tuple[EditCheck, set[int]]]] = {}
    for number, edit in enumerate(edits, start=1):
        label = edit_label(edit, state.links, state.nodes, state.zones)
        where = f"edit {number} ({label})"
        refusal = engine_refusal(edit.kind, engine)
        if refusal is not None:
            checks.append(EditCheck(number, edit.kind, label, "refused", refusal))
            continue
        before = _snapshot(state)
        try:
            outcome = _HANDLERS[type(edit)](state, edit, where)
        except InputError as error:
            state = before
            prefix = f"{where}, field "
            named = error.where or ""
            field = named[len(prefix) :].strip("'") if named.startswith(prefix) else ""
            checks.append(EditCheck(number, edit.kind, label, "refused", error.problem, field))
            continue
        links = outcome.pop("_links", set())
        check = EditCheck(number, edit.kind, label, "ok")
        clash = next((other for other, seen in touched.get(edit.kind, []) if seen & links), None)
        if clash is not None:
            state = before
            check = EditCheck(
                number,
                edit.kind,
                label,
                "refused",
                f"conflicts with {clash.title}: both set {CONFLICTING_KINDS[edit.kind]} on the same street; "
                "remove one or make them cover different streets",
            )
        elif edit.kind in CONFLICTING_KINDS:
            touched.setdefault(edit.kind, []).append((check, links))
        if check.status == "ok":
            state.outcomes.append(
                {"edit": number, "id": edit.id, "kind": edit.kind, "label": label, **outcome}
            )
        checks.append(check)
    links_table, turns = _finish_links(state.links, state.turn_restrictions)
    manifest = dict(twin.manifest)
    manifest["edits_applied"] = state.outcomes
    edited = dataclasses.replace(
        twin,
        links=links_table,
        junctions=state.junctions,
        turn_restrictions=turns,
        trips=state.trips,
        manifest=manifest,
    )
    return edited, checks


def apply_edits(twin: Twin, scenario: Scenario | Sequence[Edit], *, source: str | None = None) -> Twin:
    """The twin after the edits, in order; raises :class:`InputError` naming the file and the first
    refused edit (by number and label) and why (the checks of :func:`check_edits`, without an engine).

    ``scenario`` is a :class:`Scenario` (its file is named in errors) or a plain list of edits (then
    ``source`` names them, default ``"edits"``). The scenario's demand settings are *not* applied here:
    they belong to baseline and scenario alike (:func:`apply_demand_settings`).
    """
    edited, checks = check_edits(twin, scenario, source=source)
    refused = next((check for check in checks if check.status == "refused"), None)
    if refused is not None:
        raise InputError(_edits_and_name(scenario, source)[1], refused.message, where=refused.where)
    return edited


def apply_demand_settings(twin: Twin, demand: DemandSettings) -> Twin:
    """The twin with its trip table grown by ``demand.growth_percent`` (the demand variant of both runs)."""
    if demand.growth_percent == 0:
        return twin
    trips = scale_trips(
        twin.trips.copy(),
        demand.growth_percent,
        np.ones(len(twin.trips), dtype=bool),
        rng_for(["demand", demand.model_dump(mode="json")]),
    )
    return dataclasses.replace(twin, trips=trips)
