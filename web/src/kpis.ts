// KPIs of a run (kpis.json, schema metaliverpool.kpis/1): rows with intervals, and equity by IMD decile.

export interface Interval { mean: number; lower: number; upper: number; n: number; level: number }
export interface KpiRow { group: string; name: string; baseline: Interval | null; scenario: Interval | null; change: Interval }
export interface EquityRow { imd_decile: number; population: number; mean: number; lower: number; upper: number }

const GROUPS = ["network", "journeys", "emissions"];

function isInterval(value: unknown): value is Interval {
  return !!value && typeof value === "object" && typeof (value as Interval).mean === "number";
}

/** One row per KPI that has a change with an interval (baseline and scenario when given). */
export function kpiRows(kpis: Record<string, unknown>): KpiRow[] {
  const rows: KpiRow[] = [];
  for (const group of GROUPS) {
    const metrics = kpis[group] as Record<string, unknown> | undefined;
    if (!metrics || typeof metrics !== "object") continue;
    for (const [name, value] of Object.entries(metrics)) {
      if (isInterval(value)) {
        rows.push({ group, name, baseline: null, scenario: null, change: value });
      } else if (value && typeof value === "object" && isInterval((value as Record<string, unknown>).change)) {
        const triple = value as Record<string, Interval>;
        rows.push({ group, name, baseline: triple.baseline ?? null, scenario: triple.scenario ?? null, change: triple.change });
      }
    }
  }
  return rows;
}

/** Mean change in journey time by IMD decile (1 = most deprived), with its interval. */
export function equityRows(kpis: Record<string, unknown>): EquityRow[] {
  const equity = kpis.equity as Record<string, unknown> | undefined;
  const rows = equity?.journey_change_s;
  return Array.isArray(rows) ? (rows as EquityRow[]) : [];
}

export function formatNumber(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return "–";
  const size = Math.abs(value);
  if (size >= 1000) return value.toFixed(0);
  if (size >= 10) return value.toFixed(1);
  return value.toPrecision(3);
}
