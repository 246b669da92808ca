// "Congestion in 30 minutes": the Layers panel's forecast section and the colours of the forecast layer.
// The server forecasts every sensor link of a trained model from its feed (GET .../forecasts/NAME/snapshot);
// the feed of a model trained here is its held-out days, so the panel can also show what happened then.

import { api, type ForecastInfo, type ForecastSnapshot } from "./api";
import { clear, el } from "./dom";

type RGBA = [number, number, number, number];

/** Congestion bands (level = 1 - speed / free-flow speed), as the server names them. */
export const BANDS: { below: number; name: string; colour: RGBA }[] = [
  { below: 0.25, name: "free", colour: [26, 150, 65, 255] },
  { below: 0.5, name: "slow", colour: [240, 200, 0, 255] },
  { below: 0.75, name: "congested", colour: [240, 110, 20, 255] },
  { below: 1.01, name: "severe", colour: [190, 0, 0, 255] },
];
/** Twin times are seconds after 07:00: this is 07:00 as seconds after midnight. */
export const TWIN_DAY_START_S = 7 * 3600;
const UNKNOWN: RGBA = [150, 150, 150, 255];
const DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

export type ForecastView = "forecast" | "now" | "observed";

export interface ForecastLayer {
  /** rows of the twin's links layer, one per sensor link */
  rows: number[];
  colours: RGBA[];
  snapshot: ForecastSnapshot;
  show: ForecastView;
}

export function levelColour(level: number | null): RGBA {
  if (level === null || !Number.isFinite(level)) return UNKNOWN;
  return (BANDS.find((band) => level < band.below) ?? BANDS[BANDS.length - 1]).colour;
}

export function clock(seconds: number): string {
  const minutes = Math.round(seconds / 60);
  return `${String(Math.floor(minutes / 60) % 24).padStart(2, "0")}:${String(minutes % 60).padStart(2, "0")}`;
}

function levels(snapshot: ForecastSnapshot, show: ForecastView): (number | null)[] {
  if (show === "now") return snapshot.level_now;
  if (show === "observed") return snapshot.level_observed_target ?? snapshot.level_forecast.map(() => null);
  return snapshot.level_forecast;
}

function speedText(value: number | null | undefined, quantity: string): string {
  if (value === null || value === undefined) return "–";
  return quantity.startsWith("speed") ? `${(value * 3.6).toFixed(0)} km/h` : value.toFixed(2);
}

/** What the forecast says about one sensor link (index `k` of the snapshot). */
export function forecastDetails(layer: ForecastLayer, k: number, name: string): HTMLElement {
  const s = layer.snapshot;
  const row = (label: string, value: number | null | undefined, level: number | null | undefined) =>
    el("tr", {}, el("td", {}, label), el("td", {}, speedText(value, s.quantity)),
      el("td", {}, level === null || level === undefined ? "–" : `${Math.round(level * 100)}%`));
  return el("div", { class: "panel", id: "forecast-link" }, el("h3", {}, name || "(unnamed)"),
    el("table", { class: "kpis" }, el("tr", {}, el("th", {}, ""), el("th", {}, s.quantity.startsWith("speed") ? "speed" : s.quantity), el("th", {}, "congestion")),
      row(`now ${clock(s.clock_s)}`, s.observed_now[k], s.level_now[k]),
      row(`forecast ${clock(s.target_clock_s)}`, s.forecast[k], s.level_forecast[k]),
      s.observed_target ? row(`observed ${clock(s.target_clock_s)}`, s.observed_target[k], s.level_observed_target?.[k]) : null),
    el("p", { class: "hint" }, `free-flow ${speedText(s.reference[k], s.quantity)}`,
      (s.events_target[k] ?? 0) > 0 ? ` · roadworks: ${Math.round((s.events_target[k] ?? 0) * 100)}% of capacity closed` : ""));
}

