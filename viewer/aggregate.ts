import type { RequestSummary } from '../core/record.js';
import {
  type DashboardQuery,
  DEFAULT_QUERY,
  type HistorySortKey,
  matchesQuery,
  type PathSortKey,
  type RpcSortKey,
  type Sort,
} from './dashboard-query.js';
import { DEFAULT_MIN_RUN, repeatedCallNames } from './findings.js';

/**
 * Parts -> the dashboard's three tables. Pure and single-pass over the records so 1000 parts cost
 * little next to fetching them.
 */

/** One call name across requests, with its per-path breakdown (the original's expandable row). */
export interface RpcRow {
  service_call_name: string;
  count: number;
  total_ms: number;
  mean_ms: number;
  cost: number;
  cost_percent: number;
  by_path: { path: string; count: number; total_ms: number; cost: number }[];
}

/** One path (method + route or path) across requests, with its per-call breakdown. */
export interface PathRow {
  /** `GET /user`: what the row stands for and what it groups by. */
  path: string;
  method: string;
  requests: number;
  calls: number;
  cost: number;
  cost_percent: number;
  mean_ms: number;
  p50_ms: number;
  p95_ms: number;
  p99_ms: number;
  /** Requests answered 5xx or whose root span ended in error. */
  errors: number;
  error_rate: number;
  /** Newest first, at most `MAX_RECENT`: their history numbers and start times. */
  recent: { n: number; start: number }[];
  by_rpc: { service_call_name: string; count: number; total_ms: number; cost: number }[];
  /** Call names made `minRun`+ times in one request of this path: suspected N+1 or duplicates. */
  repeated: { service_call_name: string; max_per_request: number; requests: number }[];
}

/** One request of the history: its part, its number (newest = 1), and totals of its calls. */
export interface HistoryRow {
  n: number;
  summary: RequestSummary;
  calls: number;
  cost: number;
}

export interface Dashboard {
  /** Records that passed the filters (all when unfiltered). */
  requests: number;
  calls: number;
  cost: number;
  rpcs: RpcRow[];
  paths: PathRow[];
  history: HistoryRow[];
  /** Methods and status classes seen in all records, for the filter form. */
  methods: string[];
}

export const MAX_RECENT = 5;

