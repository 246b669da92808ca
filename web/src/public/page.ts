// The public map at `#/`: the whole City Region for anyone, no account. Land (the six districts) on water,
// wards, LSOAs with a legend, a keyboard list of the features in view, roads, stations, bus stops and services, district labels, search, and the details of
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
import { featureList } from "./features";
import type { Place } from "./search";
import { consultPanel } from "./consult";

interface Region { bounds: [number, number, number, number]; attribution: string }
interface Hooks { map: MapLibreMap; firstPaintMs: number | null; loaded: string[] }

async function getJson<T>(url: string): Promise<T> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: ${response.status}`);
  return (await response.json()) as T;
}

/** Area names (districts, wards), drawn as HTML labels at each area's label point. */
function labelAreas(map: MapLibreMap, areas: GeoJSON.FeatureCollection, className: string): void {
  for (const feature of areas.features) {
    const p = feature.properties as { name: string; label_lon: number; label_lat: number };
    new Marker({ element: el("div", { class: className }, p.name) }).setLngLat([p.label_lon, p.label_lat]).addTo(map);
  }
}

/** Ward labels only from zoom 11, where they do not cover each other. */
const WARD_LABEL_ZOOM = 11;

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
  const features = featureList(map, (feature, from) => showDetails(details, feature, from));
  const search = searchPanel(map, (place, from) => map.once("idle", () => openPlace(place, from)));
  side.append(search, consultPanel(map), legendPanel(map), features.panel);
  /** A chosen search result: the details of the feature of that name drawn at its point, if any. */
  const openPlace = (place: Place, from: HTMLElement) => {
    const point = map.project([place.lon, place.lat]);
    const box: [[number, number], [number, number]] = [[point.x - 6, point.y - 6], [point.x + 6, point.y + 6]];
    const layers = CLICKABLE.filter((id) => map.getLayoutProperty(id, "visibility") !== "none");
    const feature = map.queryRenderedFeatures(box, { layers }).find((f) => f.properties.name === place.name);
    if (feature) showDetails(details, feature, from); else details.hidden = true;
  };
  const showWardLabels = () => container.classList.toggle("show-ward-labels", map.getZoom() >= WARD_LABEL_ZOOM);
  map.on("zoomend", showWardLabels);

  // every layer is requested at once, while the map starts; each is drawn when the map is ready
  const ready = new Promise<void>((resolve) => map.once("load", () => resolve()));
  const draw = async (name: SourceName, pending: Promise<GeoJSON.FeatureCollection>) => {
    const data = await pending;
    await ready;
    (map.getSource(name) as GeoJSONSource).setData(data);
    if (name === "districts") labelAreas(map, data, "district-label");
    if (name === "wards") labelAreas(map, data, "ward-label");
    hooks.loaded.push(name);
    map.once("idle", features.refresh);
  };
  const requests = new Map(SOURCES.map((name) => [name, getJson<GeoJSON.FeatureCollection>(`/api/public/layers/${name}`)]));
  void (async () => {
    const region = await getJson<Region>("/api/public/region");
    attribution.textContent = region.attribution;
    map.fitBounds([[region.bounds[0], region.bounds[1]], [region.bounds[2], region.bounds[3]]], { padding: 10, duration: 0 });
    showWardLabels();
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
    if (feature) showDetails(details, feature, map.getCanvas()); else details.hidden = true;
  });
  for (const id of CLICKABLE) {
    map.on("mouseenter", id, () => { map.getCanvas().style.cursor = "pointer"; });
    map.on("mouseleave", id, () => { map.getCanvas().style.cursor = ""; });
  }
  return () => map.remove();
}
