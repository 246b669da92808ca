// The editor: what a click on the map selects (a road's street, a signal's junction, a community, a
// forecast link, a comment pin) and the panel of edits offered for it (panels/street.ts, panels/junction.ts).

import type { PickingInfo } from "@deck.gl/core";
import { clear, el } from "../dom";
import { category } from "../layers";
import { forecastDetails } from "../forecast";
import type { ScenarioContext } from "../context";
import { editStatus } from "./edit_status";
import { streetPanel } from "./street";
import { junctionPanel } from "./junction";


/** deck.gl's click handler: select what was clicked and show its panel in the Edit tab. */
export function onFeatureClick(ctx: ScenarioContext, info: PickingInfo): boolean {
  if (ctx.mode !== "select") return false;
  const { view, selection, twin } = ctx;
  const id = info.layer?.id;
  clear(selection);
  view.highlights = [];
  view.markers = [];
  if (id === "roads" && info.index >= 0) {
    view.selectedLink = info.index;
    streetPanel(ctx, info.index);
  } else if (id === "signals" && info.index >= 0) {
    junctionPanel(ctx, (twin.junctions.columns.osm_node_id as Float64Array)[info.object as number]);
  } else if (id === "forecast" && info.index >= 0 && ctx.forecast) {
    const forecast = ctx.forecast;
    const row = forecast.rows[info.index];
    view.selectedLink = row;
    selection.append(forecastDetails(forecast, forecast.snapshot.link_id.indexOf((twin.links.columns.link_id as Int32Array)[row]), category(twin.links, "name", row)));
    streetPanel(ctx, row);
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

function zonePanel(ctx: ScenarioContext, i: number): void {
  const { zones } = ctx.twin;
  const code = category(zones, "zone_code", i);
  const name = zones.categories.name ? category(zones, "name", i) : "";
  const homes = el("input", { type: "number", id: "homes", min: 0, value: 200 }) as HTMLInputElement;
  const jobs = el("input", { type: "number", id: "jobs", min: 0, value: 0 }) as HTMLInputElement;
  const status = editStatus(ctx);
  ctx.selection.append(el("div", { class: "panel", id: "zone-panel" }, el("h3", { id: "zone-name" }, name ? `${name} (${code})` : `LSOA ${code}`),
    el("p", { class: "hint" }, `population ${(zones.columns.population as Float32Array)[i]} · IMD decile ${(zones.columns.imd_decile as Float32Array)[i]}`),
    el("div", { class: "form" }, el("label", { for: "homes" }, "Homes"), homes, el("label", { for: "jobs" }, "Jobs"), jobs,
      el("button", { id: "add-development", disabled: !ctx.canEdit, onclick: () => status.add({ kind: "new_development", lsoa_code: code, homes: Number(homes.value), jobs: Number(jobs.value) }) }, "Add development")),
    status.element));
}
