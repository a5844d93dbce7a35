import { statusClass } from './format.js';

/**
 * The dashboard's filters and sort orders, all in the URL so a view can be linked to. Parsing is a
 * pure function that ignores what it cannot read (a bad filter shows everything, never an error).
 */
export const HISTORY_SORTS = [
  'time',
  'method',
  'path',
  'status',
  'duration',
  'overhead',
  'calls',
  'cost',
] as const;
export const PATH_SORTS = [
  'path',
  'requests',
  'calls',
  'cost',
  'mean',
  'inflight',
  'p50',
  'p95',
  'p99',
  'errors',
] as const;
export const RPC_SORTS = ['name', 'count', 'total', 'mean', 'cost'] as const;

export type HistorySortKey = (typeof HISTORY_SORTS)[number];
export type PathSortKey = (typeof PATH_SORTS)[number];
export type RpcSortKey = (typeof RPC_SORTS)[number];

export interface Sort<K extends string> {
  key: K;
  descending: boolean;
}

export interface DashboardQuery {
  /** Substring of the path (or route). */
  path: string;
  /** Exact method, upper case. */
  method: string;
  /** `2xx`, `4xx`, ..., `none`. */
  status: string;
  /** Requests at least this long (ms). */
  minMs: number;
  historySort: Sort<HistorySortKey>;
  pathSort: Sort<PathSortKey>;
  rpcSort: Sort<RpcSortKey>;
}

/** The URL parameter of each sort; its value is the key, `-key` for descending. */
export const SORT_PARAMS = { historySort: 'hsort', pathSort: 'psort', rpcSort: 'rsort' } as const;

export const DEFAULT_QUERY: DashboardQuery = Object.freeze({
  path: '',
  method: '',
  status: '',
  minMs: 0,
  // The originals' orders: history newest first, paths and calls by call count.
  historySort: { key: 'time', descending: true },
  pathSort: { key: 'calls', descending: true },
  rpcSort: { key: 'count', descending: true },
} satisfies DashboardQuery) as DashboardQuery;

const MAX_FILTER_CHARS = 200;
const STATUS_CLASSES = new Set(['1xx', '2xx', '3xx', '4xx', '5xx', 'none']);

export function parseSort<K extends string>(
  value: string | undefined,
  keys: readonly K[],
  fallback: Sort<K>,
): Sort<K> {
  if (!value) return fallback;
  const descending = value.startsWith('-');
  const key = (descending ? value.slice(1) : value) as K;
  return keys.includes(key) ? { key, descending } : fallback;
}

export function formatSort<K extends string>(sort: Sort<K>): string {
  return sort.descending ? `-${sort.key}` : sort.key;
}

/** Query parameters -> the dashboard's query; unknown or bad values fall back to the defaults. */
export function parseDashboardQuery(get: (name: string) => string | undefined): DashboardQuery {
  const path = (get('path') ?? '').slice(0, MAX_FILTER_CHARS);
  const method = (get('method') ?? '').trim().toUpperCase().slice(0, 20);
  const status = (get('status') ?? '').trim().toLowerCase();
  const minMs = Number(get('min_ms') ?? '');
  return {
    path,
    method: /^[A-Z]*$/.test(method) ? method : '',
    status: STATUS_CLASSES.has(status) ? status : '',
    minMs: Number.isFinite(minMs) && minMs > 0 ? minMs : 0,
    historySort: parseSort(get(SORT_PARAMS.historySort), HISTORY_SORTS, DEFAULT_QUERY.historySort),
    pathSort: parseSort(get(SORT_PARAMS.pathSort), PATH_SORTS, DEFAULT_QUERY.pathSort),
    rpcSort: parseSort(get(SORT_PARAMS.rpcSort), RPC_SORTS, DEFAULT_QUERY.rpcSort),
  };
}

/** The query as URL parameters, defaults left out, so links stay short and stable. */
export function queryParams(query: DashboardQuery): URLSearchParams {
  const params = new URLSearchParams();
  if (query.path) params.set('path', query.path);
  if (query.method) params.set('method', query.method);
  if (query.status) params.set('status', query.status);
  if (query.minMs > 0) params.set('min_ms', String(query.minMs));
  for (const field of ['historySort', 'pathSort', 'rpcSort'] as const) {
    const value = formatSort(query[field] as Sort<string>);
    if (value !== formatSort(DEFAULT_QUERY[field] as Sort<string>)) params.set(SORT_PARAMS[field], value);
  }
  return params;
}

/** True when a request passes the filters. */
export function matchesQuery(
  summary: {
    http_method: string;
    http_path: string;
    http_route?: string;
    http_status: number;
    duration_milliseconds: number;
  },
  query: Pick<DashboardQuery, 'path' | 'method' | 'status' | 'minMs'>,
): boolean {
  if (query.method && summary.http_method.toUpperCase() !== query.method) return false;
  if (query.status && statusClass(summary.http_status) !== query.status) return false;
  if (query.minMs > 0 && !(summary.duration_milliseconds >= query.minMs)) return false;
  if (query.path && !summary.http_path.includes(query.path) && !summary.http_route?.includes(query.path))
    return false;
  return true;
}

export function isFiltered(query: DashboardQuery): boolean {
  return query.path !== '' || query.method !== '' || query.status !== '' || query.minMs > 0;
}

/** The query as the JSON view reports it: what the page understood, in URL parameter names. */
export function describeQuery(query: DashboardQuery): Record<string, string | number> {
  return {
    path: query.path,
    method: query.method,
    status: query.status,
    min_ms: query.minMs,
    hsort: formatSort(query.historySort),
    psort: formatSort(query.pathSort),
    rsort: formatSort(query.rpcSort),
  };
}
