import type { RequestSummary } from '../core/record.js';
import { type DashboardQuery, DEFAULT_QUERY, matchesQuery } from './dashboard-query.js';
import type { Dashboard, HistoryRow, PathRow, RpcRow } from './dashboard-rows.js';
import { compare, HISTORY_VALUE, PATH_VALUE, RPC_VALUE, sortBy } from './dashboard-sort.js';
import { addFindingHints, type HintAccumulator, sortedHints } from './finding-hints.js';
import { addInFlight, hasCost, type InFlight, inFlightOf } from './part-totals.js';

/**
 * Parts -> the dashboard's three tables. Pure and single-pass over the records so 1000 parts cost
 * little next to fetching them.
 */

export type { Dashboard, HistoryRow, PathRow, RpcRow } from './dashboard-rows.js';

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

interface PathAccumulator {
  row: PathRow;
  durations: number[];
  inFlight: InFlight;
  byRpc: Map<string, { service_call_name: string; count: number; total_ms: number; cost: number }>;
  hints: HintAccumulator;
}

/**
 * Builds the dashboard from parts (any order). Filters apply first, so every table describes the
 * same requests; the history is numbered newest first whatever it is sorted by.
 */
export function aggregateDashboard(
  summaries: readonly RequestSummary[],
  query: DashboardQuery = DEFAULT_QUERY,
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
  const totalInFlight: InFlight = { requests: 0, in_flight: 0, duration: 0 };

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
        inFlight: { requests: 0, in_flight: 0, duration: 0 },
        byRpc: new Map(),
        hints: new Map(),
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
    addFindingHints(path.hints, summary);
    addInFlight(path.inFlight, summary);
    addInFlight(totalInFlight, summary);
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
  for (const { row, durations, inFlight, byRpc, hints } of paths.values()) {
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
      ...inFlightOf(inFlight),
      p50_ms: percentile(durations, 50),
      p95_ms: percentile(durations, 95),
      p99_ms: percentile(durations, 99),
      error_rate: row.errors / row.requests,
      by_rpc: rpcRowsOfPath,
      repeated: sortedHints(hints),
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
    show_cost: hasCost(summaries),
    ...inFlightOf(totalInFlight),
    rpcs: rpcRows,
    paths: pathRows,
    history,
    methods: [...methods].sort(),
  };
}
