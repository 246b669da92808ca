// The Live tab's state panel: the network now and +15, +30, +60 minutes from the live state loop, drawn on the
// links in the forecast's congestion bands, with each horizon's method and its recent error against persistence.

import { clear, el } from "../dom";
import { levelColour } from "../forecast";
import type { LiveState } from "../live";
import { utcClock } from "../live";
import type { ScenarioContext } from "../context";

function errorText(value: number | null): string {
  return value === null ? "–" : `${value.toFixed(1)} km/h`;
}

export function liveStatePanel(ctx: ScenarioContext, legend: HTMLElement): {
  element: HTMLElement; onState: (state: LiveState) => void; onClosed: (message: string) => void;
} {
  let state: LiveState | null = null;
  let shown = "0";
  const status = el("p", { class: "hint", id: "live-status" }, "Waiting for the live state…");
  const choices = el("div", { id: "live-horizons" });
  const scores = el("div", { id: "live-scores" });

  function draw(): void {
    if (!state) return;
    const levels = state.level_pct[shown] ?? [];
    const rows: number[] = [];
    const colours: ReturnType<typeof levelColour>[] = [];
    state.link_id.forEach((linkId, k) => {
      const row = ctx.twin.linkRow.get(linkId);
      if (row === undefined) return;
      rows.push(row);
      colours.push(levelColour(levels[k] / 100));
    });
    ctx.view.forecast = { rows, colours };
    ctx.hooks.liveShown = { horizon_min: Number(shown), links: rows.length };
    legend.style.display = "block";
    ctx.render();
  }

  function renderChoices(): void {
    if (!state) return;
    clear(choices);
    for (const minutes of state.shown_min) {
      const key = String(minutes);
      const label = minutes === 0 ? "now" : `+${minutes} min`;
      choices.append(el("label", { style: "margin-right:0.6em" },
        el("input", { type: "radio", name: "live-horizon", value: key, "data-horizon": key, checked: key === shown,
          onchange: () => { shown = key; draw(); } }), ` ${label}`));
    }
    clear(scores);
    const table = el("table", { class: "kpis" }, el("tr", {}, el("th", {}, "ahead"), el("th", {}, "method"),
      el("th", {}, "recent error"), el("th", {}, "persistence"), el("th", {}, "scored")));
    for (const score of state.horizons.filter((h) => state?.shown_min.includes(h.horizon_min))) {
      table.append(el("tr", { "data-horizon": score.horizon_min },
        el("td", {}, `+${score.horizon_min} min`), el("td", {}, score.method),
        el("td", { class: "recent-error" }, errorText(score.recent_mae_kmh)),
        el("td", {}, errorText(score.persistence_mae_kmh)), el("td", {}, String(score.matured))));
    }
    scores.append(table, el("p", { class: "hint" },
      "Error: mean absolute error of the speed forecasts made that far ahead, over the last hour of refreshes, on the links with a detector."));
  }

  function onState(next: LiveState): void {
    state = next;
    ctx.hooks.liveState = { refreshed_unix_s: next.refreshed_unix_s, detectors: next.detectors, links: next.link_id.length };
    status.textContent = `Feed time ${utcClock(next.refreshed_unix_s)} UTC · ${next.detectors} detectors, ` +
      `${next.link_id.length - next.detectors} links filled from the simulation · refreshed every ${Math.round(next.interval_s / 60)} min`;
    renderChoices();
    draw();
  }

  function onClosed(message: string): void {
    status.textContent = message;
  }

  const element = el("div", { class: "panel", id: "live-state" }, el("h3", {}, "Live traffic"), status, choices, scores);
  return { element, onState, onClosed };
}
