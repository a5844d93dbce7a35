import { clip } from '../../core/build-record.js';
import type { BilledOp, DatastoreDetails } from '../../core/record.js';
import { billedOps } from './pricing.js';

/*
 * Pure functions from the Datastore v1 request and response objects (as @google-cloud/datastore
 * hands them to and gets them from its gRPC client) to what the record shows: the original's call
 * name, short summaries, `datastore_details` and billed ops. Every input is treated as untrusted
 * shape: a field that is not what we expect is left out, never thrown on.
 */

/** The original's `MAX_REPR`. */
export const DEFAULT_MAX_REPR = 100;
/** Keys kept per list in the details (keys_read, keys_written, ...); the total is noted when cut. */
export const DEFAULT_MAX_DETAIL_KEYS = 100;

export interface PathElementProto {
  kind?: string | null;
  id?: string | number | null;
  name?: string | null;
}
export interface KeyProto {
  path?: PathElementProto[] | null;
  partitionId?: { namespaceId?: string | null } | null;
}
type ValueProto = Record<string, unknown>;
interface FilterProto {
  propertyFilter?: {
    property?: { name?: string } | null;
    op?: string | number | null;
    value?: ValueProto | null;
  } | null;
  compositeFilter?: { op?: string | number | null; filters?: FilterProto[] | null } | null;
}
export interface QueryProto {
  kind?: { name?: string | null }[] | null;
  filter?: FilterProto | null;
  order?: { property?: { name?: string | null } | null; direction?: string | number | null }[] | null;
  projection?: { property?: { name?: string | null } | null }[] | null;
  distinctOn?: { name?: string | null }[] | null;
  limit?: { value?: number | null } | number | null;
  offset?: number | null;
  startCursor?: unknown;
}
interface MutationProto {
  insert?: { key?: KeyProto | null } | null;
  update?: { key?: KeyProto | null } | null;
  upsert?: { key?: KeyProto | null } | null;
  delete?: KeyProto | null;
}
interface AggregationProto {
  alias?: string | null;
  count?: unknown;
  sum?: { property?: { name?: string | null } | null } | null;
  avg?: { property?: { name?: string | null } | null } | null;
}
/** What request_ is given: the gapic method and its request object. */
export interface RequestConfig {
  client?: string;
  method?: string;
  reqOpts?: {
    keys?: KeyProto[] | null;
    mutations?: MutationProto[] | null;
    query?: QueryProto | null;
    aggregationQuery?: { nestedQuery?: QueryProto | null; aggregations?: AggregationProto[] | null } | null;
    partitionId?: { namespaceId?: string | null } | null;
    readOptions?: { newTransaction?: unknown; transaction?: unknown } | null;
    transactionOptions?: { readOnly?: unknown; readWrite?: unknown } | null;
  } | null;
}
/** The parts of the v1 responses we read. */
export interface ResponseProto {
  found?: { entity?: { key?: KeyProto | null } | null }[] | null;
  missing?: { entity?: { key?: KeyProto | null } | null }[] | null;
  deferred?: KeyProto[] | null;
  batch?: {
    entityResults?: unknown[] | null;
    entityResultType?: string | number | null;
    moreResults?: string | number | null;
    skippedResults?: number | null;
    aggregationResults?: { aggregateProperties?: Record<string, ValueProto> | null }[] | null;
  } | null;
  mutationResults?: { key?: KeyProto | null }[] | null;
  indexUpdates?: number | null;
  keys?: KeyProto[] | null;
}

/** `Lookup`, `RunQuery`, ... from the gapic method name (`lookup`, `runQuery`). */
export function rpcName(method: string): string {
  return method.charAt(0).toUpperCase() + method.slice(1);
}

function isObject<T>(value: T): value is NonNullable<T> & object {
  return typeof value === 'object' && value !== null;
}

function list<T>(value: T[] | null | undefined): T[] {
  return Array.isArray(value) ? value : [];
}