/** The forecast section of the Layers panel; `onChange` receives the layer to draw (null = off). */
export async function forecastPanel(twinId: string, linkRow: Map<number, number>,
  onChange: (layer: ForecastLayer | null) => void, onError: (message: string) => void): Promise<HTMLElement> {
  const panel = el("div", { class: "panel", id: "forecast-panel" }, el("h3", {}, "Congestion forecast"));
  let models: ForecastInfo[];
  try {
    models = (await api.forecasts(twinId)).filter((m) => m.usable);
  } catch (error) {
    panel.append(el("p", { class: "error" }, (error as Error).message));
    return panel;
  }
  if (!models.length) {
    panel.append(el("p", { class: "hint", id: "forecast-none" },
      "No trained model on this twin: run `metaliverpool forecast history` then `forecast train --out TWIN/forecasts/NAME` (docs/ai.md)."));
    return panel;
  }
  const on = el("input", { type: "checkbox", id: "forecast-on" }) as HTMLInputElement;
  const modelPick = el("select", { id: "forecast-model", "aria-label": "Forecast model" }, ...models.map((m) => el("option", { value: m.name }, `${m.name} (${m.model}, ${m.sensors} links)`))) as HTMLSelectElement;
  const dayPick = el("select", { id: "forecast-day", "aria-label": "Day of the feed" }) as HTMLSelectElement;
  const horizonPick = el("select", { id: "forecast-horizon", "aria-label": "Forecast horizon" }) as HTMLSelectElement;
  const showPick = el("select", { id: "forecast-show", "aria-label": "What to draw: forecast or observed" }) as HTMLSelectElement;
  const time = el("input", { type: "range", id: "forecast-time", "aria-label": "Time of day in the feed", min: 0, max: 0, step: 1, value: 0, style: "width:100%" }) as HTMLInputElement;
  const timeLabel = el("div", { id: "forecast-clock", class: "hint" });
  const about = el("p", { class: "hint", id: "forecast-about" });
  const summary = el("div", { id: "forecast-summary" });
  let dayRows: number[] = [];

  const current = () => models.find((m) => m.name === modelPick.value) as ForecastInfo;
  const fillModel = () => {
    const m = current();
    clear(dayPick);
    const days = Array.from(new Set(m.origins.day));
    for (const day of days) {
      const first = m.origins.day.indexOf(day);
      dayPick.append(el("option", { value: day }, `${DAYS[m.origins.day_of_week[first]]} (day ${day + 1} of the feed)`));
    }
    clear(horizonPick);
    // the title's "in 30 minutes", or the model's horizon nearest to it
    const preferred = m.horizons_min.reduce((best, h) => (Math.abs(h - 30) < Math.abs(best - 30) ? h : best));
    for (const h of m.horizons_min) horizonPick.append(el("option", { value: h, selected: h === preferred }, `in ${h} min`));
    const score = m.validation[`${horizonPick.value}min`];
    about.textContent = `${m.model} trained in ${m.train_time_s ?? "?"} s on ${m.sensors} sensor links; validation MAE at ${horizonPick.value} min ${score ? score.mae.toFixed(2) : "?"} ${m.quantity}. The feed is held-out days the model never saw: "observed" shows what then happened.`;
    fillDay();
  };
  const fillDay = () => {
    const m = current();
    const day = Number(dayPick.value);
    dayRows = m.origins.row.filter((_, i) => m.origins.day[i] === day);
    time.max = String(Math.max(0, dayRows.length - 1));
    time.value = String(Math.min(Number(time.value), dayRows.length - 1));
    fillShow();
  };
  const fillShow = () => {
    const previous = showPick.value || "forecast";
    clear(showPick);
    showPick.append(el("option", { value: "forecast", selected: previous === "forecast" }, `forecast: congestion in ${horizonPick.value} min`),
      el("option", { value: "now", selected: previous === "now" }, "now: observed congestion"),
      el("option", { value: "observed", selected: previous === "observed" }, `then: what happened ${horizonPick.value} min later`));
    void refresh();
  };
  let asked = 0;
  const refresh = async () => {
    if (!on.checked) { clear(summary); timeLabel.textContent = ""; onChange(null); return; }
    const m = current();
    const row = dayRows[Number(time.value)];
    const ticket = ++asked;
    let snapshot: ForecastSnapshot;
    try {
      snapshot = await api.forecastSnapshot(twinId, m.name, row, Number(horizonPick.value));
    } catch (error) { onError((error as Error).message); return; }
    if (ticket !== asked) return; // a newer request is under way
    const show = showPick.value as ForecastView;
    const level = levels(snapshot, show);
    const rows: number[] = [];
    const colours: RGBA[] = [];
    snapshot.link_id.forEach((id, k) => {
      const r = linkRow.get(id);
      if (r === undefined) return;
      rows.push(r);
      colours.push(levelColour(level[k]));
    });
    timeLabel.textContent = `now ${clock(snapshot.clock_s)} → ${clock(snapshot.target_clock_s)}`;
    clear(summary);
    summary.append(el("div", {}, ...BANDS.map((band) => el("span", { class: "band", "data-band": band.name },
      el("span", { class: "swatch", style: `background:rgb(${band.colour.slice(0, 3).join(",")})` }), ` ${band.name} ${snapshot.band_counts[band.name] ?? 0} `))),
      el("div", { class: "hint" }, `counts are forecast links per band at ${clock(snapshot.target_clock_s)}`,
        snapshot.mae_vs_observed !== undefined && snapshot.mae_vs_observed !== null ? `; mean error vs what happened ${snapshot.mae_vs_observed.toFixed(2)} ${snapshot.quantity}` : ""));
    onChange({ rows, colours, snapshot, show });
  };
  modelPick.addEventListener("change", fillModel);
  dayPick.addEventListener("change", fillDay);
  horizonPick.addEventListener("change", fillShow);
  showPick.addEventListener("change", () => void refresh());
  time.addEventListener("input", () => void refresh());
  on.addEventListener("change", () => void refresh());
  panel.append(el("label", { style: "display:block" }, on, " Show on the map (sensor links drawn wide)"),
    el("div", { class: "form" }, modelPick, horizonPick), el("div", { class: "form" }, dayPick, showPick), time, timeLabel, summary, about);
  fillModel();
  return panel;
}
