// The list of the scenario's edits, numbered in the server's order (as the edit checks and the run's
// messages number them), each with its check's refusal in place, and their colours on the map.

import { clear, el } from "../dom";
import { editArea, editColour, editText, editWays, orderedEdits } from "../edits";
import type { ScenarioContext } from "../context";
import type { EditChecks } from "./checks";
import { confirmDialog } from "../dialog";
import { localChange } from "./undo";

export interface EditList {
  element: HTMLElement;
  /** redraw the list and the edits on the map from the shared document */
  refresh(): void;
}

export function editList(ctx: ScenarioContext, checks: EditChecks): EditList {
  const list = el("ol", { class: "items numbered", id: "edits" });
  const refresh = () => {
    const { room, view, twin } = ctx;
    clear(list);
    ctx.linkColours = new Map();
    view.areas = [];
    const entries = orderedEdits(room.edits.entries());
    for (const [k, [id, entry]] of entries.entries()) {
      const colour = editColour(entry.edit);
      for (const way of editWays(entry.edit)) for (const i of twin.wayLinks.get(way) ?? []) ctx.linkColours.set(i, colour);
      const area = editArea(entry.edit);
      if (area) view.areas.push({ id, polygon: area, colour });
      const verdict = checks.verdict(id);
      const refused = verdict?.status === "refused" ? verdict : null;
      const text = editText(entry.edit, verdict?.label, twin);
      list.append(el("li", { "data-edit": id, "data-number": k + 1, "data-check": verdict?.status ?? "pending", class: refused ? "refused" : undefined },
        el("span", {}, el("b", { class: "number" }, `${k + 1}.`), " ", text, el("br"), el("span", { class: "meta" }, `by ${entry.author}`),
          refused ? el("span", { class: "refusal", role: "alert" }, `Refused for the ${checks.engine} engine: ${refused.label}: ${refused.message}`) : null),
        ctx.canEdit ? el("button", { class: "remove", "aria-label": `Remove: ${text}`, onclick: () => void remove(id) }, "Remove") : null));
    }
    if (!entries.length) list.append(el("li", { class: "hint" }, "No edits yet: click a road, a signal or a community."));
    view.linkVersion += 1;
    ctx.render();
  };
  /** Its author removes an edit at once (Undo brings it back). Anyone else (an editor or the owner) confirms
   * first, told whose edit it is: the server accepts a new edit only under its sender's name, so Undo could
   * not bring a colleague's edit back (restoring a version can). */
  const remove = async (id: string) => {
    const entry = ctx.room.edits.get(id);
    if (!entry) return;
    if (entry.author === ctx.user.name) { localChange(ctx, () => ctx.room.edits.delete(id)); return; }
    const what = editText(entry.edit, ctx.checks?.verdict(id)?.label, ctx.twin);
    if (await confirmDialog(`Remove ${entry.author}'s edit?`, `“${what}” is ${entry.author}'s edit. It goes for everyone, ` +
      "and Undo cannot bring back a colleague's edit (restoring a saved version can).", `Remove ${entry.author}'s edit`)) {
      ctx.room.edits.delete(id);
    }
  };
  ctx.room.edits.observeDeep(() => { if (!ctx.resultShown) refresh(); });
  checks.onChange(() => { if (!ctx.resultShown) refresh(); });
  return { element: el("div", { class: "panel" }, el("h3", {}, "Edits"), list), refresh };
}