/** `User:42`, `Org:"acme"/User:7`; an incomplete key ends in `?`. */
export function formatKey(key: KeyProto | null | undefined): string {
  const path = list(key?.path);
  if (path.length === 0) return '?';
  return path
    .map((element) => {
      const kind = element?.kind ?? '?';
      if (typeof element?.name === 'string' && element.name !== '')
        return `${kind}:${JSON.stringify(element.name)}`;
      if (element?.id !== undefined && element.id !== null && element.id !== '' && element.id !== 0)
        return `${kind}:${element.id}`;
      return `${kind}:?`;
    })
    .join('/');
}

function namespaceOfKey(key: KeyProto | null | undefined): string | undefined {
  const namespace = key?.partitionId?.namespaceId;
  return typeof namespace === 'string' && namespace !== '' ? namespace : undefined;
}

/** A filter value in short form: numbers bare, strings quoted, keys as `Key(User:42)`. */
export function formatValue(value: ValueProto | null | undefined): string {
  if (!isObject(value)) return '?';
  if ('integerValue' in value) return String(value.integerValue);
  if ('doubleValue' in value) return String(value.doubleValue);
  if ('booleanValue' in value) return String(value.booleanValue);
  if ('stringValue' in value) return JSON.stringify(value.stringValue);
  if ('nullValue' in value) return 'NULL';
  if ('keyValue' in value) return `Key(${formatKey(value.keyValue as KeyProto)})`;
  if ('timestampValue' in value && isObject(value.timestampValue)) {
    const seconds = Number((value.timestampValue as { seconds?: unknown }).seconds);
    return Number.isFinite(seconds) ? new Date(seconds * 1000).toISOString() : 'timestamp';
  }
  if ('arrayValue' in value && isObject(value.arrayValue)) {
    const values = list((value.arrayValue as { values?: ValueProto[] }).values);
    return `[${values.map(formatValue).join(', ')}]`;
  }
  return '…';
}

const OPERATORS: Record<string, string> = {
  EQUAL: '=',
  NOT_EQUAL: '!=',
  LESS_THAN: '<',
  LESS_THAN_OR_EQUAL: '<=',
  GREATER_THAN: '>',
  GREATER_THAN_OR_EQUAL: '>=',
  IN: ' IN ',
  NOT_IN: ' NOT IN ',
  HAS_ANCESTOR: ' HAS ANCESTOR ',
};

/** The ancestor key of a query, from its `__key__ HAS_ANCESTOR` filter. */
export function ancestorOf(filter: FilterProto | null | undefined): string | undefined {
  if (!filter || typeof filter !== 'object') return undefined;
  const property = filter.propertyFilter;
  if (property?.op === 'HAS_ANCESTOR' && isObject(property.value) && 'keyValue' in property.value)
    return formatKey(property.value.keyValue as KeyProto);
  for (const child of list(filter.compositeFilter?.filters)) {
    const ancestor = ancestorOf(child);
    if (ancestor) return ancestor;
  }
  return undefined;
}

/** `age>=30 AND name="ann"`, without the ancestor filter (shown apart); '' when none. */
export function formatFilter(filter: FilterProto | null | undefined, nested = false): string {
  if (!filter || typeof filter !== 'object') return '';
  const property = filter.propertyFilter;
  if (property) {
    if (property.op === 'HAS_ANCESTOR') return '';
    const op = OPERATORS[String(property.op)] ?? ` ${property.op} `;
    return `${property.property?.name ?? '?'}${op}${formatValue(property.value)}`;
  }
  const composite = filter.compositeFilter;
  if (composite) {
    const parts = list(composite.filters)
      .map((child) => formatFilter(child, true))
      .filter((part) => part !== '');
    const text = parts.join(` ${composite.op ?? 'AND'} `);
    return nested && parts.length > 1 ? `(${text})` : text;
  }
  return '';
}

function limitOf(query: QueryProto): number | undefined {
  const limit = isObject(query.limit) ? query.limit.value : query.limit;
  return typeof limit === 'number' && limit >= 0 ? limit : undefined;
}

