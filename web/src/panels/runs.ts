// The Runs tab: choose the engine and seeds, start a run against the base twin (do nothing), follow its
// progress, and open a finished run's results (panels/results.ts). Run is disabled, with the reason, while
// an edit is refused for the chosen engine (panels/checks.ts); the server's 422 stays the final guard.

import { api, type RunInfo } from "../api";
import { clear, el } from "../dom";
import { attempt, type ScenarioContext } from "../context";
import type { EditChecks, Engine } from "./checks";
import { VEHICLES_OUTPUT, runEngine, type Results } from "./results";

export interface Runs {
  element: HTMLElement;
  refresh(): Promise<void>;
  stop(): void;
}

/** How long after a dynamic run is done its animation is waited for (s) before polling stops. */
const ANIMATION_WAIT_S = 30 * 60;

/** The bar reaches its end only when the result is ready (the run is "done"). */
function progressOf(run: RunInfo): number {
  return run.status === "done" ? 1 : Math.min(run.progress, 0.99);
}

function waitsForAnimation(run: RunInfo): boolean {
  return run.status === "done" && runEngine(run) === "dynamic" && !run.outputs.includes(VEHICLES_OUTPUT) &&
    run.finished_at_s !== null && Date.now() / 1000 - run.finished_at_s < ANIMATION_WAIT_S;
}

export function runsPanel(ctx: ScenarioContext, checks: EditChecks, results: Results): Runs {
  const { scenarioId, canEdit } = ctx;
  const list = el("ul", { class: "items", id: "run-list" });
  const engine = el("select", { id: "run-engine", onchange: () => { checks.setEngine(engine.value as Engine); updateForm(); } },
    el("option", { value: "static" }, "static (equilibrium)"), el("option", { value: "dynamic" }, "dynamic (simulator)")) as HTMLSelectElement;
  const seeds = el("input", { id: "run-seeds", value: "1,2,3", size: 8 }) as HTMLInputElement;
  const decompose = el("input", { type: "checkbox", id: "run-decompose" }) as HTMLInputElement;
  const decomposeRow = el("label", { id: "decompose-row", style: "display:none" }, decompose, " split the AI loop's effect (the package without the loop, and what the loop adds)");
  const start = el("button", { class: "primary", id: "start-run", onclick: () => attempt(ctx, startRun) }, "Run vs base twin") as HTMLButtonElement;
  const blocked = el("p", { class: "refusal", id: "run-blocked", role: "status" });
  const element = el("div", { id: "runs" }, el("div", { class: "panel" }, el("h3", {}, "Runs"),
    canEdit ? el("div", { class: "form" }, el("label", { for: "run-engine" }, "Engine"), engine, el("label", { for: "run-seeds" }, "seeds"), seeds, decomposeRow, start) : null,
    canEdit ? blocked : null, list));
  let polling: number | null = null;

  async function startRun(): Promise<void> {
    blocked.textContent = "";
    const chosen = seeds.value.split(",").map((v) => Number(v.trim())).filter((v) => Number.isInteger(v));
    try {
      await api.startRun(scenarioId, null, engine.value, chosen, decomposeRow.style.display !== "none" && decompose.checked);
    } catch (error) {
      blocked.textContent = `The server refused the run: ${(error as Error).message}`; // the final guard (422)
      return;
    }
    await refresh();
  }

  /** Run is enabled only when every edit passed the checks for the chosen engine; the reason otherwise. */
  function updateForm(): void {
    const refused = checks.refused();
    const pending = checks.pending;
    start.disabled = pending || refused.length > 0;
    start.title = pending ? "checking the edits…" : refused.length ? "an edit is refused for this engine" : "";
    blocked.textContent = refused.length
      ? `Run is off: ${refused.map((v) => `${v.title}: ${v.message}`).join("; ")} Change the engine or the edit${refused.length > 1 ? "s" : ""}.`
      : "";
    const hasLoop = Array.from(ctx.room.edits.values()).some((e) => e.edit.kind === "ai_signal_control" && e.edit.enabled !== false);
    decomposeRow.style.display = hasLoop && engine.value === "dynamic" ? "" : "none";
  }
  checks.onChange(updateForm);

  async function refresh(): Promise<void> {
    const runs = await api.runs(scenarioId);
    clear(list);
    for (const run of runs) {
      const done = run.status === "done";
      list.append(el("li", { "data-run": run.run_id, "data-status": run.status },
        el("div", { style: "width:100%" }, `Run ${run.run_id} (${runEngine(run)}): ${done ? "done, result ready" : run.status}`,
          run.message ? el("div", { class: "meta" }, run.message) : null,
          run.status === "running" || run.status === "queued" || done ? el("progress", { max: 1, value: progressOf(run) }) : null,
          done ? el("div", {}, el("a", { href: `/api/runs/${run.run_id}/report`, target: "_blank" }, "Report"), " ",
            el("button", { class: "compare", onclick: () => results.show(run, element) }, "Compare")) : null)));
      results.update(run);
    }
    const active = runs.some((run) => run.status === "running" || run.status === "queued" || waitsForAnimation(run));
    if (active && polling === null) polling = window.setInterval(() => void refresh(), 1000);
    if (!active && polling !== null) { window.clearInterval(polling); polling = null; }
  }

  checks.setEngine(engine.value as Engine);
  updateForm();
  return { element, refresh, stop: () => { if (polling !== null) window.clearInterval(polling); } };
}
