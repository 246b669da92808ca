// 3D buildings of a surveyed twin (its `buildings` table, written by `metaliverpool survey ingest`):
// footprints extruded to their measured height (RelHMax, metres above the lowest ground point), drawn
// semi-transparent and below the roads, so the streets stay readable; a click shows a building's details.

import { Popup, type Map as MapLibreMap } from "maplibre-gl";
import { SolidPolygonLayer } from "@deck.gl/layers";
import type { PickingInfo } from "@deck.gl/core";
import { api } from "./api";
import { category, decodeLayer, polygonOf, type Layer } from "./layers";
import { el } from "./dom";

type RGBA = [number, number, number, number];

export const BUILDINGS_LAYER_ID = "buildings";
/** Opacity of the extrusions (0-255): the roads under and behind them show through. */
export const BUILDING_ALPHA = 170;
/** Colour ramp by height (m): low buildings pale, towers dark. */
const HEIGHT_STOPS: { height_m: number; colour: [number, number, number] }[] = [
  { height_m: 0, colour: [215, 200, 235] },
  { height_m: 15, colour: [150, 110, 200] },
  { height_m: 40, colour: [80, 40, 140] },
];

/** The twin's buildings layer, or null when the twin has none (its summary does not list it). */
export async function loadBuildings(twinId: string, layers: string[]): Promise<Layer | null> {
  if (!layers.includes(BUILDINGS_LAYER_ID)) return null;
  return decodeLayer(await api.layer(twinId, BUILDINGS_LAYER_ID));
}

/** Colour of a building `height_m` tall (NaN: grey, unmeasured). */
export function heightColour(height_m: number): RGBA {
  if (!Number.isFinite(height_m)) return [170, 170, 170, BUILDING_ALPHA];
  let k = 1;
  while (k < HEIGHT_STOPS.length - 1 && height_m > HEIGHT_STOPS[k].height_m) k++;
  const a = HEIGHT_STOPS[k - 1], b = HEIGHT_STOPS[k];
  const t = Math.min(1, Math.max(0, (height_m - a.height_m) / (b.height_m - a.height_m)));
  const mix = a.colour.map((c, j) => Math.round(c + t * (b.colour[j] - c))) as [number, number, number];
  return [...mix, BUILDING_ALPHA];
}

/** The extruded buildings (deck.gl), pickable for their details. */
export function buildingsLayer(buildings: Layer): SolidPolygonLayer<number> {
  const height = buildings.columns.height_m as Float32Array;
  return new SolidPolygonLayer<number>({
    id: BUILDINGS_LAYER_ID,
    data: Array.from({ length: buildings.count }, (_, i) => i),
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    getPolygon: (i) => polygonOf(buildings, i) as any,
    extruded: true,
    getElevation: (i) => (Number.isFinite(height[i]) ? height[i] : 0),
    getFillColor: (i) => heightColour(height[i]),
    material: { ambient: 0.6, diffuse: 0.5, shininess: 8 },
    pickable: true,
    autoHighlight: true,
    highlightColor: [31, 95, 191, 200],
  });
}

/** The details of building row `i`: height, roof base, source and confidence. */
export function buildingDetails(buildings: Layer, i: number): HTMLElement {
  const value = (name: string) => (buildings.columns[name] as Float32Array)[i];
  const metres = (m: number) => (Number.isFinite(m) ? `${m.toFixed(1)} m` : "not measured");
  return el("div", { class: "building-details", id: "building-details" },
    el("b", {}, `Building ${(buildings.columns.building_id as Int32Array)[i]}`),
    el("div", {}, `Height: ${metres(value("height_m"))}`),
    el("div", {}, `Roof base: ${metres(value("rel_h2_m"))}`),
    el("div", {}, `Source: ${category(buildings, "source", i)}`),
    el("div", {}, `Confidence: ${Math.round(100 * value("confidence"))}%`));
}

/** Show a picked building's details in a popup at the click; false when `info` is not a building. */
export function showBuildingPopup(map: MapLibreMap, buildings: Layer | null, info: PickingInfo): boolean {
  if (!buildings || info.layer?.id !== BUILDINGS_LAYER_ID || info.index < 0 || !info.coordinate) return false;
  const [lon, lat] = info.coordinate as number[];
  new Popup({ closeButton: true, maxWidth: "240px" }).setLngLat([lon, lat]).setDOMContent(buildingDetails(buildings, info.index)).addTo(map);
  return true;
}
