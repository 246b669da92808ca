// The map: MapLibre GL with no external tiles (a plain background) and deck.gl layers drawn from the
// twin's own tables: roads by class (over anything extruded), communities (LSOAs by IMD decile or
// population, optionally in 3D), surveyed buildings in 3D,
// services, signals, edits, comments, a drawn polygon, a run's flow differences and AI-loop junctions, the
// congestion forecast on sensor links and animated vehicles.

import { Map as MapLibreMap, NavigationControl, setWorkerUrl, type IControl } from "maplibre-gl";
import maplibreWorkerUrl from "maplibre-gl/dist/maplibre-gl-worker.mjs?worker&url";
import "maplibre-gl/dist/maplibre-gl.css";
import { MapboxOverlay } from "@deck.gl/mapbox";
import { PathLayer, ScatterplotLayer, SolidPolygonLayer, PolygonLayer, TextLayer } from "@deck.gl/layers";
import { TripsLayer } from "@deck.gl/geo-layers";
import type { Layer as DeckLayer, PickingInfo } from "@deck.gl/core";
import { category, pathOf, pointOf, polygonOf, type Layer } from "./layers";
import type { VehicleTrips } from "./vehicle_trips";
import { highlightLayers, type Highlight, type Marker } from "./overlays";
import { buildingsLayer } from "./buildings3d";

type RGBA = [number, number, number, number];

export const ROAD_STYLE: Record<string, { colour: RGBA; width: number }> = {
  motorway: { colour: [232, 146, 162, 255], width: 9 },
  trunk: { colour: [249, 178, 156, 255], width: 8 },
  primary: { colour: [252, 214, 164, 255], width: 7 },
  secondary: { colour: [247, 250, 191, 255], width: 6 },
  tertiary: { colour: [200, 200, 200, 255], width: 5 },
};
const MINOR = { colour: [170, 170, 170, 255] as RGBA, width: 3 };
const IMD_COLOURS: RGBA[] = [
  [165, 0, 38, 150], [215, 48, 39, 150], [244, 109, 67, 150], [253, 174, 97, 150], [254, 224, 144, 150],
  [224, 243, 248, 150], [171, 217, 233, 150], [116, 173, 209, 150], [69, 117, 180, 150], [49, 54, 149, 150],
];
const SERVICE_COLOURS: Record<string, RGBA> = { hospital: [200, 0, 0, 255], gp: [0, 130, 60, 255], school: [30, 80, 200, 255] };

export function roadStyle(highway: string): { colour: RGBA; width: number } {
  return ROAD_STYLE[highway.replace("_link", "")] ?? MINOR;
}

export interface TwinLayers { links: Layer; zones: Layer; services: Layer; junctions: Layer }

/** The rows each layer draws, made once: deck.gl compares `data` by reference, so the same arrays on every
 * render leave the roads' attributes alone when only the vehicles' time changes. */
export interface TwinRows { links: number[]; zones: number[]; services: number[]; signals: number[] }

export function twinRows(layers: TwinLayers): TwinRows {
  const all = (count: number) => Array.from({ length: count }, (_, i) => i);
  return {
    links: all(layers.links.count),
    zones: all(layers.zones.count),
    services: all(layers.services.count).filter((i) => category(layers.services, "kind", i) in SERVICE_COLOURS),
    signals: all(layers.junctions.count).filter((i) => category(layers.junctions, "control", i) === "signals"),
  };
}

export interface MapView {
  layers: TwinLayers;
  rows: TwinRows;
  /** colour override by link index (edits, run differences) */
  linkColour: (i: number) => RGBA | null;
  linkVersion: number;
  selectedLink: number | null;
  communities: "off" | "imd" | "population";
  extrude: boolean;
  /** the twin's surveyed buildings (null: it has none) and whether they are drawn in 3D */
  buildings: Layer | null;
  showBuildings: boolean;
  showServices: boolean;
  drawing: [number, number][] | null;
  areas: { polygon: number[][]; colour: RGBA; id: string }[];
  comments: { id: string; position: [number, number]; resolved: boolean }[];
  /** vehicles of a run as binary paths with a time (s after 07:00) per vertex */
  vehicles: VehicleTrips | null;
  time_s: number;
  /** congestion forecast: link rows drawn wide in their band colour */
  forecast: { rows: number[]; colours: RGBA[] } | null;
  /** link highlights over the roads (the selected street, an LTN's cells and rat-runs) and markers */
  highlights: Highlight[];
  markers: Marker[];
  /** junctions a run's AI signal loop took over */
  aiJunctions: { lon: number; lat: number; seeds_flagged: number }[] | null;
}

