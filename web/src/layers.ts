// Decoder of the server's MLL1 binary layers (format documented in metaliverpool/service/layers.py).

export interface Layer {
  name: string;
  count: number;
  columns: Record<string, Float32Array | Float64Array | Int32Array | Uint32Array | Uint16Array | Uint8Array>;
  categories: Record<string, string[]>;
}

const ARRAYS = {
  float32: Float32Array, float64: Float64Array, int32: Int32Array, uint32: Uint32Array, uint16: Uint16Array, uint8: Uint8Array,
} as const;

export function decodeLayer(buffer: ArrayBuffer): Layer {
  const magic = new TextDecoder().decode(new Uint8Array(buffer, 0, 4));
  if (magic !== "MLL1") throw new Error("not an MLL1 layer");
  const headerLength = new DataView(buffer).getUint32(4, true);
  const header = JSON.parse(new TextDecoder().decode(new Uint8Array(buffer, 8, headerLength)));
  const base = 8 + headerLength;
  const columns: Layer["columns"] = {};
  for (const [name, spec] of Object.entries<{ dtype: keyof typeof ARRAYS; offset: number; length: number }>(header.columns)) {
    const ArrayType = ARRAYS[spec.dtype];
    if (!ArrayType) throw new Error(`unsupported dtype ${spec.dtype}`);
    columns[name] = new ArrayType(buffer, base + spec.offset, spec.length);
  }
  return { name: header.layer, count: header.count, columns, categories: header.categories };
}

/** The text value of categorical column `name` at row `i`. */
export function category(layer: Layer, name: string, i: number): string {
  return layer.categories[name][layer.columns[name][i]];
}

/** Vertices of path `i` of a line layer, as a flat [lon, lat, lon, lat, ...] view. */
export function pathOf(layer: Layer, i: number): Float32Array {
  const start = layer.columns.path_start as Uint32Array;
  return (layer.columns.positions as Float32Array).subarray(start[i] * 2, start[i + 1] * 2);
}

/** Rings of polygon `i` of a polygon layer, each as [[lon, lat], ...]. */
export function polygonOf(layer: Layer, i: number): number[][][] {
  const polygonStart = layer.columns.polygon_start as Uint32Array;
  const ringStart = layer.columns.ring_start as Uint32Array;
  const positions = layer.columns.positions as Float32Array;
  const rings: number[][][] = [];
  for (let r = polygonStart[i]; r < polygonStart[i + 1]; r++) {
    const ring: number[][] = [];
    for (let v = ringStart[r]; v < ringStart[r + 1]; v++) ring.push([positions[2 * v], positions[2 * v + 1]]);
    rings.push(ring);
  }
  return rings;
}

/** Position of point `i` of a point layer. */
export function pointOf(layer: Layer, i: number): [number, number] {
  const positions = layer.columns.positions as Float32Array;
  return [positions[2 * i], positions[2 * i + 1]];
}
