// The editor: what a click on the map selects (a road, a signal, a community, a forecast link, a comment
// pin) and the panel of edits offered for it, including the AI signal loop.

import type { PickingInfo } from "@deck.gl/core";
import { newId } from "../collab";
import { clear, el } from "../dom";
import { category } from "../layers";
import { forecastDetails } from "../forecast";
import type { ScenarioContext } from "../context";
import { localChange } from "./undo";

/** Add an edit of the scenario schema to the shared document, authored by this user (undoable). */
export function addEdit(ctx: ScenarioContext, edit: Record<string, unknown>): void {
  if (!ctx.canEdit) { ctx.toast("Viewers cannot edit"); return; }
  const id = newId();
  localChange(ctx, () => ctx.room.edits.set(id, { edit: { ...edit, id }, author: ctx.user.name, created_at_s: Date.now() / 1000 }));
}

/** deck.gl's click handler: select what was clicked and show its panel in the Edit tab. */
export function onFeatureClick(ctx: ScenarioContext, info: PickingInfo): boolean {
  if (ctx.mode !== "select") return false;
  const { view, selection, twin } = ctx;
  const id = info.layer?.id;
  clear(selection);
  if (id === "roads" && info.index >= 0) {
    view.selectedLink = info.index;
    roadPanel(ctx, info.index);
  } else if (id === "signals" && info.index >= 0) {
    junctionPanel(ctx, info.object as number);
  } else if (id === "forecast" && info.index >= 0 && ctx.forecast) {
    const forecast = ctx.forecast;
    const row = forecast.rows[info.index];
    view.selectedLink = row;
    selection.append(forecastDetails(forecast, forecast.snapshot.link_id.indexOf((twin.links.columns.link_id as Int32Array)[row]), category(twin.links, "name", row)));
    roadPanel(ctx, row);
    ctx.showTab("Edit");
  } else if (id === "communities" && info.index >= 0) {
    zonePanel(ctx, info.index);
  } else if (id === "comments" && info.object) {
    ctx.showTab("Comments");
    document.querySelector(`[data-comment="${(info.object as { id: string }).id}"]`)?.scrollIntoView();
  } else {
    view.selectedLink = null;
  }
  if (selection.firstChild) ctx.showTab("Edit"); // what was selected shows even when another tab was open
  ctx.render();
  return true;
}

function roadPanel(ctx: ScenarioContext, i: number): void {
  const { links } = ctx.twin;
  const way = (links.columns.osm_way_id as Float64Array)[i];
  const name = category(links, "name", i) || "(unnamed)";
  const lanes = el("input", { type: "number", id: "lanes", min: 1, max: 8, value: (links.columns.lanes as Float32Array)[i] }) as HTMLInputElement;
  const mph = el("select", { id: "mph" }, ...[20, 30, 40, 50].map((v) => el("option", { value: v }, `${v} mph`))) as HTMLSelectElement;
  const limitMph = Math.round((links.columns.speed_limit_mps as Float32Array)[i] / 0.44704);
  const add = (edit: Record<string, unknown>) => () => addEdit(ctx, edit);
  const off = !ctx.canEdit;
  ctx.selection.append(el("div", { class: "panel", id: "road-panel" },
    el("h3", {}, `${name}`),
    el("p", { class: "hint" }, `OSM way ${way} · ${category(links, "highway", i)} · ${(links.columns.lanes as Float32Array)[i]} lane(s) · ${limitMph} mph · ${Math.round((links.columns.capacity_vph as Float32Array)[i])} veh/h`),
    el("div", { class: "form" },
      el("button", { id: "close-road", disabled: off, onclick: add({ kind: "close_road", osm_way_ids: [way] }) }, "Close road"),
      el("button", { id: "bus-lane", disabled: off, onclick: add({ kind: "bus_lane", osm_way_ids: [way] }) }, "Bus lane"),
      el("button", { id: "modal-filter", disabled: off, onclick: add({ kind: "modal_filter", osm_way_ids: [way] }) }, "Modal filter")),
    el("div", { class: "form" }, el("label", { for: "lanes" }, "Lanes"), lanes,
      el("button", { id: "set-lanes", disabled: off, onclick: () => addEdit(ctx, { kind: "change_lanes", osm_way_ids: [way], lanes: Number(lanes.value) }) }, "Set")),
    el("div", { class: "form" }, el("label", { for: "mph" }, "Speed limit"), mph,
      el("button", { id: "set-speed", disabled: off, onclick: () => addEdit(ctx, { kind: "speed_limit", osm_way_ids: [way], speed_limit_mph: Number(mph.value) }) }, "Set"))));
}

