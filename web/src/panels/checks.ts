// Edit checks as edits are made: the scenario's edits, in the server's order, are sent to
// `POST /api/scenarios/{id}/check` with the engine chosen in the Runs tab whenever an edit is added,
// changed or removed, or the engine changes. The edit list shows each refusal in place; the Runs tab
// disables Run while an edit is refused for the chosen engine (the run's 422 stays the final guard).

import { api, type EditCheck } from "../api";
import { orderedEdits } from "../edits";
import type { ScenarioContext } from "../context";

export type Engine = "static" | "dynamic";

export interface EditChecks {
  /** the engine the checks are for (the Runs tab's choice) */
  readonly engine: Engine;
  setEngine(engine: Engine): void;
  /** the verdict on an edit by its id in the shared document (undefined until checked) */
  verdict(id: string): EditCheck | undefined;
  /** the refused edits of the last answer that matches the current edits, in order */
  refused(): EditCheck[];
  /** true while the current edits have not been checked yet */
  readonly pending: boolean;
  /** called after each answer (and when a check starts) */
  onChange(listener: () => void): void;
}

/** Wait this long after a change before checking, so a burst of changes (an undo, a restore) is one request. */
const SETTLE_MS = 150;

export function editChecks(ctx: ScenarioContext): EditChecks {
  let engine: Engine = "static";
  let verdicts = new Map<string, EditCheck>();
  let pending = false;
  let asked = 0;
  let timer: number | null = null;
  const listeners: (() => void)[] = [];
  const changed = () => { for (const listener of listeners) listener(); };

  async function check(): Promise<void> {
    timer = null;
    const number = ++asked;
    const entries = orderedEdits(ctx.room.edits.entries());
    const edits = entries.map(([id, entry]) => ({ ...entry.edit, id }));
    if (!edits.length) { verdicts = new Map(); pending = false; changed(); return; } // nothing to ask
    try {
      const answer = await api.checkEdits(ctx.scenarioId, edits, engine);
      if (number !== asked) return; // a later check is on its way
      verdicts = new Map(entries.map(([id], k) => [id, answer.edits[k]]));
    } catch (error) {
      if (number !== asked) return;
      verdicts = new Map();
      ctx.toast(`Could not check the edits: ${(error as Error).message}`);
    }
    pending = false;
    ctx.hooks.editChecks = Object.fromEntries(verdicts);
    changed();
  }
  function schedule(): void {
    pending = true;
    if (timer !== null) window.clearTimeout(timer);
    timer = window.setTimeout(() => void check(), SETTLE_MS);
    changed();
  }
  ctx.room.edits.observeDeep(schedule);
  schedule();
  return {
    get engine() { return engine; },
    get pending() { return pending; },
    setEngine(next) { if (next !== engine) { engine = next; schedule(); } },
    verdict: (id) => verdicts.get(id),
    refused: () => Array.from(verdicts.values()).filter((v) => v.status === "refused").sort((a, b) => a.edit - b.edit),
    onChange: (listener) => { listeners.push(listener); },
  };
}
