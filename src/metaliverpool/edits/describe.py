"""Plain-language labels of edits, naming the streets, junctions and areas they act on.

Messages about an edit number it by its place in the scenario (1-based) and say what it is and where:
``edit 5 (bus lane on Strand Street)``, never by the editor's uuid. Streets are named by their OSM
``name`` (else ``ref``, else "OSM way N"); a junction by the streets that meet there
(``Dale Street / Sir Thomas Street``); an LSOA by its name and code (``Liverpool 022A (E01006512)``)
when the twin's zones have names, else by its code.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from metaliverpool.edits.schema import (
    AiSignalControl,
    BusLane,
    ChangeLanes,
    CloseRoad,
    CordonCharge,
    DemandChange,
    Edit,
    LowTrafficNeighbourhood,
    ModalFilter,
    NewDevelopment,
    SignalPlan,
    SpeedLimit,
    TurnBan,
)

MAX_NAMES = 2
"""How many street names a label lists before "and N more"."""


def _join(names: list[str]) -> str:
    if len(names) <= MAX_NAMES:
        return " and ".join(names)
    return f"{', '.join(names[:MAX_NAMES])} and {len(names) - MAX_NAMES} more"


def _street_of_rows(rows: pd.DataFrame) -> str:
    """The street name of some links (name, else ref, else empty)."""
    for column in ("name", "ref"):
        if column in rows.columns:
            values = [str(v) for v in rows[column].to_numpy() if isinstance(v, str) and v]
            if values:
                return pd.Series(values).mode().iloc[0]
    return ""


def streets_of_ways(links: pd.DataFrame, osm_way_ids: Iterable[int]) -> str:
    """The streets of OSM ways, in order, each named once (``Strand Street and The Strand``)."""
    names: list[str] = []
    way_column = links["osm_way_id"].to_numpy()
    for way in osm_way_ids:
        name = _street_of_rows(links[way_column == way]) or f"OSM way {way}"
        if name not in names:
            names.append(name)
    return _join(names) if names else "no street"


def junction_name(links: pd.DataFrame, nodes: pd.DataFrame, osm_node_id: int) -> str:
    """The streets meeting at the junction holding ``osm_node_id`` (``Dale Street / Sir Thomas Street``)."""
    hits = nodes.loc[nodes["osm_node_id"] == osm_node_id]
    if hits.empty:
        return f"OSM node {osm_node_id}"
    node_ids = hits["node_id"].to_numpy()
    junction = int(hits["junction_id"].iloc[0]) if "junction_id" in hits.columns else -1
    if junction >= 0:
        node_ids = nodes.loc[nodes["junction_id"] == junction, "node_id"].to_numpy()
    touching = links[links["from_node_id"].isin(node_ids) | links["to_node_id"].isin(node_ids)]
    names: list[str] = []
    for way in pd.unique(touching["osm_way_id"]):
        name = _street_of_rows(touching[touching["osm_way_id"].to_numpy() == way])
        if name and name not in names:
            names.append(name)
    return " / ".join(sorted(names)[:3]) if names else f"OSM node {osm_node_id}"


def lsoa_name(zones: pd.DataFrame | None, lsoa_code: str) -> str:
    """``Liverpool 022A (E01006512)``: an LSOA by its name and code (``LSOA E01006512`` without a name)."""
    if zones is not None and "name" in zones.columns:
        hits = zones.loc[zones["zone_code"] == lsoa_code, "name"]
        if len(hits) and isinstance(hits.iloc[0], str) and hits.iloc[0]:
            return f"{hits.iloc[0]} ({lsoa_code})"
    return f"LSOA {lsoa_code}"


def _mph(value: float) -> str:
    return f"{value:g} mph"


def edit_label(
    edit: Edit, links: pd.DataFrame, nodes: pd.DataFrame, zones: pd.DataFrame | None = None
) -> str:
    """What the edit does and where, in words (``bus lane on Strand Street``); ``zones`` names LSOAs."""
    if isinstance(edit, CloseRoad):
        who = "" if edit.vehicles == "all" else " to general traffic"
        return f"closure{who} of {streets_of_ways(links, edit.osm_way_ids)}"
    if isinstance(edit, ChangeLanes):
        plural = "lane" if edit.lanes == 1 else "lanes"
        return f"{edit.lanes} {plural} on {streets_of_ways(links, edit.osm_way_ids)}"
    if isinstance(edit, BusLane):
        return f"bus lane on {streets_of_ways(links, edit.osm_way_ids)}"
    if isinstance(edit, SpeedLimit):
        if edit.osm_way_ids is not None:
            return f"{_mph(edit.speed_limit_mph)} on {streets_of_ways(links, edit.osm_way_ids)}"
        return f"{_mph(edit.speed_limit_mph)} zone (drawn area)"
    if isinstance(edit, ModalFilter):
        what = "bus gate" if edit.bus_gate else "modal filter"
        return f"{what} on {streets_of_ways(links, edit.osm_way_ids)}"
    if isinstance(edit, LowTrafficNeighbourhood):
        return "low-traffic neighbourhood (drawn area)"
    if isinstance(edit, TurnBan):
        into = streets_of_ways(links, [edit.to_osm_way_id])
        return f"turn ban from {streets_of_ways(links, [edit.from_osm_way_id])} into {into}"
    if isinstance(edit, SignalPlan):
        what = "signal optimisation" if edit.optimise else "signal plan"
        return f"{what} at {junction_name(links, nodes, edit.osm_node_id)}"
    if isinstance(edit, AiSignalControl):
        if edit.osm_node_ids is None:
            where = "all signalised junctions"
        else:
            where = _join([junction_name(links, nodes, n) for n in edit.osm_node_ids])
        state = "" if edit.enabled else " (disabled)"
        return f"AI signal control{state} of {where}"
    if isinstance(edit, CordonCharge):
        return f"£{edit.charge_gbp:g} cordon charge ({edit.direction}, drawn area)"
    if isinstance(edit, NewDevelopment):
        parts = [f"{edit.homes:,} homes" if edit.homes else "", f"{edit.jobs:,} jobs" if edit.jobs else ""]
        return f"{' and '.join(p for p in parts if p)} in {lsoa_name(zones, edit.lsoa_code)}"
    if isinstance(edit, DemandChange):
        codes = edit.lsoa_codes
        where = "everywhere" if codes is None else f"in {_join([lsoa_name(zones, c) for c in codes])}"
        return f"{edit.percent:+g}% car demand {where}"
    raise TypeError(f"no label for edit kind {edit.kind!r}")


def numbered(number: int, label: str) -> str:
    """``edit 5 (bus lane on Strand Street)``."""
    return f"edit {number} ({label})"
