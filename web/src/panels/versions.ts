// The Versions tab: save, history, diff with the previous version, run a version, fork.

import { api, type VersionInfo } from "../api";
import { clear, el } from "../dom";
import { describeEdit } from "../edits";
import { formatNumber } from "../kpis";
import { attempt, type ScenarioContext } from "../context";
import { confirmDialog } from "../dialog";

export interface Versions {
  element: HTMLElement;
  refresh(): Promise<void>;
}

export function versionsPanel(ctx: ScenarioContext): Versions {
  const element = el("div", { id: "versions" });
  const { scenarioId, canEdit } = ctx;
  /** the last restore made here, and the version holding the edits before it (restoring it undoes it) */
  let lastRestore: { restored: VersionInfo; before: VersionInfo } | null = null;

  async function refresh(): Promise<void> {
    const history = await api.versions(scenarioId);
    clear(element);
    const name = el("input", { id: "version-name", placeholder: "version name", "aria-label": "Name of the version to save" }) as HTMLInputElement;
    const diffOut = el("div", { id: "diff" });
    const undoRestore = lastRestore && canEdit ? el("p", { id: "restore-note", role: "status" },
      `v${lastRestore.restored.number} was restored; the edits before it are v${lastRestore.before.number}. `,
      el("button", { id: "undo-restore", onclick: () => lastRestore && void restore(lastRestore.before) }, "Undo the restore")) : null;
    element.append(el("div", { class: "panel" }, el("h3", {}, "Versions"),
      undoRestore,
      canEdit ? el("div", { class: "form" }, name, el("button", { id: "save-version", onclick: () => attempt(ctx, async () => {
        await api.saveVersion(scenarioId, name.value); await refresh();
      }) }, "Save version")) : null,
      el("ul", { class: "items", id: "version-list" }, ...history.map((v: VersionInfo, k: number) => el("li", { "data-version": v.version_id },
        el("span", {}, `v${v.number} ${v.name}`, el("br"), el("span", { class: "meta" }, `${v.author} · ${new Date(v.created_at_s * 1000).toLocaleString()} · ${v.edit_count} edits`)),
        el("span", {},
          k + 1 < history.length ? el("button", { onclick: async () => showDiff(ctx, await api.diff(history[k + 1].version_id, v.version_id), diffOut) }, "Diff") : null,
          canEdit ? el("button", { onclick: () => attempt(ctx, async () => {
            await api.startRun(scenarioId, v.version_id, "static", [1, 2, 3]); ctx.toast(`Run of v${v.number} started (Runs tab)`, "info");
          }) }, "Run") : null,
          canEdit ? el("button", { class: "restore", "aria-label": `Restore v${v.number} ${v.name}`, onclick: () => void restore(v) }, "Restore") : null,
          el("button", { onclick: async () => {
            const forked = await api.fork(v.version_id, `${ctx.scenario.name} (fork of v${v.number})`);
            location.hash = `#/s/${forked.scenario_id}`;
          } }, "Fork"))))), diffOut));
  }
  /** After a confirmation, make everyone's document hold the version's edits again (the server saves the
   * edits as they were first, as a version: restoring that one undoes the restore). */
  async function restore(v: VersionInfo): Promise<void> {
    if (!(await confirmDialog(`Restore v${v.number}?`, `The scenario's edits become those of v${v.number} “${v.name}” (${v.edit_count} edits) for everyone here now. ` +
      "The current edits are saved first as a version, so you can restore them afterwards.", `Restore v${v.number}`))) return;
    await attempt(ctx, async () => {
      const result = await api.restoreVersion(v.version_id);
      lastRestore = result.before ? { restored: v, before: result.before } : null;
      ctx.toast(result.before
        ? `Restored v${v.number}: ${result.added} edits back, ${result.removed} removed, ${result.changed} changed.`
        : `The edits already were those of v${v.number}.`, "info");
      await refresh();
    });
  }
  return { element, refresh };
}

function showDiff(ctx: ScenarioContext, diff: Record<string, unknown>, out: HTMLElement): void {
  clear(out);
  const list = (title: string, items: { id: string; edit?: Record<string, unknown>; after?: Record<string, unknown> }[]) =>
    el("div", {}, el("b", {}, `${title} (${items.length})`), el("ul", {}, ...items.map((item) =>
      el("li", {}, describeEdit((item.edit ?? item.after ?? {}) as Record<string, unknown>, ctx.twin)))));
  out.append(el("div", { class: "panel" }, list("Added", diff.added as never), list("Removed", diff.removed as never), list("Changed", diff.changed as never),
    diff.kpi_difference ? el("table", { class: "kpis" }, el("tr", {}, el("th", {}, "KPI"), el("th", {}, "a"), el("th", {}, "b"), el("th", {}, "b − a")),
    ...Object.entries(diff.kpi_difference as Record<string, { a: number; b: number; b_minus_a: number }>).filter(([k]) => k.endsWith(".mean"))
      .map(([k, v]) => el("tr", {}, el("td", {}, k), el("td", {}, formatNumber(v.a)), el("td", {}, formatNumber(v.b)), el("td", {}, formatNumber(v.b_minus_a))))) : el("p", { class: "hint" }, "Run both versions to compare KPIs.")));
}
