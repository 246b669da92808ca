// The public map at `#/`: the whole City Region for anyone, no account. Land (the six districts) on water,
// LSOAs with a legend, roads, stations, bus stops and services, district labels, search, and the details of
// what is clicked. Every layer comes from our own server (/api/public/*): no tiles, fonts or scripts from
// elsewhere.

import { Map as MapLibreMap, Marker, NavigationControl, setWorkerUrl } from "maplibre-gl";
import maplibreWorkerUrl from "maplibre-gl/dist/maplibre-gl-worker.mjs?worker&url";
import "maplibre-gl/dist/maplibre-gl.css";
import type { GeoJSONSource } from "maplibre-gl";
import { el } from "../dom";
import { CLICKABLE, SOURCES, publicStyle, type SourceName } from "./style";
import { legendPanel } from "./legend";
import { searchPanel } from "./search";
import { showDetails } from "./details";
import { consultPanel } from "./consult";

interface Region { bounds: [number, number, number, number]; attribution: string }
interface Hooks { map: MapLibreMap; firstPaintMs: number | null; loaded: string[] }

async function getJson<T>(url: string): Promise<T> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: ${response.status}`);
  return (await response.json()) as T;
}

/** The districts' names, drawn as HTML labels at each district's label point. */
function labelDistricts(map: MapLibreMap, districts: GeoJSON.FeatureCollection): void {
  for (const feature of districts.features) {
    const p = feature.properties as { name: string; label_lon: number; label_lat: number };
    new Marker({ element: el("div", { class: "district-label" }, p.name) }).setLngLat([p.label_lon, p.label_lat]).addTo(map);
  }
}

export function openPublicMap(app: HTMLElement, signedIn: boolean): () => void {
  const container = el("div", { class: "public-map", id: "public-map", role: "region", "aria-label": "Map of the Liverpool City Region" });
  const details = el("aside", { class: "public-details", id: "details", "aria-live": "polite", hidden: "" });
  const account = signedIn
    ? el("a", { class: "button", href: "#/scenarios", id: "my-scenarios" }, "My scenarios")
    : el("a", { class: "button primary", href: "#/signin", id: "signin-link" }, "Sign in");
  const side = el("div", { class: "public-side" });
  const attribution = el("p", { class: "attribution", id: "attribution" });
  app.append(el("div", { class: "public-page" },
    el("header", { class: "public-header" }, el("h1", {}, "Meta Liverpool"), el("p", {}, "The Liverpool City Region, open to everyone"), account),
    el("main", { class: "public-body" }, side, container, details), attribution));
  setWorkerUrl(maplibreWorkerUrl); // bundled by Vite and served by our server
  const map = new MapLibreMap({ container, style: publicStyle(), center: [-2.95, 53.45], zoom: 9, attributionControl: false });
  map.addControl(new NavigationControl({ showCompass: false }), "top-left");
  const hooks: Hooks = { map, firstPaintMs: null, loaded: [] };
  (window as unknown as { metaliverpool: unknown }).metaliverpool = { publicMap: hooks };
  side.append(searchPanel(map, () => { details.hidden = true; }), consultPanel(map), legendPanel(map));

  // every layer is requested at once, while the map starts; each is drawn when the map is ready
  const ready = new Promise<void>((resolve) => map.once("load", () => resolve()));
  const draw = async (name: SourceName, pending: Promise<GeoJSON.FeatureCollection>) => {
    const data = await pending;
    await ready;
    (map.getSource(name) as GeoJSONSource).setData(data);
    if (name === "districts") labelDistricts(map, data);
    hooks.loaded.push(name);
  };
  const requests = new Map(SOURCES.map((name) => [name, getJson<GeoJSON.FeatureCollection>(`/api/public/layers/${name}`)]));
  void (async () => {
    const region = await getJson<Region>("/api/public/region");
    attribution.textContent = region.attribution;
    map.fitBounds([[region.bounds[0], region.bounds[1]], [region.bounds[2], region.bounds[3]]], { padding: 10, duration: 0 });
    // the land and what a visitor looks for first; the heavier area and bus stop layers follow
    const first: SourceName[] = ["districts", "roads", "stations", "services"];
    await Promise.all(first.map((name) => draw(name, requests.get(name)!)));
    map.once("idle", () => { hooks.firstPaintMs = performance.now(); }); // ms since the navigation started
    map.triggerRepaint();
    await Promise.all(SOURCES.filter((name) => !first.includes(name)).map((name) => draw(name, requests.get(name)!)));
  })();

  map.on("click", (event) => {
    const layers = CLICKABLE.filter((id) => map.getLayoutProperty(id, "visibility") !== "none");
    const box: [[number, number], [number, number]] = [[event.point.x - 4, event.point.y - 4], [event.point.x + 4, event.point.y + 4]];
    const [feature] = map.queryRenderedFeatures(box, { layers });
    if (feature) showDetails(details, feature); else details.hidden = true;
  });
  for (const id of CLICKABLE) {
    map.on("mouseenter", id, () => { map.getCanvas().style.cursor = "pointer"; });
    map.on("mouseleave", id, () => { map.getCanvas().style.cursor = ""; });
  }
  return () => map.remove();
}
