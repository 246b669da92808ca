// REST client of the Meta Liverpool API (same origin; the session token travels as an HttpOnly cookie).

import type { SignalProposal } from "./live";

export interface User { user_id: number; name: string; colour: string }
export interface Member { name: string; colour: string; role: string }
export interface ScenarioInfo {
  scenario_id: number; twin_id: string; name: string; description: string; owner: string;
  visibility: "private" | "shared"; role: "owner" | "editor" | "viewer"; members: Member[];
  forked_from_version_id: number | null; created_at_s: number; published_at_s: number | null;
}
export interface TwinInfo { twin_id: string; region: string; bounds: [number, number, number, number]; counts: Record<string, number>; calibration: string; layers: string[] }
export interface VersionInfo { version_id: number; scenario_id: number; number: number; name: string; author: string; created_at_s: number; edit_count: number }
export interface RestoreResult {
  scenario_id: number; restored: VersionInfo; added: number; removed: number; changed: number; before: VersionInfo | null;
}
/** One KPI as people read it (`kpi_table` of a run: `metaliverpool.scenario.kpi_labels`). */
export interface KpiTableRow {
  key: string; label: string; unit: string; baseline: number | null; scenario: number | null; change: number | null;
  interval: [number, number] | null; display: { baseline: string; scenario: string; change: string; interval: string };
}
/** One row of a decomposed run: the package without the AI loop, what the loop adds, the whole (rounded text). */
export interface DecompositionRow { key: string; label: string; unit: string; package_without_loop: string; loop_adds: string; whole: string }
export interface RunInfo {
  run_id: number; scenario_id: number; version_id: number | null; status: string; progress: number;
  message: string; config: { run?: { engine?: string; decompose?: boolean } }; kpis: Record<string, unknown>;
  kpi_table: KpiTableRow[]; decomposition_table: DecompositionRow[]; outputs: string[]; created_at_s: number; finished_at_s: number | null;
}
/** The verdict of `POST /api/scenarios/{id}/check` on one edit (numbered from 1 in the editor's order). */
export interface EditCheck { edit: number; kind: string; label: string; title: string; status: "ok" | "refused"; message: string; field: string }
export interface CheckResult { ok: boolean; engine: string; edits: EditCheck[] }

export interface ForecastInfo {
  name: string; usable: boolean; reason?: string; model: string; quantity: string; horizons_min: number[];
  interval_s: number; sensors: number; train_time_s: number | null;
  validation: Record<string, { mae: number; rmse: number; mape_pct: number }>;
  origins: { row: number[]; day: number[]; day_of_week: number[]; clock_s: number[] };
}
export interface ForecastSnapshot {
  name: string; row: number; horizon_min: number; clock_s: number; target_clock_s: number; day: number;
  day_of_week: number; quantity: string; link_id: number[]; observed_now: (number | null)[]; forecast: (number | null)[];
  observed_target: (number | null)[] | null; reference: (number | null)[]; events_target: (number | null)[];
  level_now: (number | null)[]; level_forecast: (number | null)[]; level_observed_target: (number | null)[] | null;
  band_counts: Record<string, number>; mae_vs_observed?: number | null;
}

export class ApiError extends Error {
  constructor(public status: number, message: string) { super(message); }
}

