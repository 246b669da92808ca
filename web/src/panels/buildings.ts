// The Layers tab's 3D controls: surveyed buildings on or off (when the twin has them) and the camera's
// pitch (0° looks straight down; the extrusions show from about 30°).

import { el } from "../dom";
import type { ScenarioContext } from "../context";

/** Pitch (degrees) the map tilts to when 3D buildings are switched on. */
export const BUILDINGS_PITCH_DEG = 55;

export function buildingsControls(ctx: ScenarioContext): HTMLElement {
  const { view, map } = ctx;
  const pitch = el("input", { type: "range", id: "pitch", min: "0", max: "70", step: "1", value: String(Math.round(map.getPitch())),
    "aria-label": "Map pitch (degrees)", oninput: (event) => { map.setPitch(Number((event.target as HTMLInputElement).value)); } }) as HTMLInputElement;
  map.on("pitchend", () => { pitch.value = String(Math.round(map.getPitch())); });
  const toggle = view.buildings
    ? el("label", { style: "display:block" }, el("input", { type: "checkbox", id: "buildings-3d", checked: view.showBuildings, onchange: (event) => {
      view.showBuildings = (event.target as HTMLInputElement).checked;
      if (view.showBuildings && map.getPitch() < 20) map.easeTo({ pitch: BUILDINGS_PITCH_DEG });
      ctx.render();
    } }), ` 3D buildings (${view.buildings.count} surveyed; height = measured, roads drawn over them)`)
    : el("p", { class: "hint" }, "This twin has no surveyed buildings (metaliverpool survey ingest adds them); 3D shows communities by population.");
  return el("div", {}, toggle, el("label", { style: "display:block" }, "Pitch: ", pitch));
}
