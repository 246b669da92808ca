// A finished run, compared with the base twin: a one-screen summary first (what changes, for whom, how
// sure), the result map with a legend that matches it, the vehicle animation when the run has one, the
// KPIs as the server labels and rounds them (`kpi_table`), the package and the AI loop apart
// (`decomposition_table`), the journey change by IMD decile titled by what it measures, the AI loop's
// junctions, and the full report.

import type { KpiTableRow, RunInfo } from "../api";
import { el } from "../dom";
import { equityRows, formatNumber } from "../kpis";
import { clock, TWIN_DAY_START_S } from "../forecast";
import type { ScenarioContext } from "../context";
import type { Vehicles } from "./vehicles";
import { resultColours, type ResultLayer } from "./result_map";

interface AiLoop {
  seeds: number; eligible_signals: number; horizon_s: number; risk_threshold: number;
  junctions: { osm_node_id: number; name?: string; lon: number; lat: number; seeds_flagged: number; first_flag_s: number; max_forecast: number }[];
}

/** The legends over the map that a result replaces: the roads and edits legend, and the AI loop's rings. */
export interface Legends { roads: HTMLElement; result: HTMLElement; aiLoop: HTMLElement }

export interface Results {
  /** show `run` (done) in `container`, replacing what was shown */
  show(run: RunInfo, container: HTMLElement): void;
  /** a newer state of the run shown (its animation may have joined its outputs) */
  update(run: RunInfo): void;
  /** the run shown, if any */
  readonly runId: number | null;
}

export const VEHICLES_OUTPUT = "vehicles.mll";

/** The engine a run used (its scenario document's `run.engine`; the static engine is deterministic). */
export function runEngine(run: RunInfo): string {
  return run.config?.run?.engine ?? (run.kpis.deterministic ? "static" : "dynamic");
}

/** `showEdits` draws the edits again when the result map is turned off. */
export function results(ctx: ScenarioContext, cars: Vehicles, showEdits: () => void, legends: Legends): Results {
  let shown: RunInfo | null = null;
  let vehiclesSection: HTMLElement | null = null;

  function show(run: RunInfo, container: HTMLElement): void {
    document.getElementById("compare")?.remove();
    shown = run;
    vehiclesSection = el("div", { id: "vehicles-section" });
    fillVehicles(run);
    const mode = el("select", { id: "result-map", onchange: (event) => void showLayer(run, (event.target as HTMLSelectElement).value as ResultLayer | "off") },
      el("option", { value: "off" }, "edits"), el("option", { value: "difference" }, "flow difference (scenario − baseline)"),
      el("option", { value: "congestion" }, "scenario congestion (flow / capacity)"));
    container.append(el("div", { class: "panel", id: "compare" }, el("h3", {}, `Run ${run.run_id}: scenario vs base twin (do nothing)`),
      summary(run),
      el("label", {}, "Map shows ", mode),
      vehiclesSection,
      el("h3", { style: "margin-top:8px" }, "Key measures"),
      kpiTable(run.kpi_table),
      decomposition(run),
      equity(run),
      aiLoopSection(run),
      el("p", {}, el("a", { href: `/api/runs/${run.run_id}/report`, target: "_blank" }, "Open the full report"))));
  }

  function update(run: RunInfo): void {
    if (shown?.run_id !== run.run_id) return;
    const had = shown.outputs.includes(VEHICLES_OUTPUT);
    shown = run;
    if (!had && run.outputs.includes(VEHICLES_OUTPUT)) fillVehicles(run);
  }

  /** "Animate vehicles" only when the run's outputs list the animation; why not otherwise. */
  function fillVehicles(run: RunInfo): void {
    if (!vehiclesSection) return;
    vehiclesSection.replaceChildren();
    if (run.outputs.includes(VEHICLES_OUTPUT)) {
      vehiclesSection.append(el("button", { id: "show-vehicles", onclick: () => void cars.show(run.run_id) }, "Animate vehicles"),
        el("span", { class: "hint" }, " (one simulation of the scenario; colour = delay: green none, red twice free-flow time)"));
    } else if (runEngine(run) === "static") {
      vehiclesSection.append(el("p", { class: "hint", id: "no-animation" }, "No vehicle animation: the static engine moves no vehicles (run the dynamic engine to see them)."));
    } else {
      vehiclesSection.append(el("p", { class: "hint", id: "animation-pending" }, "The vehicle animation is being made (a simulation of the scenario); it appears here when ready."));
    }
  }

  async function showLayer(run: RunInfo, chosen: ResultLayer | "off"): Promise<void> {
    const result = chosen === "off" ? null : await resultColours(ctx, run.run_id, chosen);
    ctx.resultShown = result !== null;
    ctx.linkColours = new Map(result?.colours ?? []);
    legends.result.replaceChildren(...(result ? [result.legend] : []));
    legends.result.style.display = result ? "block" : "none";
    legends.roads.style.display = result ? "none" : "block";
    if (!result) showEdits(); else { ctx.view.linkVersion += 1; ctx.render(); }
  }

  function aiLoopSection(run: RunInfo): HTMLElement | null {
    const { view } = ctx;
    const loop = run.kpis.ai_loop as AiLoop | undefined;
    view.aiJunctions = loop ? loop.junctions.filter((j) => Number.isFinite(j.lon) && Number.isFinite(j.lat)) : null;
    ctx.hooks.aiJunctions = view.aiJunctions;
    legends.aiLoop.style.display = view.aiJunctions?.length ? "block" : "none";
    ctx.render();
    if (!loop) return null;
    return el("div", { id: "ai-loop" }, el("h3", { style: "margin-top:8px" }, "AI signal loop"),
      el("p", { class: "hint" }, `${loop.junctions.length} of ${loop.eligible_signals} signalised junctions were taken over in ${loop.seeds} seed(s): ` +
        `their blocking risk, forecast ${Math.round(loop.horizon_s / 60)} min ahead, reached ${loop.risk_threshold}. They are ringed in purple on the map.`),
      el("table", { class: "kpis", id: "ai-junctions" }, el("tr", {}, el("th", {}, "junction"), el("th", {}, "first at"), el("th", {}, "seeds"), el("th", {}, "max risk")),
        ...loop.junctions.slice(0, 12).map((j) => el("tr", {}, el("td", {}, el("a", { href: "#", onclick: (event: Event) => { event.preventDefault(); ctx.map.flyTo({ center: [j.lon, j.lat], zoom: 17 }); } }, j.name || `junction at OSM node ${j.osm_node_id}`)),
          el("td", {}, clock(TWIN_DAY_START_S + j.first_flag_s)), el("td", {}, String(j.seeds_flagged)), el("td", {}, j.max_forecast.toFixed(2))))),
      loop.junctions.length > 12 ? el("p", { class: "hint" }, `and ${loop.junctions.length - 12} more (full list in the report)`) : null);
  }

  return { show, update, get runId() { return shown?.run_id ?? null; } };
}

