// Animated vehicles of a run (one recorded simulation of the scenario) with a time slider and play/pause.
// The layer is fetched and flattened in a worker; playback advances the clock once per animation frame
// and changes nothing but the TripsLayer's current time, so a frame stays cheap and Pause acts at once.

import { el, clear } from "../dom";
import type { ScenarioContext } from "../context";
import type { VehicleTrips } from "../vehicle_trips";

export interface Vehicles {
  show(runId: number): Promise<void>;
  stop(): void;
}

/** Simulated seconds shown per second of playback. */
const PLAYBACK_SPEED = 200;

function loadTrips(runId: number): Promise<VehicleTrips | null> {
  const worker = new Worker(new URL("../vehicles_worker.ts", import.meta.url), { type: "module" });
  return new Promise((resolve) => {
    worker.onmessage = (event: MessageEvent<{ trips?: VehicleTrips }>) => { worker.terminate(); resolve(event.data.trips ?? null); };
    worker.onerror = () => { worker.terminate(); resolve(null); };
    worker.postMessage({ runId });
  });
}

/** The slider is drawn into `slider`, over the map. */
export function vehicles(ctx: ScenarioContext, slider: HTMLElement): Vehicles {
  let frame: number | null = null;
  const playback = { playing: false, pausedAtMs: 0 };
  ctx.hooks.playback = playback;
  const halt = () => {
    if (frame !== null) window.cancelAnimationFrame(frame);
    frame = null; playback.playing = false; playback.pausedAtMs = performance.now();
  };
  async function show(runId: number): Promise<void> {
    const { view } = ctx;
    const trips = await loadTrips(runId);
    if (trips === null) { ctx.toast("This run has no vehicle animation"); return; }
    view.vehicles = trips;
    const first = Math.floor(trips.first_s), last = Math.ceil(trips.last_s);
    clear(slider);
    const range = el("input", { type: "range", id: "time", min: first, max: last, value: first, step: 1, style: "width:320px", "aria-label": "Time of day" }) as HTMLInputElement;
    const label = el("span", { id: "clock" });
    let shownMinute = -1;
    const setTime = (t: number) => {
      view.time_s = t;
      const minutes = Math.floor(t / 60);
      if (minutes !== shownMinute) { // the slider and clock change once a simulated minute, not every frame
        shownMinute = minutes; range.value = String(Math.round(t));
        label.textContent = ` ${String(7 + Math.floor(minutes / 60)).padStart(2, "0")}:${String(minutes % 60).padStart(2, "0")} · ${trips.recorded} vehicles`;
      }
      ctx.renderVehicles();
    };
    range.addEventListener("input", () => setTime(Number(range.value)));
    const play = el("button", { id: "play", "aria-pressed": "false" }, "Play") as HTMLButtonElement;
    const tick = (previousMs: number) => (nowMs: number) => {
      const next = view.time_s + ((nowMs - previousMs) / 1000) * PLAYBACK_SPEED;
      setTime(next >= last ? first : next);
      frame = window.requestAnimationFrame(tick(nowMs));
    };
    play.addEventListener("click", () => {
      if (playback.playing) halt();
      else { playback.playing = true; frame = window.requestAnimationFrame(tick(performance.now())); }
      play.textContent = playback.playing ? "Pause" : "Play";
      play.setAttribute("aria-pressed", String(playback.playing));
    });
    slider.append(play, " ", range, label);
    slider.style.display = "block";
    setTime(first);
  }
  return { show, stop: halt };
}