export function createMap(container: HTMLElement, bounds: [number, number, number, number]) {
  setWorkerUrl(maplibreWorkerUrl); // bundled by Vite and served by our server: nothing from a CDN
  const map = new MapLibreMap({
    container,
    style: { version: 8, sources: {}, layers: [{ id: "background", type: "background", paint: { "background-color": "#f2efe9" } }] },
    bounds: [[bounds[0], bounds[1]], [bounds[2], bounds[3]]],
    fitBoundsOptions: { padding: 20 },
    attributionControl: false,
    maxPitch: 70,
  });
  map.addControl(new NavigationControl({ visualizePitch: true }), "top-left");
  const overlay = new MapboxOverlay({ interleaved: false, layers: [] });
  map.addControl(overlay as unknown as IControl);
  const moving = new MapboxOverlay({ interleaved: false, layers: [] });
  map.addControl(moving as unknown as IControl);
  return { map, overlay, moving };
}

/** The vehicles of a run at `view.time_s`, drawn by an overlay of their own (`createMap`'s `moving`), so
 * a frame of playback redraws only them, never the roads under them. */
export function vehicleLayers(view: MapView): DeckLayer[] {
  const result: DeckLayer[] = [];
  if (view.vehicles) {
    const trips = view.vehicles;
    result.push(
      new TripsLayer({
        id: "vehicles",
        data: {
          length: trips.length,
          startIndices: trips.startIndices,
          attributes: {
            getPath: { value: trips.positions, size: 2 },
            getTimestamps: { value: trips.timestamps, size: 1 },
            getColor: { value: trips.colours, size: 4, normalized: true },
          },
        },
        positionFormat: "XY",
        _pathType: "open",
        currentTime: view.time_s,
        trailLength: 45,
        widthMinPixels: 3,
        capRounded: true,
        jointRounded: true,
      }),
    );
  }
  return result;
}

