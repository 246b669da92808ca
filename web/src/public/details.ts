// The details of what a click (or a choice in the feature and search lists) found on the public map: a
// service (address, phone, Ofsted...), a station or bus stop, a ward, or an LSOA (population, the IMD
// decile and its domains'). The panel takes the focus; Close or Escape hands it back.

import { el, clear } from "../dom";
import { DEPRIVATION } from "./style";

/** What the panel needs of a map feature: its layer and properties. */
export interface Found { layer: { id: string }; properties: Record<string, unknown> }

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

function decile(value: unknown): string {
  return value === undefined ? "" : `${value}${Number(value) === 1 ? " (most deprived 10%)" : Number(value) === 10 ? " (least deprived 10%)" : ""}`;
}

export function showDetails(panel: HTMLElement, feature: Found, returnFocus: HTMLElement | null = null): void {
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
  } else if (layer === "wards") {
    kind = "Ward (2013)";
    body = rows([["District", String(p.district ?? "")], ["Ward code", String(p.code ?? "")]]);
  } else {
    kind = "Area (LSOA)";
    title = `${p.name} (${p.code})`;
    body = el("div", {}, rows([["District", String(p.district ?? "")], ["Population (mid-2015)", Number(p.population).toLocaleString("en-GB")]]),
      el("p", { class: "key-title" }, "IMD 2019 deciles among England's LSOAs"),
      rows(DEPRIVATION.map(([property, name]) => [name, decile(p[property])])));
  }
  const close = () => { panel.hidden = true; returnFocus?.focus(); };
  const heading = el("h2", { id: "details-title", tabindex: "-1" }, title);
  panel.append(el("p", { class: "meta" }, kind), heading, body,
    el("button", { type: "button", id: "close-details", onclick: close }, "Close"));
  panel.onkeydown = (event) => { if (event.key === "Escape") close(); };
  panel.hidden = false;
  heading.focus({ preventScroll: true });
}
