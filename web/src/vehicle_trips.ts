// A run's vehicles as flat binary arrays for deck.gl's TripsLayer: positions, a time per vertex and a colour
// per vertex (by the vehicle's delay), with the start of each path. Made from the server's MLL1 `vehicles`
// layer in a worker (vehicles_worker.ts), so the page never decodes or loops over vertices itself.

import type { Layer } from "./layers";

export interface VehicleTrips {
  /** vehicles with at least one vertex */
  length: number;
  /** first vertex of each vehicle, and one past the last (length + 1 entries) */
  startIndices: Uint32Array;
  /** lon, lat per vertex (degrees) */
  positions: Float32Array;
  /** seconds after 07:00 per vertex */
  timestamps: Float32Array;
  /** RGBA per vertex: green (on time) to red (twice the free-flow time or more, or never arrived) */
  colours: Uint8Array;
  first_s: number;
  last_s: number;
  /** vehicles in the recorded simulation's sample (with or without vertices) */
  recorded: number;
}

export function vehicleTrips(layer: Layer): VehicleTrips {
  const start = layer.columns.path_start as Uint32Array;
  const positions = layer.columns.positions as Float32Array;
  const stamps = layer.columns.timestamps_s as Float32Array;
  const ratio = layer.columns.delay_ratio as Float32Array;
  const kept: number[] = [];
  let vertices = 0;
  for (let i = 0; i < layer.count; i++) {
    if (start[i + 1] > start[i]) { kept.push(i); vertices += start[i + 1] - start[i]; }
  }
  const startIndices = new Uint32Array(kept.length + 1);
  const outPositions = new Float32Array(2 * vertices);
  const outStamps = new Float32Array(vertices);
  const colours = new Uint8Array(4 * vertices);
  let first = Infinity, last = 0, at = 0;
  kept.forEach((i, k) => {
    const a = start[i], b = start[i + 1];
    startIndices[k] = at;
    outPositions.set(positions.subarray(2 * a, 2 * b), 2 * at);
    outStamps.set(stamps.subarray(a, b), at);
    first = Math.min(first, stamps[a]); last = Math.max(last, stamps[b - 1]);
    const r = Number.isFinite(ratio[i]) ? Math.min(1, Math.max(0, ratio[i] - 1)) : 1;
    const colour = [Math.round(40 + 200 * r), Math.round(180 - 150 * r), 40, 255];
    for (let v = at; v < at + b - a; v++) colours.set(colour, 4 * v);
    at += b - a;
  });
  startIndices[kept.length] = at;
  return { length: kept.length, startIndices, positions: outPositions, timestamps: outStamps, colours,
    first_s: kept.length ? first : 0, last_s: last, recorded: layer.count };
}
