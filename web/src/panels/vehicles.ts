// Animated vehicles of a run (one recorded simulation of the scenario) with a time slider and play/pause.

import { decodeLayer } from "../layers";
import { clear, el } from "../dom";
import type { ScenarioContext } from "../context";

export interface Vehicles {
  show(runId: number): Promise<void>;
  stop(): void;
}

/** The slider is drawn into `slider`, over the map. */
export function vehicles(ctx: ScenarioContext, slider: HTMLElement): Vehicles {
  let playing: number | null = null;
  async function show(runId: number): Promise<void> {
    const { view } = ctx;
    const response = await fetch(`/api/runs/${runId}/layers/vehicles`, { credentials: "same-origin" });
    if (!response.ok) { ctx.toast("This run has no vehicle animation"); return; }
    const layer = decodeLayer(await response.arrayBuffer());
    const start = layer.columns.path_start as Uint32Array;
    const positions = layer.columns.positions as Float32Array;
    const stamps = layer.columns.timestamps_s as Float32Array;
    const ratio = layer.columns.delay_ratio as Float32Array;
    view.vehicles = [];
    let first = Infinity, last = 0;
    for (let i = 0; i < layer.count; i++) {
      if (start[i + 1] <= start[i]) continue;
      const times = stamps.subarray(start[i], start[i + 1]);
      first = Math.min(first, times[0]); last = Math.max(last, times[times.length - 1]);
      const r = Number.isFinite(ratio[i]) ? Math.min(1, Math.max(0, ratio[i] - 1)) : 1;
      view.vehicles.push({ path: positions.subarray(2 * start[i], 2 * start[i + 1]), timestamps: times,
        colour: [Math.round(40 + 200 * r), Math.round(180 - 150 * r), 40, 255] });
    }
    clear(slider);
    const range = el("input", { type: "range", id: "time", min: Math.floor(first), max: Math.ceil(last), value: Math.floor(first), step: 1, style: "width:320px" }) as HTMLInputElement;
    const label = el("span", { id: "clock" });
    const setTime = (t: number) => {
      view.time_s = t; range.value = String(t);
      const minutes = Math.floor(t / 60);
      label.textContent = ` ${String(7 + Math.floor(minutes / 60)).padStart(2, "0")}:${String(minutes % 60).padStart(2, "0")} · ${layer.count} vehicles`;
      ctx.render();
    };
    range.addEventListener("input", () => setTime(Number(range.value)));
    const play = el("button", { id: "play", onclick: () => {
      if (playing !== null) { window.clearInterval(playing); playing = null; return; }
      playing = window.setInterval(() => setTime(Number(range.value) >= last ? first : Number(range.value) + 10), 50);
    } }, "Play/pause");
    slider.append(play, " ", range, label);
    slider.style.display = "block";
    setTime(first);
  }
  return { show, stop: () => { if (playing !== null) window.clearInterval(playing); } };
}