function junctionPanel(ctx: ScenarioContext, i: number): void {
  const node = (ctx.twin.junctions.columns.osm_node_id as Float64Array)[i];
  const cycle = el("input", { type: "number", id: "cycle", min: 30, max: 240, value: 90 }) as HTMLInputElement;
  ctx.selection.append(el("div", { class: "panel", id: "junction-panel" }, el("h3", {}, `Signals at OSM node ${node}`),
    el("div", { class: "form" }, el("label", { for: "cycle" }, "Cycle (s)"), cycle,
      el("button", { id: "set-plan", disabled: !ctx.canEdit, onclick: () => addEdit(ctx, { kind: "signal_plan", osm_node_id: node, cycle_s: Number(cycle.value) }) }, "Set plan"),
      el("button", { disabled: !ctx.canEdit, onclick: () => addEdit(ctx, { kind: "signal_plan", osm_node_id: node, optimise: true }) }, "Let the engine optimise")),
    aiLoopForm(ctx, [node])));
}

/** The AI signal loop edit for `nodes` (null = every signalised junction); dynamic runs honour it. */
function aiLoopForm(ctx: ScenarioContext, nodes: number[] | null): HTMLElement {
  const threshold = el("input", { type: "number", id: "ai-threshold", min: 0.05, max: 1, step: 0.05, value: 0.5, style: "width:5em" }) as HTMLInputElement;
  const horizon = el("input", { type: "number", id: "ai-horizon", min: 5, max: 120, step: 5, value: 30, style: "width:5em" }) as HTMLInputElement;
  const forecast = el("select", { id: "ai-forecast" }, el("option", { value: "trend" }, "trend"),
    el("option", { value: "history" }, "history of earlier mornings (signals train-risk)"), el("option", { value: "reactive" }, "none (reactive)")) as HTMLSelectElement;
  const add = (osm: number[] | null) => addEdit(ctx, { kind: "ai_signal_control", ...(osm ? { osm_node_ids: osm } : {}),
    horizon_min: Number(horizon.value), risk_threshold: Number(threshold.value), forecast: forecast.value });
  return el("div", { class: "form" }, el("span", { class: "hint" }, "AI loop: ", el("label", { for: "ai-horizon" }, "forecast blocking risk"), " ", horizon, " min ahead by ", el("label", { for: "ai-forecast" }, "method"), " ", forecast, "; ", el("label", { for: "ai-threshold" }, "take over at risk ≥"), " ", threshold),
    el("button", { id: "ai-loop-here", disabled: !ctx.canEdit, onclick: () => add(nodes) }, "AI loop here"),
    el("button", { id: "ai-loop-all", disabled: !ctx.canEdit, onclick: () => add(null) }, "AI loop on every signal"),
    el("span", { class: "hint" }, "Run it with the dynamic engine: the baseline is the same scenario without the loop."));
}

function zonePanel(ctx: ScenarioContext, i: number): void {
  const { zones } = ctx.twin;
  const code = category(zones, "zone_code", i);
  const homes = el("input", { type: "number", id: "homes", min: 0, value: 200 }) as HTMLInputElement;
  const jobs = el("input", { type: "number", id: "jobs", min: 0, value: 0 }) as HTMLInputElement;
  ctx.selection.append(el("div", { class: "panel", id: "zone-panel" }, el("h3", {}, `Community ${code}`),
    el("p", { class: "hint" }, `population ${(zones.columns.population as Float32Array)[i]} · IMD decile ${(zones.columns.imd_decile as Float32Array)[i]}`),
    el("div", { class: "form" }, el("label", { for: "homes" }, "Homes"), homes, el("label", { for: "jobs" }, "Jobs"), jobs,
      el("button", { id: "add-development", disabled: !ctx.canEdit, onclick: () => addEdit(ctx, { kind: "new_development", lsoa_code: code, homes: Number(homes.value), jobs: Number(jobs.value) }) }, "Add development"))));
}
