// Worker: fetches a run's vehicle layer, decodes it and flattens it for the TripsLayer (vehicle_trips.ts),
// handing the arrays back without copying them.

import { decodeLayer } from "./layers";
import { vehicleTrips } from "./vehicle_trips";

self.onmessage = async (event: MessageEvent<{ runId: number }>) => {
  const response = await fetch(`/api/runs/${event.data.runId}/layers/vehicles`, { credentials: "same-origin" });
  if (!response.ok) { self.postMessage({ error: response.status }); return; }
  const trips = vehicleTrips(decodeLayer(await response.arrayBuffer()));
  self.postMessage({ trips }, { transfer: [trips.startIndices.buffer, trips.positions.buffer, trips.timestamps.buffer, trips.colours.buffer] });
};
