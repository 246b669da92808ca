// KPIs of a run (kpis.json, schema metaliverpool.kpis/1): equity by IMD decile, and number formatting for
// what the server does not label (the rows people read come labelled and rounded in the run's `kpi_table`).

export interface EquityRow { imd_decile: number; population: number; mean: number; lower: number; upper: number }

/** Mean change in journey time by IMD decile (1 = most deprived), with its interval. */
export function equityRows(kpis: Record<string, unknown>): EquityRow[] {
  const equity = kpis.equity as Record<string, unknown> | undefined;
  const rows = equity?.journey_change_s;
  return Array.isArray(rows) ? (rows as EquityRow[]) : [];
}

/** A number for people: thousands separated, 1 decimal from 10, 2 below, "0" for what rounds to zero, "–" when missing. */
export function formatNumber(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return "–";
  const size = Math.abs(value);
  const decimals = size >= 1000 ? 0 : size >= 10 ? 1 : 2;
  const rounded = Number(value.toFixed(decimals));
  if (rounded === 0) return "0";
  return rounded.toLocaleString("en-GB", { minimumFractionDigits: 0, maximumFractionDigits: decimals });
}
