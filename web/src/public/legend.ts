// The public map's legend and layer switches: roads, services, stations, wards, and LSOAs coloured by the
// decile of the IMD 2019 or one of its domains, or by population (one of them, or none). The key shown is
// the one of the layer shown, titled by its measure.

import type { Map as MapLibreMap } from "maplibre-gl";
import { el } from "../dom";
import { DEPRIVATION, IMD_COLOURS, OUTLINE_COLOURS, ROAD_COLOURS, SERVICE_COLOURS, STATION_COLOURS, decileColour } from "./style";

function swatch(colour: string, round = false): HTMLElement {
  return el("span", { class: round ? "key-swatch dot" : "key-swatch", style: `background:${colour}`, "aria-hidden": "true" });
}

function row(colour: string, text: string, round = false): HTMLElement {
  return el("li", {}, swatch(colour, round), text);
}

/** The areas chooser and its key: which LSOA layer is shown, and its legend. */
function areasChooser(map: MapLibreMap): HTMLElement[] {
  const areas = el("select", { id: "areas" }, el("option", { value: "off" }, "none"),
    el("optgroup", { label: "Deprivation (IMD 2019 decile)" },
      ...DEPRIVATION.map(([property, name]) => el("option", { value: property }, property === "imd_decile" ? `${name} (overall)` : name))),
    el("option", { value: "population" }, "population (mid-2015)")) as HTMLSelectElement;
  const decileTitle = el("p", { class: "key-title", id: "decile-legend-title" });
  const decileKey = el("div", { id: "imd-legend", hidden: "" }, decileTitle,
    el("ol", { class: "map-key", "aria-labelledby": "decile-legend-title" },
      ...IMD_COLOURS.map((colour, i) => row(colour, i === 0 ? "1 most deprived 10%" : i === 9 ? "10 least deprived" : String(i + 1)))));
  const populationKey = el("ul", { class: "map-key", id: "population-legend", hidden: "" },
    row("#fff5eb", "1,000 people or fewer"), row("#fdae6b", "1,800"), row("#a63603", "3,000 or more"));
  areas.addEventListener("change", () => {
    const decile = DEPRIVATION.find(([property]) => property === areas.value);
    if (decile) {
      map.setPaintProperty("lsoa-deprivation", "fill-color", decileColour(decile[0]) as never);
      decileTitle.textContent = `${decile[1]}: decile among England's LSOAs`;
    }
    map.setLayoutProperty("lsoa-deprivation", "visibility", decile ? "visible" : "none");
    map.setLayoutProperty("lsoa-population", "visibility", areas.value === "population" ? "visible" : "none");
    decileKey.hidden = !decile;
    populationKey.hidden = areas.value !== "population";
  });
  return [el("label", { for: "areas" }, "Areas (LSOAs)"), areas, decileKey, populationKey];
}

export function legendPanel(map: MapLibreMap): HTMLElement {
  const toggle = (id: string, layers: string[], text: string) => {
    const box = el("input", { type: "checkbox", id, checked: "" }) as HTMLInputElement;
    box.addEventListener("change", () => {
      for (const layer of layers) map.setLayoutProperty(layer, "visibility", box.checked ? "visible" : "none");
    });
    return el("div", { class: "check" }, box, el("label", { for: id }, text));
  };
  return el("section", { class: "legend-panel", "aria-label": "Legend and layers" },
    el("h2", {}, "Layers"),
    ...areasChooser(map),
    toggle("show-wards", ["ward-lines", "wards"], "Wards (2013; outlines from zoom 10)"),
    el("ul", { class: "map-key" }, row(OUTLINE_COLOURS.district, "district boundary"), row(OUTLINE_COLOURS.ward, "ward boundary")),
    toggle("show-roads", ["roads"], "Motorways and main roads"),
    el("ul", { class: "map-key" }, ...ROAD_COLOURS.map(([name, colour]) => row(colour, name === "other" ? "other main roads" : name))),
    toggle("show-services", ["services"], "Hospitals, GPs and schools"),
    el("ul", { class: "map-key" }, row(SERVICE_COLOURS.hospital, "hospital", true), row(SERVICE_COLOURS.gp, "GP practice", true), row(SERVICE_COLOURS.school, "school", true)),
    toggle("show-stations", ["stations"], "Rail stations and ferry terminals"),
    el("ul", { class: "map-key" }, row(STATION_COLOURS.rail, "rail station", true), row(STATION_COLOURS.ferry, "ferry terminal", true)),
    toggle("show-bus", ["bus_stops"], "Bus stops (zoom in)"));
}
