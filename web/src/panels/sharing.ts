// The Sharing tab (owner): visibility, members (remove after a confirmation), and adding a member by
// searching user names (suggestions as the owner types).

import { api, type ScenarioInfo } from "../api";
import { clear, el } from "../dom";
import { confirmDialog } from "../dialog";
import { attempt, type ScenarioContext } from "../context";

export function sharingPanel(ctx: ScenarioContext): HTMLElement {
  const suggestions = el("datalist", { id: "member-suggestions" });
  const name = el("input", { id: "member-name", placeholder: "search user names", list: "member-suggestions", autocomplete: "off" }) as HTMLInputElement;
  const role = el("select", { id: "member-role" }, el("option", { value: "editor" }, "editor"), el("option", { value: "viewer" }, "viewer")) as HTMLSelectElement;
  const members = el("ul", { class: "items", id: "members" });
  const show = (info: ScenarioInfo) => {
    ctx.scenario = info;
    clear(members);
    for (const m of info.members) {
      members.append(el("li", { "data-member": m.name }, el("span", {}, el("b", { style: `color:${m.colour}` }, m.name), ` · ${m.role}`),
        m.role === "owner" ? null : el("button", { class: "remove-member", "aria-label": `Remove ${m.name}`, onclick: () => void remove(m.name) }, "Remove")));
    }
  };
  const remove = async (member: string) => {
    if (!(await confirmDialog(`Remove ${member}?`, `${member} loses access to “${ctx.scenario.name}” at once` +
      (ctx.scenario.visibility === "shared" ? " (the scenario is shared, so they can still view it)." : "."), `Remove ${member}`))) return;
    await attempt(ctx, async () => {
      await api.removeMember(ctx.scenarioId, member);
      show(await api.scenario(ctx.scenarioId));
    });
  };
  let asked = "";
  name.addEventListener("input", () => attempt(ctx, async () => {
    const prefix = name.value.trim();
    if (!prefix || prefix === asked) return;
    asked = prefix;
    const found = await api.findUsers(prefix);
    if (name.value.trim() !== prefix) return; // the owner typed on meanwhile
    const present = new Set(ctx.scenario.members.map((m) => m.name));
    clear(suggestions);
    for (const user of found) if (!present.has(user.name)) suggestions.append(el("option", { value: user.name }));
  }));
  show(ctx.scenario);
  const visibility = el("select", { id: "visibility", onchange: (event) => attempt(ctx, async () => {
    ctx.scenario = await api.patchScenario(ctx.scenarioId, { visibility: (event.target as HTMLSelectElement).value });
  }) }, el("option", { value: "private", selected: ctx.scenario.visibility === "private" }, "private: members only"),
    el("option", { value: "shared", selected: ctx.scenario.visibility === "shared" }, "shared: every signed-in user may view"));
  return el("div", { class: "panel" }, el("h3", {}, "Sharing"),
    el("label", { for: "visibility" }, "Who may see it "), visibility, members,
    el("div", { class: "form" }, el("label", { for: "member-name" }, "Add"), name, suggestions,
      el("label", { for: "member-role" }, "as"), role,
      el("button", { id: "add-member", onclick: () => attempt(ctx, async () => {
        show(await api.setMember(ctx.scenarioId, name.value.trim(), role.value)); name.value = ""; asked = "";
      }) }, "Add")));
}