function namesOf(
  items: { property?: { name?: string | null } | null; name?: string | null }[] | null | undefined,
) {
  return list(items)
    .map((item) => item?.property?.name ?? item?.name)
    .filter((name): name is string => typeof name === 'string');
}

/** The query's parts as the details and the summary show them. */
export function describeQuery(query: QueryProto | null | undefined): {
  kind?: string;
  ancestor?: string;
  filters?: string;
  order?: string;
  limit?: number;
  offset?: number;
  projection?: string[];
  distinctOn?: string[];
  continued?: boolean;
  summary: string;
} {
  if (!isObject(query)) return { summary: '' };
  const kinds = list(query.kind)
    .map((kind) => kind?.name)
    .filter((name): name is string => typeof name === 'string');
  const kind = kinds.length > 0 ? kinds.join(',') : undefined;
  const ancestor = ancestorOf(query.filter);
  const filters = formatFilter(query.filter) || undefined;
  const order =
    list(query.order)
      .map((o) => `${o?.property?.name ?? '?'}${o?.direction === 'DESCENDING' ? ' DESC' : ''}`)
      .join(', ') || undefined;
  const limit = limitOf(query);
  const offset = typeof query.offset === 'number' && query.offset > 0 ? query.offset : undefined;
  const projection = namesOf(query.projection);
  const distinctOn = namesOf(query.distinctOn);
  const continued = query.startCursor !== undefined && query.startCursor !== null ? true : undefined;
  const where = [ancestor ? `__key__ HAS ANCESTOR Key(${ancestor})` : '', filters ?? ''].filter(Boolean);
  const summary = [
    kind ?? '(kindless)',
    projection.length > 0 ? `SELECT ${projection.join(', ')}` : '',
    distinctOn.length > 0 ? `DISTINCT ON ${distinctOn.join(', ')}` : '',
    where.length > 0 ? `WHERE ${where.join(' AND ')}` : '',
    order ? `ORDER BY ${order}` : '',
    limit !== undefined ? `LIMIT ${limit}` : '',
    offset !== undefined ? `OFFSET ${offset}` : '',
    continued ? '(next page)' : '',
  ]
    .filter(Boolean)
    .join(' ');
  return {
    ...(kind !== undefined ? { kind } : {}),
    ...(ancestor !== undefined ? { ancestor } : {}),
    ...(filters !== undefined ? { filters } : {}),
    ...(order !== undefined ? { order } : {}),
    ...(limit !== undefined ? { limit } : {}),
    ...(offset !== undefined ? { offset } : {}),
    ...(projection.length > 0 ? { projection } : {}),
    ...(distinctOn.length > 0 ? { distinctOn } : {}),
    ...(continued ? { continued } : {}),
    summary,
  };
}

function aggregationText(aggregation: AggregationProto): string {
  const alias = aggregation?.alias ? ` AS ${aggregation.alias}` : '';
  if (aggregation?.count !== undefined && aggregation.count !== null) return `COUNT(*)${alias}`;
  if (aggregation?.sum) return `SUM(${aggregation.sum.property?.name ?? '?'})${alias}`;
  if (aggregation?.avg) return `AVG(${aggregation.avg.property?.name ?? '?'})${alias}`;
  return `?${alias}`;
}

/** Keys for a details list: at most `max`, with the total when cut. */
function keyList(name: string, keys: readonly string[], max: number): Record<string, string[] | number> {
  if (keys.length <= max) return { [name]: [...keys] };
  return { [name]: keys.slice(0, max), [`${name}_total`]: keys.length };
}

/** A short list of keys for a summary: `User:1, User:2 (+3 more)`. */
function keysText(keys: readonly string[]): string {
  const shown = keys.slice(0, 3).join(', ');
  return keys.length > 3 ? `${shown} (+${keys.length - 3} more)` : shown;
}

