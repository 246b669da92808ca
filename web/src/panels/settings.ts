// The scenario's name with Rename (editors) and Delete (the owner, after a confirmation).

import { api } from "../api";
import { el } from "../dom";
import { confirmDialog, promptDialog } from "../dialog";
import { attempt, type ScenarioContext } from "../context";

export function scenarioHeader(ctx: ScenarioContext): HTMLElement {
  const title = el("h2", { id: "scenario-name" }, ctx.scenario.name);
  const rename = async () => {
    const name = await promptDialog("Rename the scenario", "New name", ctx.scenario.name, "Rename");
    if (name === null || name.trim() === ctx.scenario.name) return;
    await attempt(ctx, async () => {
      ctx.scenario = await api.patchScenario(ctx.scenarioId, { name: name.trim() });
      title.textContent = ctx.scenario.name;
    });
  };
  const remove = async () => {
    if (!(await confirmDialog("Delete this scenario?", `“${ctx.scenario.name}” is deleted for everyone, with its edits, comments, versions and runs. This cannot be undone.`,
      "Delete the scenario"))) return;
    await attempt(ctx, async () => {
      await api.deleteScenario(ctx.scenarioId);
      location.hash = "#/";
    });
  };
  return el("div", {}, title,
    ctx.canEdit ? el("button", { id: "rename", onclick: () => void rename() }, "Rename") : null, " ",
    ctx.scenario.role === "owner" ? el("button", { id: "delete-scenario", class: "danger", onclick: () => void remove() }, "Delete") : null);
}
