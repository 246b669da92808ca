// How edits (the scenario schema of metaliverpool.edits) look on the map and in lists.

type RGBA = [number, number, number, number];

const COLOURS: Record<string, RGBA> = {
  close_road: [204, 0, 0, 255],
  modal_filter: [204, 0, 0, 255],
  bus_lane: [136, 0, 204, 255],
  change_lanes: [0, 102, 204, 255],
  speed_limit: [0, 136, 0, 255],
  low_traffic_neighbourhood: [0, 150, 120, 255],
  cordon_charge: [200, 120, 0, 255],
};

export function editColour(edit: Record<string, unknown>): RGBA {
  return COLOURS[String(edit.kind)] ?? [60, 60, 60, 255];
}

export function editWays(edit: Record<string, unknown>): number[] {
  const ways = edit.osm_way_ids;
  return Array.isArray(ways) ? ways.map(Number) : [];
}

export function editArea(edit: Record<string, unknown>): number[][] | null {
  const area = edit.area as { coordinates?: number[][][] } | undefined;
  return area?.coordinates?.[0] ?? null;
}

export function describeEdit(edit: Record<string, unknown>, wayName: (way: number) => string): string {
  const ways = editWays(edit);
  const where = ways.length ? ways.map((w) => `${wayName(w) || "way"} (${w})`).join(", ") : "";
  switch (edit.kind) {
    case "close_road": return `Close ${where}`;
    case "modal_filter": return `Modal filter on ${where}`;
    case "bus_lane": return `Bus lane on ${where}`;
    case "change_lanes": return `${edit.lanes} lane(s) on ${where}`;
    case "speed_limit": return `${edit.speed_limit_mph} mph ${ways.length ? `on ${where}` : "zone"}`;
    case "low_traffic_neighbourhood": return "Low-traffic neighbourhood";
    case "cordon_charge": return `Charge zone £${edit.charge_gbp}`;
    case "signal_plan": return edit.optimise ? `Optimise signals at node ${edit.osm_node_id}` : `Signal cycle ${edit.cycle_s} s at node ${edit.osm_node_id}`;
    case "new_development": return `${edit.homes} homes, ${edit.jobs} jobs in ${edit.lsoa_code}`;
    case "turn_ban": return `Turn ban at node ${edit.via_osm_node_id}`;
    case "demand_change": return `Demand ${edit.percent}%`;
    case "ai_signal_control": {
      const nodes = edit.osm_node_ids as number[] | undefined;
      const where = nodes ? `at node${nodes.length > 1 ? "s" : ""} ${nodes.join(", ")}` : "on every signal";
      const how = edit.forecast === "reactive" ? "no forecast" : `${edit.forecast ?? "trend"} forecast ${edit.horizon_min ?? 30} min ahead`;
      return edit.enabled === false ? `AI signal loop off ${where}` : `AI signal loop ${where} (${how}, risk ≥ ${edit.risk_threshold ?? 0.5})`;
    }
    default: return String(edit.kind);
  }
}

/** The edits in the server's order (creation time, then id: `service.documents.ordered_edits`), so the
 * editor numbers them 1, 2, ... as the edit checks and the run's messages do. */
export function orderedEdits<T extends { created_at_s: number }>(edits: Iterable<[string, T]>): [string, T][] {
  return Array.from(edits).sort((a, b) => a[1].created_at_s - b[1].created_at_s || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}
