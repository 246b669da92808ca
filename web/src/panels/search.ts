// The editor's search box: the twin's own streets (selected as streets when chosen) and the public map's
// places, services and areas (GET /api/public/search, `public/search.ts`: one search service, reused).

import { clear, el } from "../dom";
import type { ScenarioContext } from "../context";
import { searchPlaces, type Place } from "../public/search";
import { pathOf } from "../layers";
import { streetPanel } from "./street";

const TWIN_STREETS = 6;
const PLACES = 8;
const KINDS: Record<string, string> = { district: "district", lsoa: "area (LSOA)", rail: "rail station", ferry: "ferry terminal",
  hospital: "hospital", gp: "GP practice", school: "school", street: "street or road", bus: "bus stop" };

/** Street name -> the first link row carrying it, built on first search. */
function streetRows(ctx: ScenarioContext): Map<string, number> {
  const rows = new Map<string, number>();
  const { links } = ctx.twin;
  const names = links.categories.name ?? [];
  const codes = links.columns.name as Uint16Array | undefined;
  if (!codes) return rows;
  for (let i = 0; i < links.count; i++) if (names[codes[i]] && !rows.has(names[codes[i]])) rows.set(names[codes[i]], i);
  return rows;
}

export function editorSearch(ctx: ScenarioContext): HTMLElement {
  const input = el("input", { id: "editor-search", type: "search", placeholder: "a street, place, service or area…", autocomplete: "off" }) as HTMLInputElement;
  const results = el("ul", { class: "items", id: "editor-search-results", "aria-live": "polite" });
  let index: Map<string, number> | null = null;
  let sequence = 0;
  const chooseStreet = (row: number) => {
    const path = pathOf(ctx.twin.links, row);
    ctx.map.flyTo({ center: [path[0], path[1]], zoom: 16, duration: 0 });
    clear(ctx.selection);
    ctx.view.selectedLink = row;
    streetPanel(ctx, row);
    ctx.showTab("Edit");
  };
  const choosePlace = (place: Place) => {
    ctx.map.flyTo({ center: [place.lon, place.lat], zoom: place.kind === "district" ? 12 : 16, duration: 0 });
    ctx.view.markers = [{ lon: place.lon, lat: place.lat, colour: [31, 95, 191, 255], label: place.name }];
    ctx.render();
  };
  const run = async () => {
    const query = input.value.trim().toLowerCase();
    const mine = ++sequence;
    if (query.length < 2) { clear(results); return; }
    index ??= streetRows(ctx);
    const streets = Array.from(index.entries()).filter(([name]) => name.toLowerCase().includes(query))
      .sort((a, b) => Number(!a[0].toLowerCase().startsWith(query)) - Number(!b[0].toLowerCase().startsWith(query)) || a[0].localeCompare(b[0]))
      .slice(0, TWIN_STREETS);
    const places = await searchPlaces(query).catch(() => [] as Place[]); // no public map on this server: the twin's streets only
    if (mine !== sequence) return;
    clear(results);
    for (const [name, row] of streets) {
      results.append(el("li", {}, el("button", { type: "button", class: "link", "data-street": name, onclick: () => chooseStreet(row) }, name), el("span", { class: "meta" }, "street in this twin: select it")));
    }
    for (const place of places.filter((p) => !(p.kind === "street" && index?.has(p.name))).slice(0, PLACES)) {
      results.append(el("li", {}, el("button", { type: "button", class: "link", onclick: () => choosePlace(place) }, place.name),
        el("span", { class: "meta" }, [KINDS[place.kind] ?? place.kind, place.detail].filter(Boolean).join(" · "))));
    }
    if (!results.firstChild) results.append(el("li", {}, "nothing found"));
  };
  let timer = 0;
  input.addEventListener("input", () => { window.clearTimeout(timer); timer = window.setTimeout(() => void run(), 200); });
  const form = el("form", { role: "search", "aria-label": "Search streets and places" }, el("label", { for: "editor-search" }, "Find "), input);
  form.addEventListener("submit", (event) => { event.preventDefault(); window.clearTimeout(timer); void run(); });
  return el("div", { class: "panel", id: "editor-search-panel" }, form, results);
}
