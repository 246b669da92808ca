// The keyboard's way to the map's features: a list of the stations, services and bus stops drawn in the
// current view (the same features a click finds), each a button that opens the same details. Updated when
// the view stops moving or a layer arrives.

import type { Map as MapLibreMap, MapGeoJSONFeature } from "maplibre-gl";
import { el, clear } from "../dom";
import type { Found } from "./details";

const LISTED = ["stations", "services", "bus_stops"];
const KIND_LABELS: Record<string, string> = {
  hospital: "hospital", gp: "GP practice", school: "school", rail: "rail station", ferry: "ferry terminal", bus: "bus stop",
};
const MAX_LISTED = 40;

/** The features of the listed layers drawn in the view, one per layer and name, stations first. */
export function featuresInView(map: MapLibreMap): MapGeoJSONFeature[] {
  const layers = LISTED.filter((id) => map.getLayer(id) && map.getLayoutProperty(id, "visibility") !== "none");
  const seen = new Set<string>();
  const found: MapGeoJSONFeature[] = [];
  for (const feature of map.queryRenderedFeatures({ layers })) {
    const key = `${feature.layer.id}:${String(feature.properties.name)}`;
    if (seen.has(key)) continue;
    seen.add(key);
    found.push(feature);
  }
  const rank = (f: MapGeoJSONFeature) => LISTED.indexOf(f.layer.id);
  return found.sort((a, b) => rank(a) - rank(b) || String(a.properties.name).localeCompare(String(b.properties.name)));
}

export function featureList(map: MapLibreMap, open: (feature: Found, from: HTMLElement) => void): { panel: HTMLElement; refresh: () => void } {
  const summary = el("p", { class: "meta", id: "features-summary", "aria-live": "polite" });
  const list = el("ul", { class: "items", id: "features" });
  const refresh = () => {
    const features = featuresInView(map);
    clear(list);
    summary.textContent = features.length === 0 ? "No stations, services or stops in this view."
      : `${Math.min(features.length, MAX_LISTED)} of ${features.length} stations, services and stops in this view`;
    for (const feature of features.slice(0, MAX_LISTED)) {
      const p = feature.properties;
      const found: Found = { layer: { id: feature.layer.id }, properties: { ...p } };
      const button = el("button", { type: "button", class: "link" }, String(p.name)) as HTMLButtonElement;
      button.addEventListener("click", () => open(found, button));
      list.append(el("li", {}, button, el("span", { class: "meta" }, KIND_LABELS[String(p.kind)] ?? "")));
    }
  };
  let timer = 0;
  map.on("moveend", () => { window.clearTimeout(timer); timer = window.setTimeout(refresh, 150); });
  const panel = el("section", { class: "feature-list", "aria-labelledby": "features-title" },
    el("h2", { id: "features-title" }, "In this view"), summary, list);
  return { panel, refresh };
}
