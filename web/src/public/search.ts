// The public map's search box: names of districts, LSOAs, stations, services, bus stops and streets
// (GET /api/public/search); choosing a result flies the map there, marks it and opens its details.

import { Marker, type Map as MapLibreMap } from "maplibre-gl";
import { el, clear } from "../dom";

export interface Place { kind: string; name: string; detail: string; lon: number; lat: number }

const KIND_LABELS: Record<string, string> = {
  district: "district", ward: "ward", lsoa: "LSOA", rail: "rail station", ferry: "ferry terminal", hospital: "hospital",
  gp: "GP practice", school: "school", street: "street or road", bus: "bus stop",
};

export async function searchPlaces(query: string): Promise<Place[]> {
  const response = await fetch(`/api/public/search?q=${encodeURIComponent(query)}&limit=12`);
  if (!response.ok) throw new Error(`search failed (${response.status})`);
  return (await response.json()) as Place[];
}

export function searchPanel(map: MapLibreMap, onChoose: (place: Place, from: HTMLElement) => void): HTMLElement {
  const input = el("input", { id: "search", type: "search", placeholder: "a place, station, street, hospital…", autocomplete: "off" }) as HTMLInputElement;
  const results = el("ul", { class: "items", id: "search-results", "aria-live": "polite" });
  let marker: Marker | null = null;
  let sequence = 0;
  const choose = (place: Place, from: HTMLElement) => {
    marker?.remove();
    marker = new Marker({ color: "#222" }).setLngLat([place.lon, place.lat]).addTo(map);
    map.flyTo({ center: [place.lon, place.lat], zoom: place.kind === "district" ? 11 : 15, duration: 0 });
    onChoose(place, from);
  };
  const run = async () => {
    const query = input.value.trim();
    const mine = ++sequence;
    if (query.length < 2) { clear(results); return; }
    const places = await searchPlaces(query);
    if (mine !== sequence) return; // a later keystroke's answer wins
    clear(results);
    if (places.length === 0) results.append(el("li", {}, "nothing found"));
    for (const place of places) {
      const button = el("button", { type: "button", class: "link" }, place.name) as HTMLButtonElement;
      button.addEventListener("click", () => choose(place, button));
      results.append(el("li", {}, button,
        el("span", { class: "meta" }, [KIND_LABELS[place.kind] ?? place.kind, place.detail].filter(Boolean).join(" · "))));
    }
  };
  let timer = 0;
  input.addEventListener("input", () => { window.clearTimeout(timer); timer = window.setTimeout(() => void run(), 200); });
  const form = el("form", { role: "search", class: "public-search", "aria-label": "Search the map" },
    el("label", { for: "search" }, "Search"), input, el("button", { type: "submit", id: "search-go" }, "Find"));
  form.addEventListener("submit", (event) => { event.preventDefault(); window.clearTimeout(timer); void run(); });
  return el("div", {}, form, results);
}
