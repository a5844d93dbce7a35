/*
 * The request side of a Datastore call, pure: the original's call name (`datastore.Lookup`), a short
 * summary and `datastore_details`, from the gapic method and request object.
 */

import type { DatastoreDetails } from '../../core/record.js';
import { clip } from '../../core/units.js';
import { DEFAULT_MAX_REPR } from '../summary.js';
import { isObject, type KeyProto, list, type RequestConfig } from './protos.js';
import { aggregationText, describeQuery, formatKey, namespaceOfKey } from './query-text.js';

/** Keys kept per list in the details (keys_read, keys_written, ...); the total is noted when cut. */
export const DEFAULT_MAX_DETAIL_KEYS = 100;

/** `Lookup`, `RunQuery`, ... from the gapic method name (`lookup`, `runQuery`). */
export function rpcName(method: string): string {
  return method.charAt(0).toUpperCase() + method.slice(1);
}

/** Keys for a details list: at most `max`, with the total when cut. */
export function keyList(
  name: string,
  keys: readonly string[],
  max: number,
): Record<string, string[] | number> {
  if (keys.length <= max) return { [name]: [...keys] };
  return { [name]: keys.slice(0, max), [`${name}_total`]: keys.length };
}

/** A short list of keys for a summary: `User:1, User:2 (+3 more)`. */
export function keysText(keys: readonly string[]): string {
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
