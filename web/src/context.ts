// The context every panel of the scenario view receives: the map, the shared document, the user, the
// twin's layers with their look-ups, and the few things panels share (toast, render, tabs, map mode).

import type { Map as MapLibreMap } from "maplibre-gl";
import type { EditCheck, ScenarioInfo, User } from "./api";
import type { Room } from "./collab";
import type { MapView, TwinLayers } from "./map";
import { category } from "./layers";
import type { ForecastLayer } from "./forecast";

export type RGBA = [number, number, number, number];

/** The twin's layers and the indexes panels look things up with. */
export interface TwinIndex extends TwinLayers {
  /** link id -> row of the links layer */
  linkRow: Map<number, number>;
  /** OSM way id -> rows of the links layer */
  wayLinks: Map<number, number[]>;
  /** the street name of an OSM way ("" if unnamed or unknown) */
  wayName: (way: number) => string;
  /** an LSOA by name and code ("Liverpool 022A (E01006512)"), or "LSOA E01006512" without a name */
  zoneName: (code: string) => string;
}

export interface ScenarioContext {
  scenarioId: number;
  /** the scenario as last read (rename and sharing replace it) */
  scenario: ScenarioInfo;
  user: User;
  canEdit: boolean;
  map: MapLibreMap;
  room: Room;
  view: MapView;
  twin: TwinIndex;
  /** test and benchmark hooks (window.metaliverpool) */
  hooks: Record<string, unknown>;
  /** what a click on the map does: select a feature, add a point to a drawn area, or pin a comment */
  mode: "select" | "draw" | "comment";
  /** colour overrides of links by row (the edits, or a run's result map) */
  linkColours: Map<number, RGBA>;
  /** a run's result is drawn instead of the edits */
  resultShown: boolean;
  /** the congestion forecast layer when one is shown */
  forecast: ForecastLayer | null;
  /** the edit checks (set once the checks panel exists): the verdict on an edit by id, and news of answers */
  checks: { verdict(id: string): EditCheck | undefined; onChange(listener: () => void): void; readonly pending: boolean } | null;
  /** the Edit tab's selection area (road, junction, community, area, forecast link panels) */
  selection: HTMLElement;
  toast(text: string, kind?: "error" | "info"): void;
  /** redraw the deck.gl layers from `view` */
  render(): void;
  /** redraw only the vehicles (playback: `view.time_s` changed) */
  renderVehicles(): void;
  showTab(name: string): void;
}

export function indexTwin(layers: TwinLayers): TwinIndex {
  const { links } = layers;
  const linkRow = new Map<number, number>();
  const linkIds = links.columns.link_id as Int32Array;
  for (let i = 0; i < links.count; i++) linkRow.set(linkIds[i], i);
  const wayLinks = new Map<number, number[]>();
  const osmWay = links.columns.osm_way_id as Float64Array;
  for (let i = 0; i < links.count; i++) {
    const list = wayLinks.get(osmWay[i]) ?? [];
    list.push(i);
    wayLinks.set(osmWay[i], list);
  }
  const wayName = (way: number) => {
    const first = wayLinks.get(way)?.[0];
    return first === undefined ? "" : category(links, "name", first);
  };
  const zoneNames = new Map<string, string>();
  const { zones } = layers;
  if (zones.categories.name) for (let i = 0; i < zones.count; i++) zoneNames.set(category(zones, "zone_code", i), category(zones, "name", i));
  const zoneName = (code: string) => (zoneNames.get(code) ? `${zoneNames.get(code)} (${code})` : `LSOA ${code}`);
  return { ...layers, linkRow, wayLinks, wayName, zoneName };
}

/** Run `action` and show its error, if any, as a toast. */
export async function attempt(ctx: ScenarioContext, action: () => Promise<unknown>): Promise<void> {
  try { await action(); } catch (error) { ctx.toast((error as Error).message); }
}
