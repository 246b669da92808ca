// The twin's calibration line on the map: what the twin was calibrated and validated against, in one line
// (the server's `calibration` field of GET /api/twins/{id}, from the twin's manifest).

import type { TwinInfo } from "./api";
import { el } from "./dom";

export function calibrationStatus(info: TwinInfo): HTMLElement {
  const line = info.calibration;
  const calibrated = !line.toLowerCase().startsWith("not calibrated");
  return el("div", { class: `calibration ${calibrated ? "calibrated" : "prior"}`, id: "calibration", role: "status" }, line);
}
