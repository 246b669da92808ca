// Highlights drawn over the roads: the selected street, a low-traffic neighbourhood's cells and rat-runs
// (link rows of the twin's links layer), and markers such as its modal filters.

import { PathLayer, ScatterplotLayer } from "@deck.gl/layers";
import type { Layer as DeckLayer } from "@deck.gl/core";
import { pathOf, type Layer } from "./layers";

type RGBA = [number, number, number, number];

export interface Highlight { id: string; rows: number[]; colour: RGBA; width_m: number }
export interface Marker { lon: number; lat: number; colour: RGBA; label: string }

export function highlightLayers(links: Layer, highlights: Highlight[], markers: Marker[]): DeckLayer[] {
  const result: DeckLayer[] = highlights.map((h) => new PathLayer<number>({
    id: `highlight-${h.id}`,
    data: h.rows,
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    getPath: (i) => pathOf(links, i) as any,
    positionFormat: "XY",
    _pathType: "open",
    getColor: h.colour,
    getWidth: h.width_m,
    widthUnits: "meters",
    widthMinPixels: 4,
    capRounded: true,
    jointRounded: true,
    pickable: false,
  }));
  if (markers.length) {
    result.push(new ScatterplotLayer<Marker>({
      id: "markers",
      data: markers,
      getPosition: (d) => [d.lon, d.lat],
      getFillColor: (d) => d.colour,
      getLineColor: [255, 255, 255, 255],
      stroked: true,
      radiusMinPixels: 7,
      lineWidthMinPixels: 2,
      pickable: false,
    }));
  }
  return result;
}
