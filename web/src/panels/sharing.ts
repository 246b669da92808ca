// The Sharing tab (owner): visibility and members.

import { api, type ScenarioInfo } from "../api";
import { clear, el } from "../dom";
import { attempt, type ScenarioContext } from "../context";

export function sharingPanel(ctx: ScenarioContext): HTMLElement {
  const name = el("input", { id: "member-name", placeholder: "user name" }) as HTMLInputElement;
  const role = el("select", { id: "member-role" }, el("option", { value: "editor" }, "editor"), el("option", { value: "viewer" }, "viewer")) as HTMLSelectElement;
  const members = el("ul", { class: "items", id: "members" });
  const show = (info: ScenarioInfo) => {
    clear(members);
    for (const m of info.members) members.append(el("li", {}, el("span", {}, el("b", { style: `color:${m.colour}` }, m.name), ` · ${m.role}`)));
  };
  show(ctx.scenario);
  const visibility = el("select", { id: "visibility", onchange: (event) => attempt(ctx, async () => {
    ctx.scenario = await api.patchScenario(ctx.scenarioId, { visibility: (event.target as HTMLSelectElement).value });
  }) }, el("option", { value: "private", selected: ctx.scenario.visibility === "private" }, "private: members only"),
    el("option", { value: "shared", selected: ctx.scenario.visibility === "shared" }, "shared: every signed-in user may view"));
  return el("div", { class: "panel" }, el("h3", {}, "Sharing"), visibility, members,
    el("div", { class: "form" }, name, role, el("button", { id: "add-member", onclick: () => attempt(ctx, async () => {
      show(await api.setMember(ctx.scenarioId, name.value, role.value)); name.value = "";
    }) }, "Add")));
}
