import type { HistorySortKey, PathSortKey, RpcSortKey, Sort } from './dashboard-query.js';
import type { HistoryRow, PathRow, RpcRow } from './dashboard-rows.js';

/** How each dashboard table sorts by each of its keys (the URL's `hsort`, `psort`, `rsort`). */

export function compare(a: number | string, b: number | string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Sorts by one key, then by a stable tie-breaker, in place. */
export function sortBy<T>(
  rows: T[],
  sort: Sort<string>,
  value: (row: T) => number | string,
  tie: (row: T) => string | number,
) {
  const sign = sort.descending ? -1 : 1;
  rows.sort(function byKey(a, b) {
    return sign * compare(value(a), value(b)) || compare(tie(a), tie(b));
  });
}

export const HISTORY_VALUE: Record<HistorySortKey, (row: HistoryRow) => number | string> = {
  time: (row) => row.summary.start_timestamp_milliseconds,
  method: (row) => row.summary.http_method,
  path: (row) => row.summary.http_path,
  status: (row) => row.summary.http_status,
  duration: (row) => row.summary.duration_milliseconds,
  overhead: (row) => row.summary.overhead_walltime_milliseconds,
  calls: (row) => row.calls,
  cost: (row) => row.cost,
};

export const PATH_VALUE: Record<PathSortKey, (row: PathRow) => number | string> = {
  path: (row) => row.path,
  requests: (row) => row.requests,
  calls: (row) => row.calls,
  cost: (row) => row.cost,
  mean: (row) => row.mean_ms,
  inflight: (row) => row.in_flight_ms ?? -1,
  p50: (row) => row.p50_ms,
  p95: (row) => row.p95_ms,
  p99: (row) => row.p99_ms,
  errors: (row) => row.error_rate,
};

export const RPC_VALUE: Record<RpcSortKey, (row: RpcRow) => number | string> = {
  name: (row) => row.service_call_name,
  count: (row) => row.count,
  total: (row) => row.total_ms,
  mean: (row) => row.mean_ms,
  cost: (row) => row.cost,
};
