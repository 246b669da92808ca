// Adding an edit, and the verdict on the edit a panel just made, shown in the panel itself: "Checking…", then accepted or the
// refusal in the check's own words (naming the street), as `POST /api/scenarios/{id}/check` answers.

import { el } from "../dom";
import type { ScenarioContext } from "../context";
import { newId } from "../collab";
import { localChange } from "./undo";

export interface EditStatus {
  element: HTMLElement;
  /** add `edit` to the scenario and follow its check here */
  add(edit: Record<string, unknown>): void;
}

/** Add an edit of the scenario schema to the shared document, authored by this user (undoable); its id,
 * or null when this user cannot edit. */
export function addEdit(ctx: ScenarioContext, edit: Record<string, unknown>): string | null {
  if (!ctx.canEdit) { ctx.toast("Viewers cannot edit"); return null; }
  const id = newId();
  localChange(ctx, () => ctx.room.edits.set(id, { edit: { ...edit, id }, author: ctx.user.name, created_at_s: Date.now() / 1000 }));
  return id;
}

const capital = (text: string) => text.charAt(0).toUpperCase() + text.slice(1);

export function editStatus(ctx: ScenarioContext): EditStatus {
  const line = el("p", { class: "edit-status", id: "edit-status", role: "status", "aria-live": "polite" });
  let tracked: string | null = null;
  const show = () => {
    if (tracked === null || !line.isConnected) return;
    const verdict = ctx.checks?.verdict(tracked);
    if (!ctx.room.edits.has(tracked)) { line.textContent = ""; line.dataset.check = "gone"; return; }
    line.dataset.check = verdict?.status ?? "pending";
    line.className = `edit-status ${verdict?.status ?? ""}`;
    if (!verdict) line.textContent = "Checking the edit…";
    else if (verdict.status === "ok") line.textContent = `Added and accepted: ${verdict.edit}. ${capital(verdict.label)}`;
    else line.textContent = `Refused: ${verdict.title}: ${verdict.message}`;
  };
  ctx.checks?.onChange(show);
  return {
    element: line,
    add: (edit) => { tracked = addEdit(ctx, edit); show(); },
  };
}
