// The public map's legend and layer switches: roads, services, stations, and LSOAs by IMD decile or
// population (one of them, or none).

import type { Map as MapLibreMap } from "maplibre-gl";
import { el } from "../dom";
import { IMD_COLOURS, ROAD_COLOURS, SERVICE_COLOURS, STATION_COLOURS } from "./style";

function swatch(colour: string, round = false): HTMLElement {
  return el("span", { class: round ? "key-swatch dot" : "key-swatch", style: `background:${colour}`, "aria-hidden": "true" });
}

function row(colour: string, text: string, round = false): HTMLElement {
  return el("li", {}, swatch(colour, round), text);
}

export function legendPanel(map: MapLibreMap): HTMLElement {
  const areas = el("select", { id: "areas" },
    el("option", { value: "off" }, "none"), el("option", { value: "imd" }, "deprivation (IMD 2019 decile)"),
    el("option", { value: "population" }, "population (mid-2015)")) as HTMLSelectElement;
  const imdKey = el("ol", { class: "map-key", id: "imd-legend", hidden: "" },
    ...IMD_COLOURS.map((colour, i) => row(colour, i === 0 ? "1 most deprived 10%" : i === 9 ? "10 least deprived" : String(i + 1))));
  const populationKey = el("ul", { class: "map-key", id: "population-legend", hidden: "" },
    row("#fff5eb", "1,000 people or fewer"), row("#fdae6b", "1,800"), row("#a63603", "3,000 or more"));
  areas.addEventListener("change", () => {
    map.setLayoutProperty("lsoa-imd", "visibility", areas.value === "imd" ? "visible" : "none");
    map.setLayoutProperty("lsoa-population", "visibility", areas.value === "population" ? "visible" : "none");
    imdKey.hidden = areas.value !== "imd";
    populationKey.hidden = areas.value !== "population";
  });
  const toggle = (id: string, layer: string, text: string) => {
    const box = el("input", { type: "checkbox", id, checked: "" }) as HTMLInputElement;
    box.addEventListener("change", () => map.setLayoutProperty(layer, "visibility", box.checked ? "visible" : "none"));
    return el("div", { class: "check" }, box, el("label", { for: id }, text));
  };
  return el("section", { class: "legend-panel", "aria-label": "Legend and layers" },
    el("h2", {}, "Layers"),
    el("label", { for: "areas" }, "Areas (LSOAs)"), areas, imdKey, populationKey,
    toggle("show-roads", "roads", "Motorways and main roads"),
    el("ul", { class: "map-key" }, ...ROAD_COLOURS.map(([name, colour]) => row(colour, name === "other" ? "other main roads" : name))),
    toggle("show-services", "services", "Hospitals, GPs and schools"),
    el("ul", { class: "map-key" }, row(SERVICE_COLOURS.hospital, "hospital", true), row(SERVICE_COLOURS.gp, "GP practice", true), row(SERVICE_COLOURS.school, "school", true)),
    toggle("show-stations", "stations", "Rail stations and ferry terminals"),
    el("ul", { class: "map-key" }, row(STATION_COLOURS.rail, "rail station", true), row(STATION_COLOURS.ferry, "ferry terminal", true)),
    toggle("show-bus", "bus_stops", "Bus stops (zoom in)"));
}