function row(table: KpiTableRow[], key: string): KpiTableRow | undefined {
  return table.find((r) => r.key === key);
}

/** A change as the server rounds it, with its interval only where seeds vary. */
function changeText(r: KpiTableRow | undefined): string {
  if (!r) return "n/a";
  return r.interval ? `${r.display.change} ${r.unit} ${r.display.interval}` : `${r.display.change} ${r.unit}`;
}

/** How sure the numbers are, in words (as the report's "How sure"). */
function howSure(run: RunInfo): string {
  if (run.kpis.deterministic) return "The static engine is deterministic: one run each side, no interval (its uncertainty is the twin's calibration).";
  const seeds = Number(run.kpis.seeds ?? 1);
  if (seeds < 2) return "One seed: no interval; run more seeds to see how much the result varies.";
  return `Changes are the mean over ${seeds} seeds (baseline and scenario on the same seeds), with a 95% interval in brackets.`;
}

function journeyMeasure(run: RunInfo): { measure: string; title: string } {
  const journeys = run.kpis.journeys as { measure?: string } | undefined;
  const measure = journeys?.measure ?? "travel time (s)";
  const generalised = measure.startsWith("generalised cost");
  return {
    measure: generalised ? "generalised cost: time plus any charge, counted as time at the value of time" : "travel time of the trips that arrived",
    title: `Change in ${generalised ? "generalised cost" : "journey time"} per car trip (s) by IMD decile`,
  };
}

/** Whole units, signed, "0" for what rounds to zero (as the report's summary rounds the deprived decile's change). */
function signedWhole(value: number | undefined): string {
  if (value === undefined || !Number.isFinite(value)) return "n/a";
  const rounded = Math.round(value);
  return rounded === 0 ? "0" : `${rounded > 0 ? "+" : ""}${rounded.toLocaleString("en-GB")}`;
}

