// The editor's look-ups on the twin (service/streets.py, edits/ltn_cells.py): a street grown junction by
// junction with its current values and valid choices, a junction with all its signal nodes, and what a
// drawn low-traffic neighbourhood would do. The grouping is the server's; this module only asks.

import { call } from "./api";

export interface StreetInfo {
  name: string; named: boolean; osm_way_ids: number[]; link_ids: number[]; way_link_ids: number[];
  length_m: number; beyond_selection_m: number; segments: number; from_junction: string; to_junction: string;
  can_extend_before: boolean; can_extend_after: boolean; towards: [string, string];
  current: { lanes: number[]; speed_limit_mph: number[]; highway: string[]; one_way: boolean };
  choices: { speed_limit_mph: number[]; lanes: number[]; bus_lane: boolean; bus_lane_reason: string };
}

export interface JunctionInfo {
  name: string; control: string; osm_node_ids: number[]; signal_osm_node_ids: number[]; cycle_s: number | null;
  approaches: { street: string; green_ratio: number; cycle_s: number }[];
}

export interface RatRun { from: string; to: string; via: string[]; link_ids: number[]; time_s: number }
export interface LtnPreview {
  changes_nothing: boolean; why: string; entries: number;
  filters: { street: string; osm_way_id: number; lon: number; lat: number }[];
  filtered_link_ids: number[];
  cells: { link_ids: number[]; streets: string[]; entries: string[]; length_m: number }[];
  rat_runs_before: number; rat_runs_after: number; rat_runs: RatRun[]; rat_runs_left: RatRun[];
}

export const streets = {
  street: (twinId: string, linkId: number, before: number, after: number) =>
    call<StreetInfo>("GET", `/api/twins/${twinId}/street?link_id=${linkId}&before=${before}&after=${after}`),
  junction: (twinId: string, osmNodeId: number) =>
    call<JunctionInfo>("GET", `/api/twins/${twinId}/junction?osm_node_id=${osmNodeId}`),
  ltn: (twinId: string, area: unknown) => call<LtnPreview>("POST", `/api/twins/${twinId}/ltn`, { area }),
};

/** "2 lanes", "1–2 lanes"; "30 mph", "20–30 mph": the current values of a selection. */
export function range(values: number[], unit: string): string {
  if (!values.length) return "unknown";
  const text = values.length === 1 ? `${values[0]}` : `${values[0]}–${values[values.length - 1]}`;
  return `${text} ${unit}`;
}