/** What a call asked, known when it starts. */
export interface RequestDescription {
  callName: string;
  rpc: string;
  summary: string;
  namespace?: string;
  /** A single kind the call is about (`db.collection.name`). */
  kind?: string;
  details: DatastoreDetails;
}

/** The request side of a call: its call name, summary, and details as far as the request tells them. */
export function describeRequest(
  config: RequestConfig,
  transactional: boolean,
  maxRepr: number = DEFAULT_MAX_REPR,
  maxKeys: number = DEFAULT_MAX_DETAIL_KEYS,
): RequestDescription {
  const method = typeof config.method === 'string' ? config.method : 'unknown';
  const rpc = rpcName(method);
  const request = isObject(config.reqOpts) ? config.reqOpts : {};
  const details: DatastoreDetails = {};
  if (transactional || isObject(request.readOptions?.newTransaction)) details.transactional = true;
  let summary = '';
  let namespace: string | undefined =
    typeof request.partitionId?.namespaceId === 'string' && request.partitionId.namespaceId !== ''
      ? request.partitionId.namespaceId
      : undefined;
  let kind: string | undefined;
  switch (method) {
    case 'lookup': {
      const keys = list(request.keys);
      const formatted = keys.map(formatKey);
      Object.assign(details, keyList('keys_read', formatted, maxKeys));
      summary = `${keys.length} key${keys.length === 1 ? '' : 's'}: ${keysText(formatted)}`;
      namespace ??= keys.map(namespaceOfKey).find(Boolean);
      kind = singleKind(keys);
      break;
    }
    case 'commit': {
      const written: string[] = [];
      const deleted: string[] = [];
      const keys: KeyProto[] = [];
      for (const mutation of list(request.mutations)) {
        const put = mutation?.insert ?? mutation?.update ?? mutation?.upsert;
        if (put) {
          written.push(formatKey(put.key));
          if (put.key) keys.push(put.key);
        } else if (mutation?.delete) {
          deleted.push(formatKey(mutation.delete));
          keys.push(mutation.delete);
        }
      }
      if (written.length > 0) Object.assign(details, keyList('keys_written', written, maxKeys));
      if (deleted.length > 0) Object.assign(details, keyList('keys_deleted', deleted, maxKeys));
      const parts = [];
      if (written.length > 0) parts.push(`put ${keysText(written)}`);
      if (deleted.length > 0) parts.push(`delete ${keysText(deleted)}`);
      summary = parts.join('; ') || 'no mutations';
      namespace ??= keys.map(namespaceOfKey).find(Boolean);
      kind = singleKind(keys);
      break;
    }
    case 'runQuery': {
      const query = describeQuery(request.query);
      Object.assign(details, queryDetails(query));
      summary = query.summary;
      kind = query.kind;
      break;
    }
    case 'runAggregationQuery': {
      const query = describeQuery(request.aggregationQuery?.nestedQuery);
      const aggregations = list(request.aggregationQuery?.aggregations).map(aggregationText);
      Object.assign(details, queryDetails(query), { aggregations });
      summary = `${aggregations.join(', ')} OVER ${query.summary}`;
      kind = query.kind;
      break;
    }
    case 'beginTransaction': {
      const readOnly = isObject(request.transactionOptions?.readOnly);
      details.read_only = readOnly;
      summary = readOnly ? 'read-only' : 'read-write';
      break;
    }
    case 'allocateIds':
    case 'reserveIds': {
      const keys = list(request.keys);
      const formatted = keys.map(formatKey);
      summary = `${keys.length} x ${keysText([...new Set(formatted)])}`;
      namespace ??= keys.map(namespaceOfKey).find(Boolean);
      kind = singleKind(keys);
      break;
    }
  }
  return {
    callName: `datastore.${rpc}`,
    rpc,
    summary: clip(summary, maxRepr),
    ...(namespace !== undefined ? { namespace } : {}),
    ...(kind !== undefined ? { kind } : {}),
    details,
  };
}