export async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  const response = await fetch(path, {
    method,
    credentials: "same-origin",
    headers: body === undefined ? {} : { "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok) {
    let detail = response.statusText;
    try {
      const data = await response.json();
      detail = typeof data.detail === "string" ? data.detail : JSON.stringify(data.detail);
    } catch { /* not JSON */ }
    throw new ApiError(response.status, detail);
  }
  if (response.status === 204) return undefined as T;
  return (await response.json()) as T;
}

export const api = {
  me: () => call<User>("GET", "/api/users/me"),
  signUp: (name: string, password: string) => call<User>("POST", "/api/auth/signup", { name, password }),
  signIn: (name: string, password: string) => call<{ token: string; user: User }>("POST", "/api/auth/signin", { name, password }),
  signOut: () => call<void>("POST", "/api/auth/signout"),
  twins: () => call<TwinInfo[]>("GET", "/api/twins"),
  twin: (id: string) => call<TwinInfo>("GET", `/api/twins/${id}`),
  scenarios: () => call<ScenarioInfo[]>("GET", "/api/scenarios"),
  scenario: (id: number) => call<ScenarioInfo>("GET", `/api/scenarios/${id}`),
  createScenario: (twin_id: string, name: string, visibility: string) =>
    call<ScenarioInfo>("POST", "/api/scenarios", { twin_id, name, visibility }),
  patchScenario: (id: number, changes: Record<string, unknown>) => call<ScenarioInfo>("PATCH", `/api/scenarios/${id}`, changes),
  setMember: (id: number, name: string, role: string) => call<ScenarioInfo>("PUT", `/api/scenarios/${id}/members/${encodeURIComponent(name)}`, { role }),
  removeMember: (id: number, name: string) => call<void>("DELETE", `/api/scenarios/${id}/members/${encodeURIComponent(name)}`),
  deleteScenario: (id: number) => call<void>("DELETE", `/api/scenarios/${id}`),
  findUsers: (prefix: string) => call<{ name: string; colour: string }[]>("GET", `/api/users?prefix=${encodeURIComponent(prefix)}`),
  versions: (id: number) => call<VersionInfo[]>("GET", `/api/scenarios/${id}/versions`),
  saveVersion: (id: number, name: string) => call<VersionInfo>("POST", `/api/scenarios/${id}/versions`, { name }),
  restoreVersion: (versionId: number) => call<RestoreResult>("POST", `/api/versions/${versionId}/restore`),
  fork: (versionId: number, name: string) => call<ScenarioInfo>("POST", `/api/versions/${versionId}/fork`, { name }),
  diff: (a: number, b: number) => call<Record<string, unknown>>("GET", `/api/versions/diff?a=${a}&b=${b}`),
  runs: (id: number) => call<RunInfo[]>("GET", `/api/scenarios/${id}/runs`),
  startRun: (id: number, versionId: number | null, engine: string, seeds: number[], decompose = false) =>
    call<RunInfo>("POST", `/api/scenarios/${id}/runs`, { version_id: versionId, engine, seeds: seeds.length ? seeds : undefined, decompose: decompose || undefined }),
  checkEdits: (id: number, edits: Record<string, unknown>[], engine: string) =>
    call<CheckResult>("POST", `/api/scenarios/${id}/check`, { edits, engine }),
  run: (runId: number) => call<RunInfo>("GET", `/api/runs/${runId}`),
  forecasts: (twinId: string) => call<ForecastInfo[]>("GET", `/api/twins/${twinId}/forecasts`),
  forecastSnapshot: (twinId: string, name: string, row: number, horizonMin: number) =>
    call<ForecastSnapshot>("GET", `/api/twins/${twinId}/forecasts/${encodeURIComponent(name)}/snapshot?row=${row}&horizon_min=${horizonMin}`),
  decideProposal: (twinId: string, proposalId: number, decision: "approve" | "reject") =>
    call<SignalProposal>("POST", `/api/twins/${twinId}/signals/proposals/${proposalId}/decision`, { decision }),
  async layer(twinId: string, name: string): Promise<ArrayBuffer> {
    const response = await fetch(`/api/twins/${twinId}/layers/${name}`, { credentials: "same-origin" });
    if (!response.ok) throw new ApiError(response.status, `layer ${name}: ${response.statusText}`);
    return response.arrayBuffer();
  },
  async output(runId: number, name: string): Promise<ArrayBuffer> {
    const response = await fetch(`/api/runs/${runId}/outputs/${name}`, { credentials: "same-origin" });
    if (!response.ok) throw new ApiError(response.status, `output ${name}: ${response.statusText}`);
    return response.arrayBuffer();
  },
};
