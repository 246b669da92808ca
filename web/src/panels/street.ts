// A clicked road selects its street: the run of one name between two junctions (the server's grouping,
// GET /api/twins/{id}/street), highlighted on the map, grown or shortened junction by junction. The panel
// shows what the street has now and offers only values that change it and that the twin can take.

import { clear, el } from "../dom";
import { category } from "../layers";
import type { ScenarioContext } from "../context";
import { range, streets, type StreetInfo } from "../streets";
import { editStatus } from "./edit_status";

const STREET_COLOUR: [number, number, number, number] = [255, 176, 0, 230];

export function streetPanel(ctx: ScenarioContext, row: number): void {
  const linkId = (ctx.twin.links.columns.link_id as Int32Array)[row];
  const status = editStatus(ctx);
  // until the server has found the street, the clicked road's own OSM way can be closed or filtered
  const way = (ctx.twin.links.columns.osm_way_id as Float64Array)[row];
  const panel = el("div", { class: "panel", id: "road-panel" },
    el("h3", { id: "street-name" }, category(ctx.twin.links, "name", row) || "an unnamed road"),
    el("p", { class: "hint", id: "street-finding" }, "Finding the street between its junctions… until then, edits act on the clicked stretch only."),
    el("div", { class: "form" },
      el("button", { id: "close-road", disabled: !ctx.canEdit, onclick: () => status.add({ kind: "close_road", osm_way_ids: [way] }) }, "Close the street"),
      el("button", { id: "modal-filter", disabled: !ctx.canEdit, onclick: () => status.add({ kind: "modal_filter", osm_way_ids: [way] }) }, "Modal filter")),
    status.element);
  ctx.selection.append(panel);
  let before = 0, after = 0, asked = 0;
  const load = async () => {
    const mine = ++asked;
    try {
      const street = await streets.street(ctx.scenario.twin_id, linkId, before, after);
      if (mine !== asked || !panel.isConnected) return;
      draw(street);
    } catch (error) {
      if (panel.isConnected) { clear(panel); panel.append(el("p", { class: "error" }, (error as Error).message)); }
    }
  };
  const draw = (street: StreetInfo) => {
    ctx.view.highlights = [{ id: "street", rows: street.link_ids.map((id) => ctx.twin.linkRow.get(id) ?? -1).filter((r) => r >= 0), colour: STREET_COLOUR, width_m: 16 }];
    ctx.hooks.street = street;
    ctx.render();
    const ways = street.osm_way_ids;
    const off = !ctx.canEdit;
    const add = (edit: Record<string, unknown>) => status.add({ ...edit, osm_way_ids: ways });
    const step = (id: string, text: string, enabled: boolean, change: () => void) =>
      el("button", { id, disabled: !enabled, onclick: () => { change(); void load(); } }, text);
    const limit = el("select", { id: "mph", "aria-label": "New speed limit" }, ...street.choices.speed_limit_mph.map((v) => el("option", { value: v }, `${v} mph`))) as HTMLSelectElement;
    const lanes = el("select", { id: "lanes", "aria-label": "New lanes each way" }, ...street.choices.lanes.map((v) => el("option", { value: v }, `${v}`))) as HTMLSelectElement;
    const current = street.current;
    const [west, east] = street.towards; // the selection runs west to east (or south to north)
    clear(panel);
    panel.append(el("div", {},
      el("h3", { id: "street-name" }, street.name),
      el("p", { class: "hint", id: "street-extent" }, `between ${street.from_junction} (${west}) and ${street.to_junction} (${east}) · ${Math.round(street.length_m)} m`,
        street.segments > 1 ? ` · ${street.segments} stretches` : ""),
      el("div", { class: "form" },
        step("extend-before", `◀ Extend ${west}`, street.can_extend_before, () => { before += 1; }),
        step("shorten-before", `Shorten from the ${west}`, before > 0, () => { before -= 1; }),
        step("shorten-after", `Shorten from the ${east}`, after > 0, () => { after -= 1; }),
        step("extend-after", `Extend ${east} ▶`, street.can_extend_after, () => { after += 1; })),
      el("p", { id: "street-now" }, `Now: ${range(current.lanes, current.lanes.length === 1 && current.lanes[0] === 1 ? "lane" : "lanes")}${current.one_way ? " (one way)" : " each way"} · ${range(current.speed_limit_mph, "mph")} · ${current.highway.join(", ")}`),
      street.beyond_selection_m > 0
        ? el("p", { class: "hint", id: "street-beyond" }, `Edits name whole OSM ways: these run ${Math.round(street.beyond_selection_m)} m further along ${street.name} than the highlighted stretch, and an edit changes that too.`)
        : null,
      el("div", { class: "form" }, el("label", { for: "mph" }, "Speed limit"), limit,
        el("button", { id: "set-speed", disabled: off, onclick: () => add({ kind: "speed_limit", speed_limit_mph: Number(limit.value) }) }, "Set")),
      el("div", { class: "form" }, el("label", { for: "lanes" }, "Lanes each way"), lanes,
        el("button", { id: "set-lanes", disabled: off, onclick: () => add({ kind: "change_lanes", lanes: Number(lanes.value) }) }, "Set")),
      el("div", { class: "form" },
        el("button", { id: "close-road", disabled: off, onclick: () => add({ kind: "close_road" }) }, "Close the street"),
        el("button", { id: "bus-lane", disabled: off || !street.choices.bus_lane, title: street.choices.bus_lane_reason, onclick: () => add({ kind: "bus_lane" }) }, "Bus lane"),
        el("button", { id: "modal-filter", disabled: off, onclick: () => add({ kind: "modal_filter" }) }, "Modal filter")),
      street.choices.bus_lane ? null : el("p", { class: "hint", id: "bus-lane-reason" }, `No bus lane: ${street.choices.bus_lane_reason}.`),
      status.element,
    ));
  };
  void load();
}
