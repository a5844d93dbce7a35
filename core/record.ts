/**
 * The appstats record, version 2: the original `RequestStatProto` field names (see
 * docs/record-format.md), plus what OpenTelemetry adds (trace and span ids, service name, span kind,
 * status, attributes) and what the originals lacked (sub-millisecond times, a note of what was cut).
 *
 * Times are float milliseconds rounded to the microsecond: the originals' whole milliseconds made a
 * 0.2 ms memcache call read 0.
 */

/**
 * Bumped on every change of the format; readers skip, and count, versions they cannot read.
 * 2: a stored call leaves out the fields at their default (docs/record-format.md); 1 stored them all.
 */
export const RECORD_VERSION = 2;
/**
 * 2: a part is a positional array (core/compact-part.ts), a third of its bytes as an object; 1 was
 * the object. Readers read both; a viewer that knows only 1 skips (and counts) parts of 2, so
 * upgrade the viewer first.
 */
export const PART_VERSION = 2;

/** One frame of a call's stack, app frames first as captured (innermost first). */
export interface StackFrame {
  class_or_file_name: string;
  line_number: number;
  column_number?: number;
  function_name: string;
  /** The original kept up to 10 locals per frame; we keep none (see docs/comparison.md). */
  variables?: { key: string; value: string }[];
}

/** The original's billed operation kinds; DATASTORE_* as priced by Datastore. */
export interface BilledOp {
  op: string;
  num_ops: number;
}

/** The original's `datastore_details`. */
export interface DatastoreDetails {
  query_kind?: string;
  query_ancestor?: string;
  keys_read?: string[];
  keys_written?: string[];
  get_successful_fetch?: boolean[];
  [extra: string]: unknown;
}

/** Per service call name: the original's `rpc_stats` entry, plus the time spent (it had only counts). */
export interface RpcStat {
  service_call_name: string;
  total_amount_of_calls: number;
  total_cost_of_calls_microdollars: number;
  total_billed_ops: BilledOp[];
  /** Sum of the calls' durations. */
  total_duration_milliseconds: number;
}

export type CallStatus = { code: 'UNSET' | 'OK' | 'ERROR'; message?: string };

/** One call of a request: a descendant CLIENT or PRODUCER span of its root (or one our instrumentations named). */
export interface RpcCall {
  service_call_name: string;
  request_data_summary: string;
  response_data_summary: string;
  start_offset_milliseconds: number;
  /** 0 for a call still pending when the record was written. */
  duration_milliseconds: number;
  namespace: string;
  was_successful: boolean;
  call_stack: StackFrame[];
  datastore_details?: DatastoreDetails;
  call_cost_microdollars: number;
  billed_ops: BilledOp[];
  span_id: string;
  /**
   * The span this call was made under, when it is another call or a context span of this record
   * (absent when made directly under the request's root). A call with a call among its ancestors is
   * nested (`nestedCallIds`): shown under it, never counted in rpc_stats, totals or findings.
   */
  parent_span_id?: string;
  span_name: string;
  span_kind: 'INTERNAL' | 'SERVER' | 'CLIENT' | 'PRODUCER' | 'CONSUMER';
  status: CallStatus;
  /** True when the span had not ended when the record was written. */
  pending?: boolean;
  /** A bounded copy of the span's attributes (see `buildRecord` for the bounds). */
  attributes: Record<string, string | number | boolean>;
}

/**
 * A span of the request that is not a call (docs/architecture.md, "Calls and context"): framework middleware,
 * a route handler, fs, a nested SERVER span. Kept, bounded, so the timeline shows which handler made
 * which call; never counted as a call.
 */
export interface ContextSpan {
  span_id: string;
  /** Its parent, when that is another kept span of this record (absent under the root). */
  parent_span_id?: string;
  name: string;
  span_kind: RpcCall['span_kind'];
  start_offset_milliseconds: number;
  /** 0 while pending. */
  duration_milliseconds: number;
  pending?: boolean;
}

/** What was cut from a record, and why; absent when nothing was. */
export interface Incompleteness {
  /** Calls still open when the record was written (waited `maxPendingMs`, or the root never ended). */
  pending_calls?: number;
  /** The root span itself had not ended (the age sweep wrote it). */
  root_pending?: boolean;
  /** Calls beyond `maxCallsPerRequest`, never stored. */
  dropped_calls?: number;
  /** No call stacks captured: the request started while the stack budget (`maxStackTimeShare`) was spent. */
  stacks_skipped?: boolean;
  /** Call stacks removed by the size ladder. */
  stacks_dropped?: boolean;
  /** Calls removed by the size ladder (kept: the first `individual_stats.length`). */
  calls_clipped?: number;
  /** Summaries and attributes shortened by the size ladder. */
  details_clipped?: boolean;
  /** The request's environment (`cgi_env`) removed by the size ladder. */
  env_dropped?: boolean;
  /** rpc_stats entries removed from an oversize part. */
  rpc_stats_clipped?: number;
  /** Context spans beyond `maxContextSpans`, never stored. */
  dropped_context?: number;
}

/** The part: the summary the dashboard reads, 1000 at a time. */
export interface RequestSummary {
  v: number;
  start_timestamp_milliseconds: number;
  http_method: string;
  http_path: string;
  http_query: string;
  http_status: number;
  duration_milliseconds: number;
  /**
   * Main-thread time the processor spent in the request: its span hooks, its own call-stack captures
   * included. (The caller-site notes our instrumentations take at pool.query, fetch and Datastore
   * calls are not counted.)
   */
  overhead_walltime_milliseconds: number;
  rpc_stats: RpcStat[];
  trace_id: string;
  span_id: string;
  service_name: string;
  /** The route template (`/users/:id`) when the framework set `http.route`. */
  http_route?: string;
  /** False when the root span ended with status ERROR. */
  was_successful: boolean;
  incomplete?: Incompleteness;
  /**
   * Sum of the outermost calls' durations ("RPC Total"): a call nested in another is not counted
   * again. Absent in records written before it existed.
   */
  rpc_total_milliseconds?: number;
  /** How long at least one call was in flight (the union of the outermost calls' intervals). */
  rpc_in_flight_milliseconds?: number;
  /** The findings of the full record, counted (`findFindings`): the dashboard's hints. */
  findings?: FindingCount[];
}

/** One finding of a request as its part carries it. */
export interface FindingCount {
  kind: 'n_plus_one' | 'duplicate' | 'parallelizable';
  call_name: string;
  /** Calls involved. */
  count: number;
}

/** The full record: the part plus each call, and the request's environment. */
export interface RequestRecord extends RequestSummary {
  user_email: string;
  is_admin: boolean;
  /** Request variables and headers, secrets redacted. */
  cgi_env: { key: string; value: string }[];
  /** The request's calls only (CLIENT, PRODUCER, or named by our instrumentations), in start order. */
  individual_stats: RpcCall[];
  /** Context spans, in start order, bounded (absent when none, and in older records). */
  context_spans?: ContextSpan[];
  /**
   * Main-thread time spent building this record, after the request ended (so not in
   * `overhead_walltime_milliseconds`, the time spent in the request). Absent in older records.
   */
  record_build_milliseconds?: number;
}

export type RecordKind = 'part' | 'full';
