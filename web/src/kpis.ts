// KPIs of a run (kpis.json): nested objects flattened into named numbers.

export function flattenKpis(data: unknown, prefix = ""): { name: string; value: number }[] {
  if (typeof data === "number") return [{ name: prefix.replace(/\.$/, ""), value: data }];
  if (data && typeof data === "object" && !Array.isArray(data)) {
    return Object.entries(data as Record<string, unknown>).flatMap(([key, value]) => flattenKpis(value, `${prefix}${key}.`));
  }
  return [];
}
