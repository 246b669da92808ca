"""Turn the per-seed outputs of baseline and scenario runs into impacts with intervals across seeds.

:func:`compute_impacts` returns an :class:`Impacts`: the ``kpis`` dict written to ``kpis.json`` (schema in
``docs/scenarios.md``), a per-link table (mean flows, changes, emissions; for the maps) and a per-zone table
(journey change, access by car and on foot, IMD decile, population).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import shapely

from metaliverpool.metrics.access import SERVICE_KINDS, THRESHOLDS_MIN, car_access, walk_access
from metaliverpool.metrics.emissions import POLLUTANTS, EmissionCurves, link_emissions
from metaliverpool.metrics.equity import MOST_DEPRIVED_DECILE, by_imd_decile
from metaliverpool.metrics.intervals import mean_interval, paired_change
from metaliverpool.metrics.journeys import (
    WINNER_LOSER_THRESHOLD_S,
    compare_od,
    winners_losers,
    zone_changes,
)
from metaliverpool.metrics.network import (
    RAT_RUN_MIN_RISE_FRACTION,
    RAT_RUN_MIN_RISE_VEH_PER_H,
    add_link_measures,
    compare_link_flows,
    network_totals,
)
from metaliverpool.network.twin import Twin
from metaliverpool.scenario.engines import RunOutputs, period_hours, routable_zones

TOP_LINKS = 15
"""How many most-changed links the KPIs list."""


@dataclass
class Impacts:
    """Everything the report and ``kpis.json`` show."""

    kpis: dict[str, Any]
    links: pd.DataFrame
    zones: pd.DataFrame


def _nanmean(values: pd.Series) -> float:
    """Mean of the finite values (NaN, silently, when there are none)."""
    array = np.asarray(values, dtype=np.float64)
    array = array[np.isfinite(array)]
    return float(array.mean()) if array.size else float("nan")


def _triple(baseline: Sequence[float], scenario: Sequence[float]) -> dict[str, Any]:
    return {
        "baseline": mean_interval(baseline).as_dict(),
        "scenario": mean_interval(scenario).as_dict(),
        "change": paired_change(baseline, scenario).as_dict(),
    }


def _emission_totals(loads: pd.DataFrame, curves: EmissionCurves) -> tuple[dict[str, float], pd.DataFrame]:
    measured = add_link_measures(loads)
    grams = link_emissions(measured["vehicle_km"], measured["speed_kmh"], curves)
    grams.index = measured.index
    totals = {f"{p}_g": float(grams[f"{p}_g"].sum()) for p in POLLUTANTS}
    return totals, pd.concat([measured[["base_link_id"]], grams], axis=1)


def _junction_nodes(twin: Twin) -> np.ndarray:
    if "kind" in twin.nodes.columns:
        return twin.nodes.loc[twin.nodes["kind"] == "junction", "node_id"].to_numpy()
    return twin.nodes["node_id"].to_numpy()


def _car_access(twin: Twin, loads: pd.DataFrame, zones: pd.DataFrame) -> pd.DataFrame:
    links = twin.links
    car = (
        (links["access"] != "bus_only").to_numpy() if "access" in links.columns else np.ones(len(links), bool)
    )
    times = loads.set_index("link_id")["time_s"].reindex(links["link_id"].to_numpy()).to_numpy()
    return car_access(
        int(twin.nodes["node_id"].max()) + 1,
        links["from_node_id"].to_numpy()[car],
        links["to_node_id"].to_numpy()[car],
        times[car],
        zones,
        twin.services,
    )


def _zone_of_links(twin: Twin, zones: pd.DataFrame) -> pd.Series:
    """The zone (``zone_id``) containing each base link's midpoint, -1 outside every zone."""
    links = twin.links
    geometries = links["geometry"].to_numpy(dtype=object) if "geometry" in links.columns else None
    nodes = twin.nodes.set_index("node_id")
    lon = 0.5 * (
        nodes["lon"].reindex(links["from_node_id"]).to_numpy()
        + nodes["lon"].reindex(links["to_node_id"]).to_numpy()
    )
    lat = 0.5 * (
        nodes["lat"].reindex(links["from_node_id"]).to_numpy()
        + nodes["lat"].reindex(links["to_node_id"]).to_numpy()
    )
    if geometries is not None:
        lines = np.array([isinstance(g, shapely.LineString) and not g.is_empty for g in geometries])
        if lines.any():
            points = shapely.line_interpolate_point(list(geometries[lines]), 0.5, normalized=True)
            lon[lines] = shapely.get_x(points)
            lat[lines] = shapely.get_y(points)
    polygons = zones["geometry"].to_numpy(dtype=object)
    valid = np.array([g is not None and not shapely.is_empty(g) for g in polygons])
    result = np.full(len(links), -1, dtype=np.int64)
    if valid.any():
        tree = shapely.STRtree(list(polygons[valid]))
        point_index, polygon_index = tree.query(shapely.points(lon, lat), predicate="within")
        zone_ids = zones["zone_id"].to_numpy()[valid]
        result[point_index] = zone_ids[polygon_index]
    base = links["base_link_id"] if "base_link_id" in links.columns else links["link_id"]
    return pd.Series(result, index=base.to_numpy(dtype=np.int64))


