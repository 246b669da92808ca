// The details of what a click on the public map found: a service (address, phone, Ofsted...), a station
// or bus stop, or an LSOA (population and IMD decile).

import type { MapGeoJSONFeature } from "maplibre-gl";
import { el, clear } from "../dom";

const DETAIL_LABELS: Record<string, string> = {
  Address1: "Address", Address2: "", Address: "Address", City: "", Postcode: "Postcode", postcode: "Postcode",
  Phone: "Phone", Website: "Website", website: "Website", Sector: "Sector", ParentName: "Run by",
  phase: "Phase", type: "Type", ofstedLabel: "Ofsted",
};
const KIND_TITLES: Record<string, string> = {
  hospital: "Hospital", gp: "GP practice", school: "School", rail: "Rail station", ferry: "Ferry terminal", bus: "Bus stop",
};

/** MapLibre hands nested properties over as JSON text. */
function record(value: unknown): Record<string, string> {
  if (typeof value === "string") { try { return JSON.parse(value) as Record<string, string>; } catch { return {}; } }
  return (value ?? {}) as Record<string, string>;
}

function rows(entries: [string, string][]): HTMLElement {
  return el("dl", {}, ...entries.filter(([, v]) => v !== "").flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v)]));
}

export function showDetails(panel: HTMLElement, feature: MapGeoJSONFeature): void {
  clear(panel);
  const p = feature.properties as Record<string, unknown>;
  const layer = feature.layer.id;
  let title = String(p.name ?? "");
  let kind = KIND_TITLES[String(p.kind)] ?? "";
  let body: HTMLElement;
  if (layer === "services") {
    body = rows(Object.entries(record(p.details)).map(([k, v]) => [DETAIL_LABELS[k] || k, v]));
  } else if (layer === "stations" || layer === "bus_stops") {
    body = rows([["Stop", String(p.indicator ?? "")], ["Street", String(p.street ?? "")], ["Locality", String(p.locality ?? "")], ["NaPTAN code", String(p.atco ?? "")]]);
  } else {
    kind = "Area (LSOA)";
    title = `${p.name} (${p.code})`;
    body = rows([["District", String(p.district ?? "")], ["Population (mid-2015)", Number(p.population).toLocaleString("en-GB")],
      ["IMD 2019 decile", `${p.imd_decile} (1 = most deprived 10% in England)`]]);
  }
  panel.append(el("p", { class: "meta" }, kind), el("h2", { id: "details-title" }, title), body,
    el("button", { type: "button", id: "close-details", onclick: () => { panel.hidden = true; } }, "Close"));
  panel.hidden = false;
}