/** The first screen: what changes, for whom, how sure (the report's "In short", in the same roundings). */
function summary(run: RunInfo): HTMLElement {
  const t = run.kpi_table;
  const deprived = ((run.kpis.equity as Record<string, unknown> | undefined)?.most_deprived_decile as { journey_change_s?: { mean?: number; lower?: number; upper?: number; n?: number } } | undefined)?.journey_change_s;
  const varies = !run.kpis.deterministic && (deprived?.n ?? 0) > 1 && deprived?.lower !== undefined;
  const deprivedText = varies ? `${signedWhole(deprived?.mean)} [${signedWhole(deprived?.lower)}, ${signedWhole(deprived?.upper)}]` : signedWhole(deprived?.mean);
  const { measure } = journeyMeasure(run);
  const winners = row(t, "journeys.trips_winning")?.display.change ?? "n/a";
  const losers = row(t, "journeys.trips_losing")?.display.change ?? "n/a";
  return el("ul", { class: "summary", id: "run-summary" },
    el("li", {}, el("b", {}, "What changes: "), `time driving ${changeText(row(t, "network.vehicle_hours"))}, distance driven ${changeText(row(t, "network.vehicle_km"))}, carbon dioxide ${changeText(row(t, "emissions.co2_kg"))} per morning.`),
    el("li", {}, el("b", {}, "For whom: "), `${winners.replace(/^\+/, "")} car trips over a minute better off, ${losers.replace(/^\+/, "")} over a minute worse off (${measure}); trips from the most deprived tenth of neighbourhoods change by ${deprivedText} s each on average.`),
    el("li", {}, el("b", {}, "How sure: "), howSure(run)));
}

/** The KPIs, labelled with units, as the server rounds them: one block per KPI (its label, then baseline,
 * scenario and change side by side), which reads within the 340 px panel where a five-column table did not. */
function kpiTable(rows: KpiTableRow[]): HTMLElement {
  const value = (name: string, text: string, extra?: HTMLElement | null) => el("span", { class: name }, el("small", {}, name), text, extra ?? null);
  return el("div", { class: "kpi-cards", id: "kpi-table" },
    ...rows.map((r) => el("div", { class: "kpi-card", "data-key": r.key },
      el("div", { class: "label" }, r.label, el("span", { class: "hint" }, ` (${r.unit})`)),
      el("div", { class: "values" }, value("baseline", r.display.baseline), value("scenario", r.display.scenario),
        value("change", r.display.change, r.display.interval ? el("span", { class: "hint interval" }, ` ${r.display.interval}`) : null)))));
}

/** The package without the AI loop and what the loop adds (runs asked to split the loop's effect). */
function decomposition(run: RunInfo): HTMLElement | null {
  if (!run.decomposition_table?.length) return null;
  return el("div", { id: "decomposition" }, el("h3", { style: "margin-top:8px" }, "The package and the AI loop"),
    el("p", { class: "hint" }, "The whole scenario's change against the base twin, split into the package without the AI loop and what the loop adds to it."),
    el("table", { class: "kpis" }, el("tr", {}, el("th", {}, "measure"), el("th", {}, "package without the loop"), el("th", {}, "the loop adds"), el("th", {}, "whole")),
      ...run.decomposition_table.map((r) => el("tr", { "data-key": r.key }, el("td", {}, r.label, el("span", { class: "hint" }, ` (${r.unit})`)),
        el("td", {}, r.package_without_loop), el("td", {}, r.loop_adds), el("td", {}, r.whole)))));
}

/** The journey change by IMD decile, titled by what it measures; intervals only where seeds vary. */
function equity(run: RunInfo): HTMLElement {
  const rows = equityRows(run.kpis);
  const { measure, title } = journeyMeasure(run);
  const largest = Math.max(1e-9, ...rows.map((e) => Math.abs(e.mean)));
  const varies = !run.kpis.deterministic && Number(run.kpis.seeds ?? 1) >= 2;
  return el("div", {}, el("h3", { style: "margin-top:8px", id: "equity-title" }, title),
    el("p", { class: "hint" }, `Measured as the ${measure}; decile 1 = most deprived.`),
    el("table", { class: "kpis", id: "equity-table" }, el("tr", {}, el("th", {}, "decile"), el("th", {}, "people"), el("th", {}, "change (s)"), el("th", {}, "")),
      ...rows.map((e) => el("tr", {}, el("td", {}, String(e.imd_decile)), el("td", {}, formatNumber(e.population)),
        el("td", {}, formatNumber(e.mean), varies ? el("div", { class: "hint" }, `[${formatNumber(e.lower)}, ${formatNumber(e.upper)}]`) : null),
        el("td", {}, el("span", { style: `display:inline-block;height:8px;width:${Math.round(50 * Math.abs(e.mean) / largest)}px;background:${e.mean > 0 ? "#c00" : "#06c"}` }))))));
}