def _access_summary(per_seed_base: list[pd.DataFrame], per_seed_scen: list[pd.DataFrame]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for kind in SERVICE_KINDS:
        entry: dict[str, Any] = {}
        for measure in [f"{kind}_nearest_min", *[f"{kind}_within_{m}min" for m in THRESHOLDS_MIN]]:
            base = [_nanmean(frame[measure]) for frame in per_seed_base]
            scen = [_nanmean(frame[measure]) for frame in per_seed_scen]
            entry[measure.removeprefix(f"{kind}_")] = _triple(base, scen)
        out[kind] = entry
    return out


def _decile_intervals(per_seed: list[pd.DataFrame]) -> list[dict[str, Any]]:
    """Per decile: interval across seeds of the population-weighted value."""
    rows = []
    for decile in range(1, 11):
        values = [float(frame.loc[frame["imd_decile"] == decile, "value"].iloc[0]) for frame in per_seed]
        population = float(per_seed[0].loc[per_seed[0]["imd_decile"] == decile, "population"].iloc[0])
        rows.append({"imd_decile": decile, "population": population, **mean_interval(values).as_dict()})
    return rows


def compute_impacts(
    base_twin: Twin,
    scenario_twin: Twin,
    baseline: Sequence[RunOutputs],
    scenario: Sequence[RunOutputs],
    curves: EmissionCurves,
) -> Impacts:
    """Impacts of ``scenario`` against ``baseline`` (same seeds, same order)."""
    seeds = len(baseline)
    if seeds != len(scenario) or seeds == 0:
        raise ValueError("baseline and scenario need the same, non-zero number of seeds")
    period_h = period_hours(base_twin.trips)
    zones = routable_zones(base_twin)
    zones = zones[zones["kind"] == "lsoa"] if "kind" in zones.columns else zones
    scen_zones = routable_zones(scenario_twin)
    scen_zones = scen_zones[scen_zones["kind"] == "lsoa"] if "kind" in scen_zones.columns else scen_zones

    # Network totals and emissions, per seed.
    totals_base = [network_totals(o.link_loads, _junction_nodes(base_twin)) for o in baseline]
    totals_scen = [network_totals(o.link_loads, _junction_nodes(scenario_twin)) for o in scenario]
    network = {k: _triple([t[k] for t in totals_base], [t[k] for t in totals_scen]) for k in totals_base[0]}
    emis_base = [_emission_totals(o.link_loads, curves) for o in baseline]
    emis_scen = [_emission_totals(o.link_loads, curves) for o in scenario]
    emissions = {
        f"{p}_kg": _triple(
            [e[0][f"{p}_g"] / 1000 for e in emis_base], [e[0][f"{p}_g"] / 1000 for e in emis_scen]
        )
        for p in POLLUTANTS
    }

    # Journeys per seed.
    od_per_seed = [compare_od(b.trip_times, s.trip_times) for b, s in zip(baseline, scenario, strict=True)]
    wl = [winners_losers(od) for od in od_per_seed]
    journeys: dict[str, Any] = {k: mean_interval([w[k] for w in wl]).as_dict() for k in wl[0]}
    journeys["trips_arrived"] = _triple(
        [
            float(np.isfinite(o.trip_times["travel_time_s"].to_numpy(dtype=np.float64)).sum())
            for o in baseline
        ],
        [
            float(np.isfinite(o.trip_times["travel_time_s"].to_numpy(dtype=np.float64)).sum())
            for o in scenario
        ],
    )
    journeys["threshold_s"] = WINNER_LOSER_THRESHOLD_S
    journeys["measure"] = baseline[0].summary.get("journey_measure", "travel time (s)")
    zone_change_per_seed = [zone_changes(od) for od in od_per_seed]

    # Access by car (congested times of each run) and on foot (base network: closures to motor traffic
    # do not stop pedestrians).
    access_base = [_car_access(base_twin, o.link_loads, zones) for o in baseline]
    access_scen = [_car_access(scenario_twin, o.link_loads, scen_zones) for o in scenario]
    walk = walk_access(
        base_twin.nodes,
        base_twin.links,
        base_twin.active_nodes,
        base_twin.active_links,
        zones,
        base_twin.services,
    )
    access = {
        "car": _access_summary(access_base, access_scen),
        "walk": {
            kind: {
                "nearest_min": mean_interval([_nanmean(walk[f"{kind}_nearest_min"])]).as_dict(),
                **{
                    f"within_{m}min": mean_interval([_nanmean(walk[f"{kind}_within_{m}min"])]).as_dict()
                    for m in THRESHOLDS_MIN
                },
            }
            for kind in SERVICE_KINDS
        },
    }

    # Links: mean flows over seeds, changes, rat-running, emissions change.
    def mean_loads(outputs: Sequence[RunOutputs]) -> pd.DataFrame:
        stacked = pd.concat([o.link_loads for o in outputs])
        return stacked.groupby("base_link_id", as_index=False).agg(
            flow_veh=("flow_veh", "mean"), highway=("highway", "first"), time_s=("time_s", "mean")
        )

    link_change = compare_link_flows(mean_loads(baseline), mean_loads(scenario), period_h)
    nox_base = (
        pd.concat([e[1] for e in emis_base]).groupby("base_link_id")[["co2_g", "nox_g", "pm25_g"]].mean()
    )
    nox_scen = (
        pd.concat([e[1] for e in emis_scen]).groupby("base_link_id")[["co2_g", "nox_g", "pm25_g"]].mean()
    )
    emis_change = nox_scen.reindex(nox_base.index).fillna(0.0) - nox_base
    link_change = link_change.merge(
        emis_change.rename(columns=lambda c: f"{c}_change").reset_index(), on="base_link_id", how="left"
    )
    base_links = base_twin.links.set_index("link_id")
    link_change["osm_way_id"] = base_links["osm_way_id"].reindex(link_change["base_link_id"]).to_numpy()
    link_change["name"] = base_links["name"].reindex(link_change["base_link_id"]).astype(str).to_numpy()
    kept = (
        set(scenario_twin.links["base_link_id"].to_numpy().tolist())
        if "base_link_id" in scenario_twin.links
        else set()
    )
    car_open = scenario_twin.links.loc[scenario_twin.links["access"] != "bus_only", "base_link_id"]
    link_change["closed_in_scenario"] = ~link_change["base_link_id"].isin(set(car_open.to_numpy().tolist()))
    link_change["removed_in_scenario"] = ~link_change["base_link_id"].isin(kept) if kept else False

    ranked = link_change.reindex(link_change["change_vph"].abs().sort_values(ascending=False).index)
    columns = ["base_link_id", "osm_way_id", "name", "highway", "baseline_vph", "scenario_vph", "change_vph"]
    rat = link_change[link_change["rat_run"]]
    closed = link_change[link_change["closed_in_scenario"]]
    diversion = {
        "largest_changes": ranked.head(TOP_LINKS)[columns].to_dict("records"),
        "rat_running": {
            "rule": {
                "highways": ["residential", "living_street", "unclassified", "service"],
                "min_rise_fraction": RAT_RUN_MIN_RISE_FRACTION,
                "min_rise_vph": RAT_RUN_MIN_RISE_VEH_PER_H,
            },
            "flagged": len(rat),
            "links": rat.sort_values("change_vph", ascending=False)
            .head(TOP_LINKS)[columns]
            .to_dict("records"),
        },
        "closed_to_cars": {
            "links": len(closed),
            "max_scenario_vph": float(closed["scenario_vph"].max()) if len(closed) else 0.0,
        },
    }

    # Zones: journey change, access change, emission change located by link midpoint.
    zone_table = zones[["zone_id", "zone_code", "population", "imd_decile"]].copy()
    journey_zone = pd.concat(zone_change_per_seed).groupby("zone_id")["change_s"].mean()
    zone_table["journey_change_s"] = journey_zone.reindex(zone_table["zone_id"]).to_numpy()
    for kind in SERVICE_KINDS:
        column = f"{kind}_nearest_min"
        base_mean = pd.concat(access_base).groupby("zone_id")[column].mean()
        scen_mean = pd.concat(access_scen).groupby("zone_id")[column].mean()
        zone_table[f"car_{column}_baseline"] = base_mean.reindex(zone_table["zone_id"]).to_numpy()
        zone_table[f"car_{column}_change"] = (
            scen_mean.reindex(zone_table["zone_id"]).to_numpy()
            - base_mean.reindex(zone_table["zone_id"]).to_numpy()
        )
        zone_table[f"walk_{column}"] = (
            walk.set_index("zone_id")[column].reindex(zone_table["zone_id"]).to_numpy()
        )
    link_zone = _zone_of_links(base_twin, zones)
    link_change["zone_id"] = link_zone.reindex(link_change["base_link_id"]).to_numpy()
    nox_by_zone = link_change.groupby("zone_id")["nox_g_change"].sum()
    zone_table["nox_change_g"] = nox_by_zone.reindex(zone_table["zone_id"]).fillna(0.0).to_numpy()

    # Equity: decile breakdowns (journeys with intervals across seeds; the rest on seed means).
    journey_deciles = _decile_intervals(
        [by_imd_decile(frame, zones, "change_s") for frame in zone_change_per_seed]
    )
    equity: dict[str, Any] = {"journey_change_s": journey_deciles}
    for kind in SERVICE_KINDS:
        per_seed = []
        for base_frame, scen_frame in zip(access_base, access_scen, strict=True):
            change = (
                scen_frame.set_index("zone_id")[f"{kind}_nearest_min"]
                - base_frame.set_index("zone_id")[f"{kind}_nearest_min"]
            )
            per_seed.append(by_imd_decile(change.rename("v").reset_index(), zones, "v"))
        equity[f"car_{kind}_nearest_min_change"] = _decile_intervals(per_seed)
        equity[f"walk_{kind}_nearest_min"] = _decile_intervals(
            [by_imd_decile(walk, zones, f"{kind}_nearest_min")]
        )
    equity["nox_change_g"] = _decile_intervals([by_imd_decile(zone_table, zones, "nox_change_g")])
    most = {
        name: next(row for row in rows if row["imd_decile"] == MOST_DEPRIVED_DECILE)
        for name, rows in equity.items()
    }
    equity["most_deprived_decile"] = {"decile": MOST_DEPRIVED_DECILE, **most}

    kpis = {
        "network": network,
        "emissions": emissions,
        "journeys": journeys,
        "access": access,
        "equity": equity,
        "diversion": diversion,
        "period_h": period_h,
        "seeds": seeds,
    }
    return Impacts(kpis=kpis, links=link_change, zones=zone_table)
