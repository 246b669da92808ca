// The Runs tab: start a run against the baseline, follow its progress, and compare: KPI and equity tables,
// the difference or congestion map, the AI loop's junctions, vehicles and the full report.

import { api, type RunInfo } from "../api";
import { clear, el } from "../dom";
import { decodeLayer } from "../layers";
import { equityRows, formatNumber, kpiRows } from "../kpis";
import { clock, TWIN_DAY_START_S } from "../forecast";
import { attempt, type RGBA, type ScenarioContext } from "../context";
import type { Vehicles } from "./vehicles";

interface AiLoop {
  seeds: number; eligible_signals: number; horizon_s: number; risk_threshold: number;
  junctions: { osm_node_id: number; lon: number; lat: number; seeds_flagged: number; first_flag_s: number; max_forecast: number }[];
}

export interface Runs {
  element: HTMLElement;
  refresh(): Promise<void>;
  stop(): void;
}

/** `showEdits` draws the edits again when the result map is turned off; `aiLegend` is shown with AI-loop junctions. */
export function runsPanel(ctx: ScenarioContext, cars: Vehicles, showEdits: () => void, aiLegend: HTMLElement): Runs {
  const element = el("div", { id: "runs" });
  const { scenarioId, canEdit, view } = ctx;
  let polling: number | null = null;

  async function refresh(): Promise<void> {
    const runs = await api.runs(scenarioId);
    clear(element);
    const engine = el("select", { id: "run-engine" }, el("option", { value: "static" }, "static (equilibrium)"), el("option", { value: "dynamic" }, "dynamic (simulator)")) as HTMLSelectElement;
    const seeds = el("input", { id: "run-seeds", value: "1,2,3", size: 8 }) as HTMLInputElement;
    element.append(el("div", { class: "panel" }, el("h3", {}, "Runs"),
      canEdit ? el("div", { class: "form" }, el("label", { for: "run-engine" }, "Engine"), engine, el("label", { for: "run-seeds" }, "seeds"), seeds, el("button", { class: "primary", id: "start-run", onclick: () => attempt(ctx, async () => {
        await api.startRun(scenarioId, null, engine.value, seeds.value.split(",").map((v) => Number(v.trim())).filter((v) => Number.isInteger(v)));
        await refresh();
      }) }, "Run vs baseline")) : null,
      el("ul", { class: "items", id: "run-list" }, ...runs.map((run: RunInfo) => el("li", { "data-run": run.run_id, "data-status": run.status },
        el("div", { style: "width:100%" }, `Run ${run.run_id}: ${run.status}`, run.message ? el("div", { class: "meta" }, run.message) : null,
          run.status === "running" || run.status === "queued" ? el("progress", { max: 1, value: run.progress }) : null,
          run.status === "done" ? el("div", {}, el("a", { href: `/api/runs/${run.run_id}/report`, target: "_blank" }, "Report"), " ",
            el("button", { class: "compare", onclick: () => void compare(run) }, "Compare")) : null))))));
    const active = runs.some((run) => run.status === "running" || run.status === "queued");
    if (active && polling === null) polling = window.setInterval(() => void refresh(), 1000);
    if (!active && polling !== null) { window.clearInterval(polling); polling = null; }
  }

  async function compare(run: RunInfo): Promise<void> {
    document.getElementById("compare")?.remove();
    const rows = kpiRows(run.kpis);
    const equity = equityRows(run.kpis);
    const interval = (v: { mean: number; lower: number; upper: number } | null) =>
      v ? `${formatNumber(v.mean)} [${formatNumber(v.lower)}, ${formatNumber(v.upper)}]` : "–";
    const maxEquity = Math.max(1e-9, ...equity.map((e) => Math.abs(e.mean)));
    const mode = el("select", { id: "result-map", onchange: async (event) => {
      const chosen = (event.target as HTMLSelectElement).value;
      const difference = chosen === "off" ? null : await loadResult(run.run_id, chosen as "difference" | "congestion");
      ctx.resultShown = difference !== null;
      ctx.linkColours = new Map(difference ?? []);
      if (!difference) showEdits(); else { view.linkVersion += 1; ctx.render(); }
    } }, el("option", { value: "off" }, "edits"), el("option", { value: "difference" }, "flow difference (red more, blue less)"),
      el("option", { value: "congestion" }, "scenario congestion (flow / capacity: green < 0.5 < amber < 0.85 < red)"));
    element.append(el("div", { class: "panel", id: "compare" }, el("h3", {}, `Run ${run.run_id}: scenario vs baseline`),
      el("label", {}, "Map shows ", mode),
      el("div", {}, el("button", { id: "show-vehicles", onclick: () => void cars.show(run.run_id) }, "Animate vehicles"),
        el("span", { class: "hint" }, " (one simulation of the scenario; colour = delay: green none, red twice free-flow time)")),
      el("table", { class: "kpis", id: "kpi-table" }, el("tr", {}, el("th", {}, "KPI"), el("th", {}, "baseline"), el("th", {}, "scenario"), el("th", {}, "change [95% interval]")),
        ...rows.map((r) => el("tr", {}, el("td", {}, `${r.group}: ${r.name}`), el("td", {}, formatNumber(r.baseline?.mean)), el("td", {}, formatNumber(r.scenario?.mean)), el("td", {}, interval(r.change))))),
      el("h3", { style: "margin-top:8px" }, "Journey time change by IMD decile (1 = most deprived)"),
      el("table", { class: "kpis", id: "equity-table" }, el("tr", {}, el("th", {}, "decile"), el("th", {}, "people"), el("th", {}, "change (s)"), el("th", {}, "")),
        ...equity.map((e) => el("tr", {}, el("td", {}, String(e.imd_decile)), el("td", {}, formatNumber(e.population)),
          el("td", {}, `${formatNumber(e.mean)} [${formatNumber(e.lower)}, ${formatNumber(e.upper)}]`),
          el("td", {}, el("span", { style: `display:inline-block;height:8px;width:${Math.round(60 * Math.abs(e.mean) / maxEquity)}px;background:${e.mean > 0 ? "#c00" : "#06c"}` }))))),
      aiLoopSection(run),
      el("p", {}, el("a", { href: `/api/runs/${run.run_id}/report`, target: "_blank" }, "Open the full report"))));
  }

  function aiLoopSection(run: RunInfo): HTMLElement | null {
    const loop = run.kpis.ai_loop as AiLoop | undefined;
    view.aiJunctions = loop ? loop.junctions.filter((j) => Number.isFinite(j.lon) && Number.isFinite(j.lat)) : null;
    ctx.hooks.aiJunctions = view.aiJunctions;
    aiLegend.style.display = view.aiJunctions?.length ? "block" : "none";
    ctx.render();
    if (!loop) return null;
    return el("div", { id: "ai-loop" }, el("h3", { style: "margin-top:8px" }, "AI signal loop"),
      el("p", { class: "hint" }, `${loop.junctions.length} of ${loop.eligible_signals} signalised junctions were taken over in ${loop.seeds} seed(s): ` +
        `their blocking risk, forecast ${Math.round(loop.horizon_s / 60)} min ahead, reached ${loop.risk_threshold}. They are ringed in purple on the map; the baseline is the same scenario without the loop.`),
      el("table", { class: "kpis", id: "ai-junctions" }, el("tr", {}, el("th", {}, "junction (OSM node)"), el("th", {}, "first at"), el("th", {}, "seeds"), el("th", {}, "max risk")),
        ...loop.junctions.slice(0, 12).map((j) => el("tr", {}, el("td", {}, el("a", { href: "#", onclick: (event: Event) => { event.preventDefault(); ctx.map.flyTo({ center: [j.lon, j.lat], zoom: 17 }); } }, String(j.osm_node_id))),
          el("td", {}, clock(TWIN_DAY_START_S + j.first_flag_s)), el("td", {}, String(j.seeds_flagged)), el("td", {}, j.max_forecast.toFixed(2))))),
      loop.junctions.length > 12 ? el("p", { class: "hint" }, `and ${loop.junctions.length - 12} more (full list in the report)`) : null);
  }

  async function loadResult(runId: number, kind: "difference" | "congestion"): Promise<Map<number, RGBA>> {
    const layer = decodeLayer(await (await fetch(`/api/runs/${runId}/layers/link_change`, { credentials: "same-origin" })).arrayBuffer());
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
        colours.set(row, ratio < 0.5 ? [40, 160, 60, 255] : ratio < 0.85 ? [240, 170, 0, 255] : [210, 30, 30, 255]);
      } else {
        const share = Math.min(1, Math.abs(change[k]) / largest) ** 0.5;
        colours.set(row, change[k] >= 0 ? [200, 200 * (1 - share), 200 * (1 - share), 255] : [200 * (1 - share), 200 * (1 - share), 220, 255]);
      }
    }
    return colours;
  }

  return { element, refresh, stop: () => { if (polling !== null) window.clearInterval(polling); } };
}
