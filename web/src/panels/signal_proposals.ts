// The Live tab's signal panel: the loop's proposed retimings, each with its simulated effect (the next period
// with and without it) and its queue cap per approach; a signal operator approves or rejects each one.

import { api } from "../api";
import { clear, el } from "../dom";
import type { SignalPlanJson, SignalProposal } from "../live";
import { utcClock } from "../live";
import type { ScenarioContext } from "../context";

function stages(plan: SignalPlanJson): string {
  return plan.stages.map((s) => `${s.approaches.join(" & ") || "pedestrians"} ${Math.round(s.green_s)} s`).join(" · ") +
    ` (cycle ${Math.round(plan.cycle_s)} s)`;
}

function effectRows(p: SignalProposal): HTMLElement {
  const table = el("table", { class: "kpis" }, el("tr", {}, el("th", {}, ""), el("th", {}, "now"), el("th", {}, "proposed")),
    el("tr", {}, el("td", {}, "mean journey (s)"), el("td", {}, p.effect.without.mean_travel_time_s.toFixed(0)),
      el("td", { class: "with-plan" }, p.effect.with.mean_travel_time_s.toFixed(0))));
  for (const [link, cap] of Object.entries(p.effect.queue_cap_veh)) {
    table.append(el("tr", {}, el("td", {}, `queue ${p.effect.approach_streets[link]} (cap ${Math.floor(cap)})`),
      el("td", {}, String(p.effect.without.max_queue_veh[link])), el("td", {}, String(p.effect.with.max_queue_veh[link]))));
  }
  return table;
}

export function signalProposalsPanel(ctx: ScenarioContext): {
  element: HTMLElement; onProposals: (proposals: SignalProposal[]) => void;
} {
  const list = el("div", { id: "signal-proposal-list" }, el("p", { class: "hint" }, "No proposal yet."));

  async function decide(p: SignalProposal, decision: "approve" | "reject"): Promise<void> {
    try {
      const decided = await api.decideProposal(ctx.scenario.twin_id, p.proposal_id, decision);
      ctx.toast(`${decided.junction_name}: ${decided.status}`, "info");
    } catch (error) {
      ctx.toast((error as Error).message);
    }
  }

  function card(p: SignalProposal): HTMLElement {
    const decided = p.decided_by && p.decided_unix_s
      ? el("p", { class: "decision" }, `${p.status} by ${p.decided_by} at ${utcClock(p.decided_unix_s)} UTC` +
        (p.published_unix_s ? " · published" : ""))
      : el("div", {},
        el("button", { class: "approve", onclick: () => void decide(p, "approve") }, "Approve"), " ",
        el("button", { class: "reject", onclick: () => void decide(p, "reject") }, "Reject"));
    return el("div", { class: "panel signal-proposal", "data-proposal": p.proposal_id, "data-status": p.status },
      el("b", {}, p.junction_name),
      el("p", { class: "hint" }, `forecast congestion ${Math.round(p.effect.forecast_level * 100)}% · ` +
        `saves ${Math.round(p.effect.saving_s / 60)} vehicle-minutes over ${Math.round(p.period_s / 60)} min (simulated) · ` +
        `${p.effect.breaking_queue_cap} of ${p.effect.candidates} plans refused by the queue cap`),
      el("p", {}, "Now: ", stages(p.current_plan)), el("p", {}, "Proposed: ", stages(p.proposed_plan)),
      effectRows(p), decided);
  }

  function onProposals(proposals: SignalProposal[]): void {
    ctx.hooks.signalProposals = proposals.map((p) => ({ id: p.proposal_id, status: p.status, junction: p.junction_name }));
    clear(list);
    if (!proposals.length) list.append(el("p", { class: "hint" }, "No proposal yet."));
    for (const p of proposals) list.append(card(p));
  }

  const element = el("div", { class: "panel", id: "signal-proposals" }, el("h3", {}, "Signal proposals"),
    el("p", { class: "hint" }, "Nothing changes on the street until a signal operator approves a plan."), list);
  return { element, onProposals };
}
