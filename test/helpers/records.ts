import { summarize } from '../../core/build-record.js';
import { aggregateRpcStats } from '../../core/call-stats.js';
import { encodeRecord } from '../../core/codec.js';
import { RECORD_VERSION, type RequestRecord, type RpcCall } from '../../core/record.js';
import { recordKey } from '../../core/record-key.js';
import type { MemoryStore } from '../../stores/memory-store.js';

/** A record as data, for tests of what reads records (codec, ladder, viewer). */
export function sampleRecord(
  options: { calls?: number; start?: number; path?: string; stackFrames?: number } = {},
): RequestRecord {
  const start = options.start ?? 1700000012345.125;
  const individual: RpcCall[] = [];
  for (let i = 0; i < (options.calls ?? 2); i++) {
    const name = i % 3 === 0 ? 'datastore.Lookup' : 'memcache.Get';
    individual.push({
      service_call_name: name,
      request_data_summary: `key="user:${i}"`,
      response_data_summary: i % 2 ? 'miss' : 'hit 812 bytes',
      start_offset_milliseconds: i * 1.25 + 0.125,
      duration_milliseconds: 0.213 + i / 1000,
      namespace: '',
      was_successful: true,
      call_stack: Array.from({ length: options.stackFrames ?? 4 }, (_, f) => ({
        class_or_file_name: `/srv/app/routes/user-${f}.js`,
        line_number: 10 + f,
        column_number: 5,
        function_name: `handler${f}`,
      })),
      call_cost_microdollars: name === 'datastore.Lookup' ? 0.06 : 0,
      billed_ops: name === 'datastore.Lookup' ? [{ op: 'DATASTORE_READ', num_ops: 1 }] : [],
      span_id: i.toString(16).padStart(16, '0'),
      span_name: name,
      span_kind: 'CLIENT',
      status: { code: 'UNSET' },
      attributes: { 'db.system.name': name.startsWith('memcache') ? 'memcached' : 'gcp.datastore' },
    });
  }
  return {
    v: RECORD_VERSION,
    start_timestamp_milliseconds: start,
    http_method: 'GET',
    http_path: options.path ?? '/user',
    http_query: 'id=42',
    http_status: 200,
    duration_milliseconds: 12.345,
    overhead_walltime_milliseconds: 0.042,
    rpc_stats: aggregateRpcStats(individual),
    trace_id: '0af7651916cd43dd8448eb211c80319c',
    span_id: 'b7ad6b7169203331',
    service_name: 'test-app',
    was_successful: true,
    user_email: '',
    is_admin: false,
    cgi_env: [{ key: 'REQUEST_METHOD', value: 'GET' }],
    individual_stats: individual,
  };
}

/** Writes a record's part and full as the exporter would, under `prefix` (default keys otherwise). */
export function putRecord(target: MemoryStore, record: RequestRecord, prefix?: string): Promise<void> {
  const start = record.start_timestamp_milliseconds;
  const keyOptions = prefix ? { keyPrefix: prefix } : undefined;
  return target.putRecord(
    { part: recordKey(start, 'part', keyOptions), full: recordKey(start, 'full', keyOptions) },
    { part: encodeRecord(summarize(record)), full: encodeRecord(record) },
    0,
  );
}
