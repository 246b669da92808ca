// The public map's look: land (the districts) on water, wards, LSOAs by the decile of the IMD or a domain, roads by class, stations,
// services and bus stops. Road colours are at least 3:1 against the land colour (WCAG non-text contrast).

import type { LayerSpecification, StyleSpecification } from "maplibre-gl";

export const WATER = "#9fc4dc";
export const LAND = "#f4f1ea";
/** motorway, trunk, primary, secondary, other main roads: contrast against LAND 5.9, 5.7, 5.2, 5.2, 5.6 and
 * against WATER (tunnels, bridges) 3.6, 3.5, 3.2, 3.2, 3.4
 * (tests/web/test_public_map.py checks at least 3) */
export const ROAD_COLOURS: [string, string][] = [
  ["motorway", "#b0243a"], ["trunk", "#a3400d"], ["primary", "#8c5a00"], ["secondary", "#556d00"], ["other", "#5f5f67"],
];
/** IMD 2019 decile 1 (most deprived 10% in England) to 10 (least) */
export const IMD_COLOURS = ["#a50026", "#d73027", "#f46d43", "#fdae61", "#fee090", "#e0f3f8", "#abd9e9", "#74add1", "#4575b4", "#313695"];
export const SERVICE_COLOURS: Record<string, string> = { hospital: "#c8102e", gp: "#00703c", school: "#1d4ed8" };
export const STATION_COLOURS: Record<string, string> = { rail: "#1a1a1a", ferry: "#005ea5" };
/** Outlines and the bus stop symbol, each at least 3:1 against LAND (tests/web/test_public_map.py) */
export const OUTLINE_COLOURS: Record<string, string> = { district: "#55555f", ward: "#6e6e78", lsoa: "#84848c", bus_stop: "#33404d" };
/** Text drawn on the map (HTML labels with a white halo): at least 4.5:1 against LAND */
export const LABEL_COLOURS: Record<string, string> = { district: "#1a1a1a", ward: "#3a3a44" };
/** The IMD 2019 and its seven domains: the LSOA property holding each one's decile, and its name */
export const DEPRIVATION: [string, string][] = [
  ["imd_decile", "Index of Multiple Deprivation"], ["income_decile", "Income"], ["employment_decile", "Employment"],
  ["education_decile", "Education, skills and training"], ["health_decile", "Health and disability"],
  ["crime_decile", "Crime"], ["housing_decile", "Barriers to housing and services"], ["living_env_decile", "Living environment"],
];

/** An LSOA fill by the decile held in `property` (1 most deprived, 10 least). */
export function decileColour(property: string): unknown[] {
  return ["match", ["get", property], ...IMD_COLOURS.flatMap((c, i) => [i + 1, c]), LAND];
}

const roadColour = ["match", ["get", "class"], ...ROAD_COLOURS.slice(0, 4).flat(), ROAD_COLOURS[4][1]];
const roadWidth = ["match", ["get", "class"], "motorway", 3.5, "trunk", 3, "primary", 2.2, 1.6];

export const EMPTY = { type: "FeatureCollection", features: [] } as const;
export const SOURCES = ["districts", "wards", "lsoas", "roads", "bus_stops", "services", "stations"] as const;
export type SourceName = (typeof SOURCES)[number];

const layers: LayerSpecification[] = [
  { id: "water", type: "background", paint: { "background-color": WATER } },
  { id: "land", type: "fill", source: "districts", paint: { "fill-color": LAND } },
  { id: "lsoa-deprivation", type: "fill", source: "lsoas", layout: { visibility: "none" },
    paint: { "fill-color": decileColour("imd_decile") as never, "fill-opacity": 0.55 } },
  { id: "lsoa-population", type: "fill", source: "lsoas", layout: { visibility: "none" },
    paint: { "fill-color": ["interpolate", ["linear"], ["get", "population"], 1000, "#fff5eb", 1800, "#fdae6b", 3000, "#a63603"], "fill-opacity": 0.6 } },
  { id: "wards", type: "fill", source: "wards", paint: { "fill-color": "#000000", "fill-opacity": 0 } },
  { id: "lsoa-lines", type: "line", source: "lsoas", minzoom: 12, paint: { "line-color": OUTLINE_COLOURS.lsoa, "line-width": 0.6 } },
  { id: "ward-lines", type: "line", source: "wards", minzoom: 10, paint: { "line-color": OUTLINE_COLOURS.ward, "line-width": 0.9, "line-dasharray": [3, 2] } },
  { id: "district-lines", type: "line", source: "districts", paint: { "line-color": OUTLINE_COLOURS.district, "line-width": 1.6 } },
  { id: "roads", type: "line", source: "roads", layout: { "line-cap": "round", "line-join": "round" },
    paint: { "line-color": roadColour as never, "line-width": roadWidth as never } },
  { id: "bus_stops", type: "circle", source: "bus_stops", minzoom: 13,
    paint: { "circle-radius": 3, "circle-color": "#ffffff", "circle-stroke-color": OUTLINE_COLOURS.bus_stop, "circle-stroke-width": 1.5 } },
  { id: "services", type: "circle", source: "services",
    paint: { "circle-radius": ["match", ["get", "kind"], "hospital", 6, 4], "circle-color": ["match", ["get", "kind"], "hospital", SERVICE_COLOURS.hospital, "gp", SERVICE_COLOURS.gp, SERVICE_COLOURS.school],
      "circle-stroke-color": "#ffffff", "circle-stroke-width": 1 } },
  { id: "stations", type: "circle", source: "stations",
    paint: { "circle-radius": 5, "circle-color": ["match", ["get", "kind"], "ferry", STATION_COLOURS.ferry, STATION_COLOURS.rail],
      "circle-stroke-color": "#ffffff", "circle-stroke-width": 2 } },
];

/** The style: our GeoJSON sources (filled in as the layers arrive), no tiles, glyphs or sprites. */
export function publicStyle(): StyleSpecification {
  return {
    version: 8,
    sources: Object.fromEntries(SOURCES.map((name) => [name, { type: "geojson", data: EMPTY as never }])),
    layers,
  };
}

/** The map layers a click can open (top first). */
export const CLICKABLE = ["stations", "services", "bus_stops", "lsoa-deprivation", "lsoa-population", "wards"];
