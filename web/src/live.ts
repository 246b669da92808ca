// The live twin's stream (server-sent events from GET /api/twins/{id}/live/stream): the network state each
// time the live state loop refreshes it, and the signal proposals each time they change. Shared by the
// Live tab's two panels (panels/live_state.ts, panels/signal_proposals.ts).

export interface HorizonScore {
  horizon_min: number; method: "persistence" | "trend"; recent_mae_kmh: number | null;
  persistence_mae_kmh: number | null; matured: number;
}
export interface LiveState {
  twin_id: string; refreshed_unix_s: number; interval_s: number; link_id: number[]; detector: number[];
  detectors: number; level_pct: Record<string, number[]>; horizons: HorizonScore[]; shown_min: number[];
}
export interface PlanStage { green_s: number; amber_s: number; all_red_s: number; approaches: string[] }
export interface SignalPlanJson { cycle_s: number; offset_s: number; stages: PlanStage[] }
export interface PeriodEffect { travel_time_s: number; vehicles: number; mean_travel_time_s: number; max_queue_veh: Record<string, number> }
export interface AuditRow { audit_id: number; event: string; actor: string; at_unix_s: number; detail: Record<string, unknown> }
export interface SignalProposal {
  proposal_id: number; junction_id: number; junction_name: string; status: "proposed" | "approved" | "rejected";
  created_unix_s: number; period_start_unix_s: number; period_s: number; decided_by: string | null;
  decided_unix_s: number | null; published_unix_s: number | null; current_plan: SignalPlanJson; proposed_plan: SignalPlanJson;
  effect: {
    without: PeriodEffect; with: PeriodEffect; saving_s: number; queue_cap_veh: Record<string, number>;
    approach_streets: Record<string, string>; candidates: number; breaking_queue_cap: number; forecast_level: number;
  };
  audit: AuditRow[];
}

/** Open the stream; returns the function that closes it. `onClosed` hears why it stopped for good. */
export function openLiveStream(twinId: string, onState: (state: LiveState) => void,
  onProposals: (proposals: SignalProposal[]) => void, onClosed: (message: string) => void): () => void {
  const source = new EventSource(`/api/twins/${encodeURIComponent(twinId)}/live/stream`, { withCredentials: true });
  source.addEventListener("state", (event) => onState(JSON.parse((event as MessageEvent).data) as LiveState));
  source.addEventListener("proposals", (event) => onProposals(JSON.parse((event as MessageEvent).data) as SignalProposal[]));
  source.onerror = () => {
    if (source.readyState === EventSource.CLOSED) onClosed("No live feed on this server (it was started without --live-db).");
  };
  return () => source.close();
}

/** Feed time as HH:MM:SS UTC. */
export function utcClock(unixS: number): string {
  return new Date(unixS * 1000).toISOString().slice(11, 19);
}
