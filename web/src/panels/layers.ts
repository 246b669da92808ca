// The Layers tab: communities (IMD or population, optionally in 3D), services, 3D buildings and pitch, and
// the congestion forecast.

import { el } from "../dom";
import { forecastPanel } from "../forecast";
import { buildingsControls } from "./buildings";
import type { MapView } from "../map";
import type { ScenarioContext } from "../context";

/** `forecastLegend` is shown while a forecast is drawn. */
export function layersPanel(ctx: ScenarioContext, forecastLegend: HTMLElement): HTMLElement {
  const { view } = ctx;
  const forecastSlot = el("div", { id: "forecast-slot" });
  void forecastPanel(ctx.scenario.twin_id, ctx.twin.linkRow, (layer) => {
    ctx.forecast = layer;
    ctx.hooks.forecast = layer;
    view.forecast = layer ? { rows: layer.rows, colours: layer.colours } : null;
    forecastLegend.style.display = layer ? "block" : "none";
    ctx.render();
  }, (message) => ctx.toast(message)).then((panel) => forecastSlot.append(panel));
  const pick = el("select", { id: "communities", onchange: (event) => {
    view.communities = (event.target as HTMLSelectElement).value as MapView["communities"]; ctx.render();
  } }, el("option", { value: "off" }, "off"), el("option", { value: "imd" }, "IMD decile (1 = most deprived)"), el("option", { value: "population" }, "population"));
  return el("div", { class: "panel" }, el("h3", {}, "Layers"),
    el("label", {}, "Communities (LSOAs): ", pick),
    el("label", { style: "display:block" }, el("input", { type: "checkbox", id: "extrude", onchange: (event) => {
      view.extrude = (event.target as HTMLInputElement).checked; if (view.extrude) ctx.map.easeTo({ pitch: 50 }); ctx.render();
    } }), " 3D (height = population)"),
    el("label", { style: "display:block" }, el("input", { type: "checkbox", checked: true, onchange: (event) => {
      view.showServices = (event.target as HTMLInputElement).checked; ctx.render();
    } }), " Services (hospitals red, GPs green, schools blue)"),
    buildingsControls(ctx),
    forecastSlot);
}
