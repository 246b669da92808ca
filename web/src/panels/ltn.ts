// A drawn area's low-traffic neighbourhood, shown as soon as it is drawn (POST /api/twins/{id}/ltn, the
// run's own filter placement): its modal filters, its cells (each part a car reaches from the boundary
// roads without crossing a filter) and the rat-runs between boundary roads it closes, or, plainly, why it
// would change nothing. A/B Street's LTN tool is the model.

import { clear, el } from "../dom";
import type { ScenarioContext } from "../context";
import { streets, type LtnPreview, type RatRun } from "../streets";

type RGBA = [number, number, number, number];
const CELL_COLOURS: RGBA[] = [[27, 158, 119, 220], [117, 112, 179, 220], [231, 41, 138, 220], [102, 166, 30, 220], [166, 118, 29, 220], [230, 171, 2, 220]];
const RAT_RUN: RGBA = [255, 110, 0, 150];
const FILTER: RGBA = [200, 0, 0, 255];
const LISTED = 5;

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

function route(run: RatRun): string {
  return `${run.from} → ${run.to} via ${run.via.join(", ")} (${Math.round(run.time_s)} s)`;
}

/** The preview's element; it fills in when the server answers and draws on the map. */
export function ltnPreview(ctx: ScenarioContext, area: unknown): HTMLElement {
  const box = el("div", { id: "ltn-preview", "aria-live": "polite" }, el("p", { class: "hint" }, "Working out the neighbourhood's filters, cells and rat-runs…"));
  streets.ltn(ctx.scenario.twin_id, area).then((preview) => {
    if (!box.isConnected) return;
    ctx.hooks.ltn = preview;
    show(ctx, box, preview);
  }).catch((error: Error) => { clear(box); box.append(el("p", { class: "error" }, `No preview: ${error.message}`)); });
  return box;
}

function show(ctx: ScenarioContext, box: HTMLElement, preview: LtnPreview): void {
  const rows = (ids: number[]) => ids.map((id) => ctx.twin.linkRow.get(id) ?? -1).filter((r) => r >= 0);
  ctx.view.highlights = [
    ...preview.rat_runs.map((run, k) => ({ id: `rat-run-${k}`, rows: rows(run.link_ids), colour: RAT_RUN, width_m: 22 })),
    ...preview.cells.map((cell, k) => ({ id: `cell-${k}`, rows: rows(cell.link_ids), colour: CELL_COLOURS[k % CELL_COLOURS.length], width_m: 10 })),
  ];
  ctx.view.markers = preview.filters.map((f) => ({ lon: f.lon, lat: f.lat, colour: FILTER, label: `modal filter on ${f.street}` }));
  ctx.render();
  clear(box);
  const closed = preview.rat_runs_before - preview.rat_runs_after;
  box.append(el("div", {},
    preview.changes_nothing
      ? el("p", { class: "refusal", id: "ltn-nothing", role: "alert" }, `As drawn, this neighbourhood changes nothing: ${preview.why.replace(/^it changes nothing:? ?/, "")}.`)
      : el("p", { id: "ltn-summary" }, `${plural(preview.filters.length, "modal filter")}, ${plural(preview.cells.length, "cell")}; `,
        `closes ${closed} of ${plural(preview.rat_runs_before, "rat-run")} between its boundary roads`,
        preview.rat_runs_after ? ` (${preview.rat_runs_after} left)` : "", "."),
    el("p", { class: "hint" }, "On the map: ", el("span", { style: "color:#c80000" }, "● filters"), ", cells in colours, ",
      el("span", { style: "color:#ff6e00" }, "rat-runs today"), " in orange."),
    preview.filters.length ? el("div", {}, el("b", {}, "Filters"),
      el("ul", { class: "items", id: "ltn-filters" }, ...preview.filters.map((f) => el("li", {}, `on ${f.street}`)))) : null,
    preview.cells.length ? el("div", {}, el("b", {}, "Cells"),
      el("ol", { class: "items", id: "ltn-cells" }, ...preview.cells.map((cell, k) => el("li", { style: `border-left:6px solid rgb(${CELL_COLOURS[k % CELL_COLOURS.length].slice(0, 3).join(",")})` },
        `${cell.streets.join(", ")} · ${Math.round(cell.length_m)} m · in from ${cell.entries.join(", ") || "no boundary road"}`)))) : null,
    preview.rat_runs.length ? el("div", {}, el("b", {}, "Rat-runs today"),
      el("ul", { class: "items", id: "ltn-rat-runs" }, ...preview.rat_runs.slice(0, LISTED).map((run) => el("li", {}, route(run))),
        preview.rat_runs.length > LISTED ? el("li", { class: "hint" }, `and ${preview.rat_runs.length - LISTED} more`) : null)) : null,
    preview.rat_runs_left.length ? el("div", {}, el("b", {}, "Rat-runs the filters leave"),
      el("ul", { class: "items", id: "ltn-rat-runs-left" }, ...preview.rat_runs_left.slice(0, LISTED).map((run) => el("li", {}, route(run))))) : null,
  ));
}
