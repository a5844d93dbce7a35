/*
 * The response side of a successful Datastore call, pure: its summary, the details only the answer
 * has, and the billed ops.
 */

import type { BilledOp, DatastoreDetails } from '../../core/record.js';
import { clip } from '../../core/units.js';
import { DEFAULT_MAX_REPR } from '../summary.js';
import { DEFAULT_MAX_DETAIL_KEYS, keyList, keysText, type RequestDescription } from './describe-request.js';
import { billedOps } from './pricing.js';
import { isObject, list, type RequestConfig, type ResponseProto, type ValueProto } from './protos.js';
import { formatKey, namespaceOfKey } from './query-text.js';

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
