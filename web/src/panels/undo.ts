// Undo and redo per user: a Yjs UndoManager on the shared edits that tracks only this client's own changes
// (made through `localChange`), so one user's Ctrl+Z never undoes a colleague's edit. Ctrl+Z undoes,
// Ctrl+Shift+Z and Ctrl+Y redo (also Cmd on a Mac); text fields keep their own undo.

import * as Y from "yjs";
import { el } from "../dom";
import type { ScenarioContext } from "../context";

/** The origin of this client's own edits: the only one the undo manager tracks. */
export const LOCAL_EDIT = { local: true };

/** Change the shared edits as this user (undoable). */
export function localChange(ctx: ScenarioContext, change: () => void): void {
  ctx.room.doc.transact(change, LOCAL_EDIT);
}

export interface UndoBar {
  element: HTMLElement;
  manager: Y.UndoManager;
  destroy(): void;
}

export function undoBar(ctx: ScenarioContext): UndoBar {
  // every edit is its own step (no merging of quick successive edits)
  const manager = new Y.UndoManager(ctx.room.edits, { trackedOrigins: new Set([LOCAL_EDIT]), captureTimeout: 0 });
  const undo = el("button", { id: "undo", title: "Undo your last edit (Ctrl+Z)", onclick: () => manager.undo() }, "↶ Undo") as HTMLButtonElement;
  const redo = el("button", { id: "redo", title: "Redo (Ctrl+Shift+Z or Ctrl+Y)", onclick: () => manager.redo() }, "↷ Redo") as HTMLButtonElement;
  const update = () => { undo.disabled = !manager.canUndo(); redo.disabled = !manager.canRedo(); };
  for (const event of ["stack-item-added", "stack-item-popped", "stack-cleared"]) manager.on(event as "stack-item-added", update);
  update();
  const onKey = (event: KeyboardEvent) => {
    if (!(event.ctrlKey || event.metaKey) || event.altKey) return;
    const target = event.target as HTMLElement | null;
    if (target && (target.tagName === "INPUT" || target.tagName === "TEXTAREA" || target.tagName === "SELECT" || target.isContentEditable)) return;
    if (document.querySelector("dialog[open]")) return;
    const key = event.key.toLowerCase();
    if (key === "z" && !event.shiftKey) manager.undo();
    else if ((key === "z" && event.shiftKey) || key === "y") manager.redo();
    else return;
    event.preventDefault();
  };
  document.addEventListener("keydown", onKey);
  const element = el("div", { class: "form", role: "group", "aria-label": "Undo and redo your edits" }, undo, redo,
    el("span", { class: "hint" }, "your own edits only"));
  return { element, manager, destroy: () => { document.removeEventListener("keydown", onKey); manager.destroy(); } };
}
