import type { RequestSummary } from '../core/record.js';
import type { FindingHint } from './finding-hints.js';

// The dashboard's rows: what aggregateDashboard (aggregate.ts) makes and the pages and sorting read.

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
  /**
   * Mean time per request with at least one call in flight (`rpc_in_flight_milliseconds`), over the
   * requests whose part has it (older writers' parts do not): undefined when none has.
   */
  in_flight_ms?: number;
  /** That time's share of the same requests' duration, in percent. */
  in_flight_percent?: number;
  by_rpc: { service_call_name: string; count: number; total_ms: number; cost: number }[];
  /** The findings of this path's requests, as their parts carry them (`finding-hints.ts`). */
  repeated: FindingHint[];
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
  /** Outermost calls, from the parts' `rpc_stats`. */
  calls: number;
  cost: number;
  /**
   * False when every part read (filtered or not) has zero cost and no billed ops: an app without
   * Datastore, whose cost columns would only say 0.
   */
  show_cost: boolean;
  /** Time with a call in flight across the requests whose part has it, as on the path rows. */
  in_flight_ms?: number;
  in_flight_percent?: number;
  rpcs: RpcRow[];
  paths: PathRow[];
  history: HistoryRow[];
  /** Methods and status classes seen in all records, for the filter form. */
  methods: string[];
}