function singleKind(keys: readonly KeyProto[]): string | undefined {
  const kinds = new Set(keys.map((key) => list(key?.path).at(-1)?.kind).filter(Boolean));
  return kinds.size === 1 ? ([...kinds][0] as string) : undefined;
}

function queryDetails(query: ReturnType<typeof describeQuery>): DatastoreDetails {
  return {
    ...(query.kind !== undefined ? { query_kind: query.kind } : {}),
    ...(query.ancestor !== undefined ? { query_ancestor: query.ancestor } : {}),
    ...(query.filters !== undefined ? { filters: query.filters } : {}),
    ...(query.order !== undefined ? { order: query.order } : {}),
    ...(query.limit !== undefined ? { limit: query.limit } : {}),
    ...(query.offset !== undefined ? { offset: query.offset } : {}),
    ...(query.projection !== undefined ? { projection: query.projection } : {}),
    ...(query.distinctOn !== undefined ? { distinct_on: query.distinctOn } : {}),
    ...(query.continued ? { next_page: true } : {}),
  };
}

/** What a call got, known when it ends. */
export interface ResponseDescription {
  summary: string;
  /** Added to the request's details. */
  details: DatastoreDetails;
  ops: BilledOp[];
  /** Entities (or keys, or aggregation rows) returned: `db.response.returned_rows`. */
  returnedRows?: number;
  namespace?: string;
}

function numberOf(value: ValueProto | null | undefined): number | string | undefined {
  if (!isObject(value)) return undefined;
  if ('integerValue' in value) {
    const n = Number(value.integerValue);
    return Number.isSafeInteger(n) ? n : String(value.integerValue);
  }
  if ('doubleValue' in value) return Number(value.doubleValue);
  if ('nullValue' in value) return undefined;
  return undefined;
}

/**
 * The response side of a successful call: its summary, the details only the answer has (which keys
 * were found, how many results, whether more exist), and the billed ops, counted as the original's
 * CALC_RPC_COSTS did, on today's price units: Lookup = one read per key found or missing; RunQuery =
 * one read for the query plus one read per entity (keys-only and projection results: one small op
 * each); RunAggregationQuery = one read per 1000 entries counted (at least one); Commit = one write
 * per put, one delete per delete; AllocateIds / ReserveIds = one small op per key.
 */
