// A clicked signal selects its junction: every signal node clustered into it (GET /api/twins/{id}/junction),
// named by its streets, with its plan now; a new plan, the engine's own optimisation, or the AI loop.

import { clear, el } from "../dom";
import type { ScenarioContext } from "../context";
import { streets, type JunctionInfo } from "../streets";
import { addEdit, editStatus, type EditStatus } from "./edit_status";

export function junctionPanel(ctx: ScenarioContext, osmNodeId: number): void {
  const panel = el("div", { class: "panel" }, el("p", { class: "hint" }, "Finding the junction…"));
  ctx.selection.append(panel);
  const status = editStatus(ctx);
  streets.junction(ctx.scenario.twin_id, osmNodeId).then((junction) => {
    if (!panel.isConnected) return;
    ctx.hooks.junction = junction;
    clear(panel);
    panel.id = "junction-panel";
    panel.append(...junctionForm(ctx, junction, status), aiLoopForm(ctx, junction.osm_node_ids, status), status.element);
  }).catch((error: Error) => { clear(panel); panel.append(el("p", { class: "error" }, error.message)); });
}

function junctionForm(ctx: ScenarioContext, junction: JunctionInfo, status: EditStatus): HTMLElement[] {
  const now = junction.cycle_s ?? 90;
  const cycle = el("input", { type: "number", id: "cycle", min: 30, max: 240, step: 1, value: Math.round(Math.min(240, Math.max(30, now))) }) as HTMLInputElement;
  const signals = junction.signal_osm_node_ids.length;
  const greens = junction.approaches.filter((a) => a.cycle_s > 0).map((a) => `${a.street} ${Math.round(a.green_ratio * 100)}%`);
  const setPlan = () => {
    const value = Number(cycle.value);
    if (!(value >= 30 && value <= 240)) { ctx.toast("A cycle is 30 to 240 s"); return; }
    if (junction.cycle_s !== null && Math.round(value) === Math.round(junction.cycle_s)) { ctx.toast(`The cycle is already ${Math.round(value)} s`); return; }
    status.add({ kind: "signal_plan", osm_node_id: junction.osm_node_ids[0], cycle_s: value });
  };
  return [
    el("h3", { id: "junction-name" }, junction.name),
    el("p", { class: "hint", id: "junction-now" }, junction.control === "signals"
      ? `Signals (${signals} signal node${signals === 1 ? "" : "s"} run as one junction) · now a ${junction.cycle_s ?? "?"} s cycle; green: ${greens.join(", ") || "unknown"}`
      : `No signals here (${junction.control}).`),
    el("div", { class: "form" }, el("label", { for: "cycle" }, "Cycle (s)"), cycle,
      el("button", { id: "set-plan", disabled: !ctx.canEdit, onclick: setPlan }, "Set plan"),
      el("button", { id: "optimise", disabled: !ctx.canEdit, onclick: () => status.add({ kind: "signal_plan", osm_node_id: junction.osm_node_ids[0], optimise: true }) }, "Let the engine optimise")),
  ];
}

/** The AI signal loop edit for `nodes` (null = every signalised junction); dynamic runs honour it. */
function aiLoopForm(ctx: ScenarioContext, nodes: number[] | null, status: EditStatus): HTMLElement {
  const threshold = el("input", { type: "number", id: "ai-threshold", min: 0.05, max: 1, step: 0.05, value: 0.5, style: "width:5em" }) as HTMLInputElement;
  const horizon = el("input", { type: "number", id: "ai-horizon", min: 5, max: 120, step: 5, value: 30, style: "width:5em" }) as HTMLInputElement;
  const forecast = el("select", { id: "ai-forecast" }, el("option", { value: "trend" }, "trend"),
    el("option", { value: "history" }, "history of earlier mornings (signals train-risk)"), el("option", { value: "reactive" }, "none (reactive)")) as HTMLSelectElement;
  const edit = (osm: number[] | null) => ({ kind: "ai_signal_control", ...(osm ? { osm_node_ids: osm } : {}),
    horizon_min: Number(horizon.value), risk_threshold: Number(threshold.value), forecast: forecast.value });
  return el("div", { class: "form" }, el("span", { class: "hint" }, "AI loop: ", el("label", { for: "ai-horizon" }, "forecast blocking risk"), " ", horizon, " min ahead by ", el("label", { for: "ai-forecast" }, "method"), " ", forecast, "; ", el("label", { for: "ai-threshold" }, "take over at risk ≥"), " ", threshold),
    el("button", { id: "ai-loop-here", disabled: !ctx.canEdit, onclick: () => status.add(edit(nodes)) }, "AI loop here"),
    el("button", { id: "ai-loop-all", disabled: !ctx.canEdit, onclick: () => addEdit(ctx, edit(null)) }, "AI loop on every signal"),
    el("span", { class: "hint" }, "Run it with the dynamic engine: the baseline is the same scenario without the loop."));
}
