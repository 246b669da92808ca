// Drawing an area on the map (points clicked one by one), then the edits offered for it: a 20 mph zone, a
// low-traffic neighbourhood (previewed at once: panels/ltn.ts), a charge zone.

import { clear, el } from "../dom";
import type { ScenarioContext } from "../context";
import { editStatus } from "./edit_status";
import { ltnPreview } from "./ltn";

/** The "Draw an area" panel (editors only). */
export function drawPanel(ctx: ScenarioContext): HTMLElement {
  return el("div", { class: "panel" }, el("h3", {}, "Draw an area"),
    el("p", { class: "hint" }, "Click points on the map, then finish to make a 20 mph zone, a low-traffic neighbourhood or a charge zone."),
    el("button", { id: "draw", onclick: () => { ctx.mode = "draw"; ctx.view.drawing = []; ctx.render(); } }, "Draw"),
    " ", el("button", { id: "finish-draw", onclick: () => finishDrawing(ctx) }, "Finish"));
}

/** A map click while drawing: one more corner. */
export function addPoint(ctx: ScenarioContext, at: [number, number]): void {
  ctx.view.drawing = [...(ctx.view.drawing ?? []), at];
  ctx.render();
}

function finishDrawing(ctx: ScenarioContext): void {
  const points = ctx.view.drawing ?? [];
  ctx.mode = "select";
  ctx.view.drawing = null;
  ctx.render();
  if (points.length < 3) { ctx.toast("Draw at least three points"); return; }
  const ring = [...points, points[0]];
  const area = { type: "Polygon", coordinates: [ring] };
  const charge = el("input", { type: "number", id: "charge", min: 0.5, step: 0.5, value: 5 }) as HTMLInputElement;
  clear(ctx.selection);
  ctx.view.highlights = [];
  ctx.view.markers = [];
  ctx.showTab("Edit");
  const status = editStatus(ctx);
  ctx.selection.append(el("div", { class: "panel", id: "area-panel" }, el("h3", {}, "Drawn area"),
    el("div", { class: "form" },
      el("button", { id: "zone-20mph", onclick: () => status.add({ kind: "speed_limit", speed_limit_mph: 20, area }) }, "20 mph zone"),
      el("button", { id: "zone-ltn", onclick: () => status.add({ kind: "low_traffic_neighbourhood", area }) }, "Low-traffic neighbourhood")),
    el("div", { class: "form" }, el("label", { for: "charge" }, "Charge £"), charge,
      el("button", { id: "zone-charge", onclick: () => status.add({ kind: "cordon_charge", area, charge_gbp: Number(charge.value) }) }, "Charge zone")),
    status.element,
    el("h4", {}, "As a low-traffic neighbourhood"),
    ltnPreview(ctx, area)));
}