export function describeResponse(
  config: RequestConfig,
  response: ResponseProto | null | undefined,
  request: RequestDescription,
  maxRepr: number = DEFAULT_MAX_REPR,
  maxKeys: number = DEFAULT_MAX_DETAIL_KEYS,
): ResponseDescription {
  const method = typeof config.method === 'string' ? config.method : 'unknown';
  const answer: ResponseProto = isObject(response) ? response : {};
  switch (method) {
    case 'lookup': {
      const found = list(answer.found).map((result) => formatKey(result?.entity?.key));
      const missing = list(answer.missing).length;
      const deferred = list(answer.deferred).length;
      const foundSet = new Set(found);
      const asked = (request.details.keys_read ?? []) as string[];
      const details: DatastoreDetails = {
        get_successful_fetch: asked.map((key) => foundSet.has(key)),
        ...(deferred > 0 ? { deferred } : {}),
      };
      const namespace = list(answer.found)
        .map((result) => namespaceOfKey(result?.entity?.key))
        .find(Boolean);
      return {
        summary: clip(
          `${found.length} found, ${missing} missing${deferred ? `, ${deferred} deferred` : ''}`,
          maxRepr,
        ),
        details,
        ops: billedOps({ reads: found.length + missing }),
        returnedRows: found.length,
        ...(namespace ? { namespace } : {}),
      };
    }
    case 'runQuery': {
      const batch = answer.batch ?? {};
      const results = list(batch.entityResults).length;
      const type = String(batch.entityResultType ?? 'FULL');
      const small = type === 'KEY_ONLY' || type === 'PROJECTION';
      const more =
        batch.moreResults !== undefined && batch.moreResults !== null ? String(batch.moreResults) : undefined;
      const skipped =
        typeof batch.skippedResults === 'number' && batch.skippedResults > 0 ? batch.skippedResults : 0;
      return {
        summary: clip(
          `${results} result${results === 1 ? '' : 's'}${small ? ` (${type === 'KEY_ONLY' ? 'keys only' : 'projection'})` : ''}${more ? `, ${more}` : ''}`,
          maxRepr,
        ),
        details: {
          result_count: results,
          ...(more ? { more_results: more } : {}),
          ...(skipped ? { skipped_results: skipped } : {}),
          ...(small ? { keys_only: type === 'KEY_ONLY' } : {}),
        },
        ops: billedOps(small ? { reads: 1, small: results } : { reads: 1 + results }),
        returnedRows: results,
      };
    }
    case 'runAggregationQuery': {
      const rows = list(answer.batch?.aggregationResults);
      const values: Record<string, number | string> = {};
      for (const [alias, value] of Object.entries(rows[0]?.aggregateProperties ?? {})) {
        const n = numberOf(value);
        if (n !== undefined) values[alias] = n;
      }
      const aggregations = (request.details.aggregations ?? []) as string[];
      const counted = Object.entries(values)
        .filter(([alias]) =>
          aggregations.some((text) => text.startsWith('COUNT') && text.endsWith(` AS ${alias}`)),
        )
        .map(([, n]) => Number(n))
        .filter(Number.isFinite);
      const entries = counted.length > 0 ? Math.max(...counted) : 0;
      const text = Object.entries(values)
        .map(([alias, n]) => `${alias}=${n}`)
        .join(', ');
      return {
        summary: clip(text || `${rows.length} rows`, maxRepr),
        details: { results: values },
        ops: billedOps({ reads: Math.max(1, Math.ceil(entries / 1000)) }),
        returnedRows: rows.length,
      };
    }
    case 'commit': {
      const written = (request.details.keys_written ?? []) as string[];
      const deleted = (request.details.keys_deleted ?? []) as string[];
      const writes = Number(request.details.keys_written_total ?? written.length);
      const deletes = Number(request.details.keys_deleted_total ?? deleted.length);
      // Incomplete keys got their ids in this answer: the details show the keys really written.
      const results = list(answer.mutationResults);
      const details: DatastoreDetails = {};
      if (written.some((key) => key.endsWith('?'))) {
        const completed = written.map((key, i) =>
          key.endsWith('?') && results[i]?.key ? formatKey(results[i].key) : key,
        );
        Object.assign(details, keyList('keys_written', completed, maxKeys));
      }
      const indexUpdates = typeof answer.indexUpdates === 'number' ? answer.indexUpdates : undefined;
      if (indexUpdates !== undefined) details.index_updates = indexUpdates;
      const parts = [`${results.length} mutation${results.length === 1 ? '' : 's'}`];
      if (indexUpdates !== undefined) parts.push(`${indexUpdates} index updates`);
      return {
        summary: clip(parts.join(', '), maxRepr),
        details,
        ops: billedOps({ writes, deletes }),
      };
    }
    case 'allocateIds':
    case 'reserveIds': {
      const keys = list(answer.keys).map(formatKey);
      const asked = list(config.reqOpts?.keys).length;
      return {
        summary: clip(keys.length > 0 ? keysText(keys) : `${asked} ids`, maxRepr),
        details: keys.length > 0 ? keyList('keys_allocated', keys, maxKeys) : {},
        ops: billedOps({ small: Math.max(asked, keys.length) }),
      };
    }
    case 'beginTransaction':
      return { summary: 'transaction started', details: {}, ops: [] };
    case 'rollback':
      return { summary: 'rolled back', details: {}, ops: [] };
    default:
      return { summary: '', details: {}, ops: [] };
  }
}

/** `error: 12 UNIMPLEMENTED: ...`, bounded. */
export function errorSummary(error: unknown, maxRepr: number = DEFAULT_MAX_REPR): string {
  const message = error instanceof Error ? error.message : String(error);
  return clip(`error: ${message}`, maxRepr);
}
