/**
 * How numbers and times read on the pages. Pure: every page formats the same way, and tests can
 * assert on exact text.
 */

/** Milliseconds with the precision that matters at their size: 0.213, 12.35, 1234. */
export function formatMs(ms: number): string {
  if (!Number.isFinite(ms)) return '?';
  const abs = Math.abs(ms);
  if (abs >= 1000) return ms.toFixed(0);
  if (abs >= 100) return ms.toFixed(1);
  if (abs >= 10) return ms.toFixed(2);
  return ms.toFixed(3);
}

/** Microdollars, the record's cost unit; whole numbers stay whole. */
export function formatCost(microdollars: number): string {
  if (!Number.isFinite(microdollars)) return '?';
  if (Number.isInteger(microdollars)) return String(microdollars);
  return microdollars.toFixed(microdollars >= 100 ? 1 : 2).replace(/\.?0+$/, '');
}

export function formatPercent(part: number, whole: number): string {
  if (!(whole > 0)) return '0.0%';
  return `${((part / whole) * 100).toFixed(1)}%`;
}

/** `2026-11-26 07:11:27.144` in UTC (the page says so): one clock for every reader of a shared viewer. */
export function formatTimestamp(startMs: number): string {
  const date = new Date(startMs);
  if (Number.isNaN(date.getTime())) return String(startMs);
  return date.toISOString().replace('T', ' ').replace('Z', '');
}

/** The request line of the original: path plus `?query` when there is one. */
export function pathWithQuery(path: string, query: string): string {
  return query ? `${path}?${query}` : path;
}

/** `200` -> `2xx`; 0 (no status: not HTTP, or the request never answered) -> `none`. */
export function statusClass(status: number): string {
  return status >= 100 && status < 600 ? `${Math.floor(status / 100)}xx` : 'none';
}