/** Nearest-rank percentile of ascending values. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

export function pathKeyOf(summary: Pick<RequestSummary, 'http_method' | 'http_path' | 'http_route'>): string {
  const path = summary.http_route ?? summary.http_path;
  return summary.http_method ? `${summary.http_method} ${path}` : path;
}

function isError(summary: RequestSummary): boolean {
  return summary.http_status >= 500 || summary.was_successful === false;
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}

function compare(a: number | string, b: number | string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Sorts by one key, then by a stable tie-breaker, in place. */
function sortBy<T>(
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

const HISTORY_VALUE: Record<HistorySortKey, (row: HistoryRow) => number | string> = {
  time: (row) => row.summary.start_timestamp_milliseconds,
  method: (row) => row.summary.http_method,
  path: (row) => row.summary.http_path,
  status: (row) => row.summary.http_status,
  duration: (row) => row.summary.duration_milliseconds,
  overhead: (row) => row.summary.overhead_walltime_milliseconds,
  calls: (row) => row.calls,
  cost: (row) => row.cost,
};

const PATH_VALUE: Record<PathSortKey, (row: PathRow) => number | string> = {
  path: (row) => row.path,
  requests: (row) => row.requests,
  calls: (row) => row.calls,
  cost: (row) => row.cost,
  mean: (row) => row.mean_ms,
  p50: (row) => row.p50_ms,
  p95: (row) => row.p95_ms,
  p99: (row) => row.p99_ms,
  errors: (row) => row.error_rate,
};

const RPC_VALUE: Record<RpcSortKey, (row: RpcRow) => number | string> = {
  name: (row) => row.service_call_name,
  count: (row) => row.count,
  total: (row) => row.total_ms,
  mean: (row) => row.mean_ms,
  cost: (row) => row.cost,
};

interface PathAccumulator {
  row: PathRow;
  durations: number[];
  byRpc: Map<string, { service_call_name: string; count: number; total_ms: number; cost: number }>;
  repeated: Map<string, { service_call_name: string; max_per_request: number; requests: number }>;
}

/**
 * Builds the dashboard from parts (any order). Filters apply first, so every table describes the
 * same requests; the history is numbered newest first whatever it is sorted by.
 */
export function aggregateDashboard(
  summaries: readonly RequestSummary[],
  query: DashboardQuery = DEFAULT_QUERY,
  minRun: number = DEFAULT_MIN_RUN,
): Dashboard {
  const methods = new Set<string>();
  const kept: RequestSummary[] = [];
  for (const summary of summaries) {
    if (summary.http_method) methods.add(summary.http_method);
    if (matchesQuery(summary, query)) kept.push(summary);
  }
  kept.sort((a, b) => b.start_timestamp_milliseconds - a.start_timestamp_milliseconds);

  const rpcs = new Map<string, RpcRow & { paths: Map<string, RpcRow['by_path'][number]> }>();
  const paths = new Map<string, PathAccumulator>();
  const history: HistoryRow[] = [];
  let totalCalls = 0;
  let totalCost = 0;

  kept.forEach(function accumulate(summary, index) {
    const n = index + 1;
    const pathKey = pathKeyOf(summary);
    let path = paths.get(pathKey);
    if (!path) {
      path = {
        row: {
          path: pathKey,
          method: summary.http_method,
          requests: 0,
          calls: 0,
          cost: 0,
          cost_percent: 0,
          mean_ms: 0,
          p50_ms: 0,
          p95_ms: 0,
          p99_ms: 0,
          errors: 0,
          error_rate: 0,
          recent: [],
          by_rpc: [],
          repeated: [],
        },
        durations: [],
        byRpc: new Map(),
        repeated: new Map(),
      };
      paths.set(pathKey, path);
    }
    let calls = 0;
    let cost = 0;
    for (const stat of summary.rpc_stats) {
      const count = stat.total_amount_of_calls;
      const statCost = stat.total_cost_of_calls_microdollars;
      const statMs = stat.total_duration_milliseconds ?? 0;
      calls += count;
      cost += statCost;
      let rpc = rpcs.get(stat.service_call_name);
      if (!rpc) {
        rpc = {
          service_call_name: stat.service_call_name,
          count: 0,
          total_ms: 0,
          mean_ms: 0,
          cost: 0,
          cost_percent: 0,
          by_path: [],
          paths: new Map(),
        };
        rpcs.set(stat.service_call_name, rpc);
      }
      rpc.count += count;
      rpc.total_ms += statMs;
      rpc.cost += statCost;
      const rpcPath = rpc.paths.get(pathKey);
      if (rpcPath) {
        rpcPath.count += count;
        rpcPath.total_ms += statMs;
        rpcPath.cost += statCost;
      } else rpc.paths.set(pathKey, { path: pathKey, count, total_ms: statMs, cost: statCost });
      const pathRpc = path.byRpc.get(stat.service_call_name);
      if (pathRpc) {
        pathRpc.count += count;
        pathRpc.total_ms += statMs;
        pathRpc.cost += statCost;
      } else
        path.byRpc.set(stat.service_call_name, {
          service_call_name: stat.service_call_name,
          count,
          total_ms: statMs,
          cost: statCost,
        });
    }
    for (const repeated of repeatedCallNames(summary, minRun)) {
      const seen = path.repeated.get(repeated.service_call_name);
      if (seen) {
        seen.requests++;
        seen.max_per_request = Math.max(seen.max_per_request, repeated.count);
      } else
        path.repeated.set(repeated.service_call_name, {
          service_call_name: repeated.service_call_name,
          max_per_request: repeated.count,
          requests: 1,
        });
    }
    const row = path.row;
    row.requests++;
    row.calls += calls;
    row.cost += cost;
    if (isError(summary)) row.errors++;
    if (row.recent.length < MAX_RECENT) row.recent.push({ n, start: summary.start_timestamp_milliseconds });
    path.durations.push(summary.duration_milliseconds);
    totalCalls += calls;
    totalCost += cost;
    history.push({ n, summary, calls, cost: round(cost) });
  });

  const rpcRows: RpcRow[] = [];
  for (const { paths: byPath, ...rpc } of rpcs.values()) {
    const rows = [...byPath.values()].map((p) => ({
      ...p,
      total_ms: round(p.total_ms),
      cost: round(p.cost),
    }));
    rows.sort((a, b) => b.count - a.count || compare(a.path, b.path));
    rpcRows.push({
      ...rpc,
      total_ms: round(rpc.total_ms),
      mean_ms: rpc.count > 0 ? round(rpc.total_ms / rpc.count) : 0,
      cost: round(rpc.cost),
      cost_percent: totalCost > 0 ? (rpc.cost / totalCost) * 100 : 0,
      by_path: rows,
    });
  }
  sortBy(rpcRows, query.rpcSort, RPC_VALUE[query.rpcSort.key], (row) => row.service_call_name);

  const pathRows: PathRow[] = [];
  for (const { row, durations, byRpc, repeated } of paths.values()) {
    const sum = durations.reduce((a, b) => a + b, 0);
    durations.sort((a, b) => a - b);
    const rpcRowsOfPath = [...byRpc.values()].map((r) => ({
      ...r,
      total_ms: round(r.total_ms),
      cost: round(r.cost),
    }));
    rpcRowsOfPath.sort((a, b) => b.count - a.count || compare(a.service_call_name, b.service_call_name));
    pathRows.push({
      ...row,
      cost: round(row.cost),
      cost_percent: totalCost > 0 ? (row.cost / totalCost) * 100 : 0,
      mean_ms: round(sum / durations.length),
      p50_ms: percentile(durations, 50),
      p95_ms: percentile(durations, 95),
      p99_ms: percentile(durations, 99),
      error_rate: row.errors / row.requests,
      by_rpc: rpcRowsOfPath,
      repeated: [...repeated.values()].sort((a, b) => b.max_per_request - a.max_per_request),
    });
  }
  sortBy(pathRows, query.pathSort, PATH_VALUE[query.pathSort.key], (row) => row.path);

  const historySort = query.historySort;
  if (historySort.key !== 'time' || !historySort.descending)
    sortBy(history, historySort, HISTORY_VALUE[historySort.key], (row) => row.n);

  return {
    requests: kept.length,
    calls: totalCalls,
    cost: round(totalCost),
    rpcs: rpcRows,
    paths: pathRows,
    history,
    methods: [...methods].sort(),
  };
}
