// A run's result on the map: link colours for the flow difference (a diverging scale, blue less traffic,
// red more) or the scenario's congestion, each with the legend that explains it.

import { decodeLayer } from "../layers";
import { el } from "../dom";
import { formatNumber } from "../kpis";
import type { RGBA, ScenarioContext } from "../context";

export type ResultLayer = "difference" | "congestion";

export interface ResultMap { colours: Map<number, RGBA>; legend: HTMLElement }

/** The colour of a flow change `change_vph` on a scale that saturates at ±`largest_vph` (square root, so small changes show). */
export function differenceColour(change_vph: number, largest_vph: number): RGBA {
  const share = Math.min(1, Math.abs(change_vph) / largest_vph) ** 0.5;
  return change_vph >= 0 ? [200, 200 * (1 - share), 200 * (1 - share), 255] : [200 * (1 - share), 200 * (1 - share), 220, 255];
}

const CONGESTION: { below: number; name: string; colour: RGBA }[] = [
  { below: 0.5, name: "below 0.5", colour: [40, 160, 60, 255] },
  { below: 0.85, name: "0.5-0.85", colour: [240, 170, 0, 255] },
  { below: Infinity, name: "0.85 and over", colour: [210, 30, 30, 255] },
];

export async function resultColours(ctx: ScenarioContext, runId: number, kind: ResultLayer): Promise<ResultMap> {
  const response = await fetch(`/api/runs/${runId}/layers/link_change`, { credentials: "same-origin" });
  const layer = decodeLayer(await response.arrayBuffer());
  const ids = layer.columns.link_id as Int32Array;
  const change = layer.columns.change_vph as Float32Array;
  const flow = layer.columns.scenario_vph as Float32Array;
  const capacity = ctx.twin.links.columns.capacity_vph as Float32Array;
  const largest = Math.max(1, ...Array.from(change, Math.abs));
  const colours = new Map<number, RGBA>();
  for (let k = 0; k < layer.count; k++) {
    const row = ctx.twin.linkRow.get(ids[k]);
    if (row === undefined) continue;
    if (kind === "congestion") {
      const ratio = flow[k] / Math.max(1, capacity[row]);
      colours.set(row, (CONGESTION.find((band) => ratio < band.below) ?? CONGESTION[CONGESTION.length - 1]).colour);
    } else {
      colours.set(row, differenceColour(change[k], largest));
    }
  }
  const swatch = (c: RGBA) => `color:rgb(${c.slice(0, 3).join(",")})`;
  const legend = kind === "difference"
    ? el("div", { id: "difference-legend" }, el("b", {}, "Flow difference"), " (scenario − baseline, vehicles per hour)", el("br"),
      el("span", {}, `−${formatNumber(largest)} veh/h `), el("span", { class: "diverging" }), el("span", {}, ` +${formatNumber(largest)} veh/h`), el("br"),
      el("span", { style: swatch(differenceColour(-largest, largest)) }, "blue: less traffic"), ", grey: unchanged, ",
      el("span", { style: swatch(differenceColour(largest, largest)) }, "red: more traffic"))
    : el("div", { id: "congestion-legend" }, el("b", {}, "Scenario congestion"), " (flow / capacity): ",
      ...CONGESTION.flatMap((band, k) => [k ? ", " : "", el("span", { style: swatch(band.colour) }, band.name)]));
  return { colours, legend };
}
