// REST client of public consultations: what visitors read and write (/api/public/*, no account; each write
// carries a solved proof-of-work challenge) and the owner's side (publish, moderate, answer, export).

import { solveChallenge } from "./public/pow";
import type { KpiTableRow } from "./api";

export interface Reactions { support: number; oppose: number }
export interface PublicComment {
  comment_id: number; text: string; lon: number; lat: number; created_at_s: number;
  answer: string | null; answered_by: string | null; answered_at_s: number | null;
}
export interface OwnerComment extends PublicComment { status: "pending" | "approved" | "rejected"; visitor: string }
export interface ConsultationSummary {
  scenario_id: number; twin_id: string; name: string; description: string; owner: string;
  published_at_s: number; reactions: Reactions; comments: number;
}
export interface Consultation {
  scenario_id: number; twin_id: string; name: string; description: string; published_at_s: number;
  bounds: [number, number, number, number]; reactions: Reactions; your_stance: "support" | "oppose" | null;
  results: { run_id: number; finished_at_s: number; engine: string | null; kpi_table: KpiTableRow[]; report: boolean } | null;
  comments: PublicComment[];
}

async function send<T>(method: string, path: string, body?: unknown): Promise<T> {
  const response = await fetch(path, {
    method, credentials: "same-origin",
    headers: body === undefined ? {} : { "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok) {
    let detail = `${response.status} ${response.statusText}`;
    try {
      const data = await response.json();
      detail = typeof data.detail === "string" ? data.detail : "invalid input";
    } catch { /* not JSON */ }
    throw new Error(detail);
  }
  return (await response.json()) as T;
}

/** A fresh challenge, solved (the body fields every public write carries). */
async function solved(): Promise<{ challenge: string; solution: string }> {
  const issued = await send<{ challenge: string; bits: number }>("GET", "/api/public/challenge");
  return { challenge: issued.challenge, solution: await solveChallenge(issued.challenge, issued.bits) };
}

export const consultApi = {
  list: () => send<ConsultationSummary[]>("GET", "/api/public/consultations"),
  get: (id: number) => send<Consultation>("GET", `/api/public/consultations/${id}`),
  comment: async (id: number, text: string, at: [number, number]) =>
    send<PublicComment & { status: string }>("POST", `/api/public/consultations/${id}/comments`, { text, lon: at[0], lat: at[1], ...(await solved()) }),
  react: async (id: number, stance: "support" | "oppose" | null) =>
    send<{ reactions: Reactions; your_stance: string | null }>("PUT", `/api/public/consultations/${id}/reaction`, { stance, ...(await solved()) }),
  publish: (id: number, published: boolean) =>
    send<{ published_at_s: number | null }>("PUT", `/api/scenarios/${id}/publication`, { published }),
  ownerComments: (id: number) => send<OwnerComment[]>("GET", `/api/scenarios/${id}/public-comments`),
  moderate: (id: number, commentId: number, changes: { status?: string; answer?: string | null }) =>
    send<OwnerComment>("PATCH", `/api/scenarios/${id}/public-comments/${commentId}`, changes),
  exportUrl: (id: number, format: "csv" | "geojson") => `/api/scenarios/${id}/public-export?format=${format}`,
};
