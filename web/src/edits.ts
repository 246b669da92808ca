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

/** What an edit does, in words, until the server's check names it (the edit list then shows the check's
 * label: streets, junctions by their streets, areas by name). Never an OSM id or an LSOA code alone. */
export function describeEdit(edit: Record<string, unknown>, names: { wayName: (way: number) => string; zoneName: (code: string) => string }): string {
  const ways = editWays(edit);
  const where = Array.from(new Set(ways.map((w) => names.wayName(w) || "an unnamed road"))).join(", ");
  const zones = (codes: unknown) => (Array.isArray(codes) ? codes.map((c) => names.zoneName(String(c))).join(", ") : "everywhere");
  switch (edit.kind) {
    case "close_road": return `Close ${where}`;
    case "modal_filter": return `Modal filter on ${where}`;
    case "bus_lane": return `Bus lane on ${where}`;
    case "change_lanes": return `${edit.lanes} lane(s) on ${where}`;
    case "speed_limit": return `${edit.speed_limit_mph} mph ${ways.length ? `on ${where}` : "zone"}`;
    case "low_traffic_neighbourhood": return "Low-traffic neighbourhood";
    case "cordon_charge": return `Charge zone £${edit.charge_gbp}`;
    case "signal_plan": return edit.optimise ? "Optimise a junction's signals" : `Signal cycle ${edit.cycle_s} s at a junction`;
    case "new_development": return `${edit.homes} homes, ${edit.jobs ?? 0} jobs in ${names.zoneName(String(edit.lsoa_code))}`;
    case "turn_ban": return `Turn ban from ${names.wayName(Number(edit.from_osm_way_id)) || "a road"} into ${names.wayName(Number(edit.to_osm_way_id)) || "a road"}`;
    case "demand_change": return `Demand ${edit.percent}% ${edit.lsoa_codes ? `in ${zones(edit.lsoa_codes)}` : "everywhere"}`;
    case "ai_signal_control": {
      const nodes = edit.osm_node_ids as number[] | undefined;
      const where = nodes ? "at a junction" : "on every signal";
      const how = edit.forecast === "reactive" ? "no forecast" : `${edit.forecast ?? "trend"} forecast ${edit.horizon_min ?? 30} min ahead`;
      return edit.enabled === false ? `AI signal loop off ${where}` : `AI signal loop ${where} (${how}, risk ≥ ${edit.risk_threshold ?? 0.5})`;
    }
    default: return String(edit.kind);
  }
}

/** The check's label of an edit, capitalised ("Bus lane on Strand Street"), else `describeEdit`'s words. */
export function editText(edit: Record<string, unknown>, label: string | undefined, names: Parameters<typeof describeEdit>[1]): string {
  return label ? label.charAt(0).toUpperCase() + label.slice(1) : describeEdit(edit, names);
}

/** The edits in the server's order (creation time, then id: `service.documents.ordered_edits`), so the
 * editor numbers them 1, 2, ... as the edit checks and the run's messages do. */
export function orderedEdits<T extends { created_at_s: number }>(edits: Iterable<[string, T]>): [string, T][] {
  return Array.from(edits).sort((a, b) => a[1].created_at_s - b[1].created_at_s || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}