export function buildLayers(view: MapView, onClick: (info: PickingInfo) => void): DeckLayer[] {
  const { links, zones, services, junctions } = view.layers;
  const linkIndex = view.rows.links;
  const result: DeckLayer[] = [];
  if (view.communities !== "off") {
    const zoneIndex = view.rows.zones;
    const population = zones.columns.population as Float32Array;
    const maxPopulation = Math.max(1, ...Array.from(population));
    result.push(
      new SolidPolygonLayer<number>({
        id: "communities",
        data: zoneIndex,
        // eslint-disable-next-line @typescript-eslint/no-explicit-any
        getPolygon: (i) => polygonOf(zones, i) as any,
        getFillColor: (i) => {
          if (view.communities === "imd") {
            const decile = (zones.columns.imd_decile as Float32Array)[i];
            return decile >= 1 ? IMD_COLOURS[decile - 1] : [200, 200, 200, 80];
          }
          const share = population[i] / maxPopulation;
          return [80, 40, 160, Math.round(40 + 160 * share)];
        },
        extruded: view.extrude,
        getElevation: (i) => population[i] / 5,
        pickable: true,
        updateTriggers: { getFillColor: view.communities, getElevation: view.extrude },
      }),
    );
  }
  const raised = (view.showBuildings && view.buildings !== null) || (view.communities !== "off" && view.extrude);
  if (view.showBuildings && view.buildings) result.push(buildingsLayer(view.buildings));
  const highway = links.columns.highway as Uint16Array;
  const highwayNames = links.categories.highway;
  result.push(
    new PathLayer<number>({
      id: "roads",
      data: linkIndex,
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      getPath: (i) => pathOf(links, i) as any,
      positionFormat: "XY",
      _pathType: "open",
      getColor: (i) => view.linkColour(i) ?? roadStyle(highwayNames[highway[i]]).colour,
      getWidth: (i) => (i === view.selectedLink ? 14 : roadStyle(highwayNames[highway[i]]).width),
      widthUnits: "meters",
      widthMinPixels: 1.5,
      capRounded: true,
      jointRounded: true,
      pickable: true,
      autoHighlight: true,
      highlightColor: [31, 95, 191, 200],
      // with anything extruded, the roads are drawn over it: the streets stay readable
      parameters: raised ? { depthCompare: "always" } : {},
      updateTriggers: { getColor: view.linkVersion, getWidth: view.selectedLink },
    }),
  );
  result.push(...highlightLayers(links, view.highlights, view.markers));
  if (view.forecast) {
    const forecast = view.forecast;
    result.push(
      new PathLayer<number>({
        id: "forecast",
        data: forecast.rows.map((_, k) => k),
        // eslint-disable-next-line @typescript-eslint/no-explicit-any
        getPath: (k) => pathOf(links, forecast.rows[k]) as any,
        positionFormat: "XY",
        _pathType: "open",
        getColor: (k) => forecast.colours[k],
        getWidth: 16,
        widthUnits: "meters",
        widthMinPixels: 5,
        capRounded: true,
        jointRounded: true,
        pickable: true,
        autoHighlight: true,
        highlightColor: [31, 95, 191, 200],
        updateTriggers: { getColor: forecast.colours },
      }),
    );
  }
  if (view.areas.length) {
    result.push(
      new PolygonLayer<{ polygon: number[][]; colour: RGBA }>({
        id: "edit-areas",
        data: view.areas,
        getPolygon: (d) => d.polygon,
        getFillColor: (d) => [d.colour[0], d.colour[1], d.colour[2], 50],
        getLineColor: (d) => d.colour,
        lineWidthMinPixels: 2,
        pickable: false,
      }),
    );
  }
  if (view.showServices) {
    const serviceIndex = view.rows.services;
    result.push(
      new ScatterplotLayer<number>({
        id: "services",
        data: serviceIndex,
        getPosition: (i) => pointOf(services, i),
        getFillColor: (i) => SERVICE_COLOURS[category(services, "kind", i)] ?? [120, 120, 120, 255],
        getLineColor: [255, 255, 255, 255],
        stroked: true,
        lineWidthMinPixels: 1,
        radiusMinPixels: 4,
        getRadius: 15,
        pickable: true,
      }),
    );
  }
  const junctionIndex = view.rows.signals;
  result.push(
    new ScatterplotLayer<number>({
      id: "signals",
      data: junctionIndex,
      getPosition: (i) => pointOf(junctions, i),
      getFillColor: [30, 30, 30, 255],
      getLineColor: [250, 200, 0, 255],
      stroked: true,
      lineWidthMinPixels: 1,
      radiusMinPixels: 2.5,
      getRadius: 5,
      pickable: true,
    }),
  );
  if (view.aiJunctions?.length) {
    result.push(
      new ScatterplotLayer<{ lon: number; lat: number; seeds_flagged: number }>({
        id: "ai-junctions",
        data: view.aiJunctions,
        getPosition: (d) => [d.lon, d.lat],
        getFillColor: [128, 0, 160, 60],
        getLineColor: [128, 0, 160, 255],
        stroked: true,
        getRadius: (d) => 18 + 6 * d.seeds_flagged,
        radiusUnits: "meters",
        radiusMinPixels: 8,
        lineWidthMinPixels: 3,
        pickable: false,
      }),
    );
  }
  if (view.comments.length) {
    result.push(
      new ScatterplotLayer<{ id: string; position: [number, number]; resolved: boolean }>({
        id: "comments",
        data: view.comments,
        getPosition: (d) => d.position,
        getFillColor: (d) => (d.resolved ? [150, 150, 150, 220] : [255, 140, 0, 240]),
        getLineColor: [255, 255, 255, 255],
        stroked: true,
        radiusMinPixels: 7,
        lineWidthMinPixels: 2,
        pickable: true,
      }),
      new TextLayer<{ id: string; position: [number, number] }>({
        id: "comment-icons",
        data: view.comments,
        getPosition: (d) => d.position,
        getText: () => "!",
        getSize: 12,
        getColor: [255, 255, 255, 255],
        fontFamily: "DejaVu Sans, sans-serif",
        fontWeight: "bold",
      }),
    );
  }
  if (view.drawing && view.drawing.length) {
    result.push(
      new PathLayer<[number, number][]>({
        id: "drawing",
        data: [view.drawing],
        getPath: (d) => d,
        getColor: [31, 95, 191, 255],
        widthMinPixels: 3,
      }),
      new ScatterplotLayer<[number, number]>({
        id: "drawing-points",
        data: view.drawing,
        getPosition: (d) => d,
        getFillColor: [31, 95, 191, 255],
        radiusMinPixels: 4,
      }),
    );
  }
  void onClick;
  return result;
}
