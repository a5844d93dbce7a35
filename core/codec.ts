import { constants, deflateRawSync, inflateRawSync } from 'node:zlib';
import { COMPACT_PART_VERSION, compactPart, expandPart } from './compact-part.js';
import { isObject } from './is-object.js';
import { RECORD_VERSION, type RequestRecord, type RequestSummary, type RpcCall } from './record.js';
import { expandedCall, storedCalls } from './stored-call.js';

/**
 * Bytes of a stored value: a 3-byte header, then JSON, deflated when that is smaller.
 *
 *   byte 0: 0xA5, the appstats marker (never the first byte of UTF-8 text, so JSON or a string that
 *           some other program wrote under our key is told apart at once)
 *   byte 1: envelope version, 1
 *   byte 2: 'j' (0x6A) plain UTF-8 JSON, or 'z' (0x7A) raw-deflated UTF-8 JSON
 *
 * memjs always writes flags 0, so the marker lives in the value, not in memcache flags.
 */
export const VALUE_MARKER = 0xa5;
export const ENVELOPE_VERSION = 1;
const PLAIN = 0x6a;
const DEFLATED = 0x7a;
const HEADER_BYTES = 3;
/**
 * Values smaller than this stay plain JSON: a part (a few hundred bytes) saves little by deflating,
 * while inflating costs ~11 µs each (zlib stream set-up), most of a cold 1000-part dashboard
 * (docs/performance.md); deflating it cost the app's main thread as much again.
 */
export const COMPRESS_FROM_BYTES = 1024;
/**
 * Reader bounds (docs/record-format.md, "Reader bounds"): whatever memcache holds, one page costs
 * bounded time and memory, so the reader refuses values bigger than our writer makes, counted as
 * `size` failures. Per value kind, since the dashboard decodes up to 1000 parts per view and the
 * details page one full record.
 *
 * A part is a request's summary: its path (clipped at 2048 chars), its query (under Node's 16 KiB
 * header limit) and one rpc_stats entry per distinct call name (names clipped at 300 chars; the size
 * ladder keeps 100 at most when it has to cut, and the writer keeps 100 in a part): a few hundred
 * bytes usually, far under 64 KiB. 1000 parts at the bound hold 64 MB of JSON at most, and 100
 * rpc_stats each (every one a row of the dashboard's breakdowns) cost the page ~1 s.
 *
 * A full record is under 1 MB deflated (memcached's item limit, enforced by the ladder); its JSON
 * inflates 3-10x (deflate of JSON with stacks stored once per distinct stack): 16 MiB leaves room for
 * 5000 calls of 3 KiB each, and a details page of that size renders in well under a second.
 */
export const READ_BOUNDS = Object.freeze({
  /** maxCalls 0: a part has no calls; a full record found at a part key is read as its summary. */
  part: Object.freeze({ maxValueBytes: 64 * 1024, maxJsonBytes: 64 * 1024, maxRpcStats: 100, maxCalls: 0 }),
  full: Object.freeze({
    maxValueBytes: 2 * 1024 * 1024,
    maxJsonBytes: 16 * 1024 * 1024,
    maxRpcStats: 5000,
    /**
     * The writer's `maxCallsPerRequest` is 2000 by default; each stored call grows into a whole
     * `RpcCall` and a row of the details page (~100 µs and ~20 KB of the page's memory each), so
     * 5000 keeps a details page under a second and 100 MB. More is refused, never partly shown.
     */
    maxCalls: 5000,
  }),
});
export type ValueKind = keyof typeof READ_BOUNDS;
/**
 * JSON nested deeper than this is refused before parsing (`shape`): records nest 6 levels (record,
 * calls, call, stack, frame, details), and 20,000 levels of `[` overflow the stack of whatever
 * recurses over the value later (the JSON views, redaction).
 */
export const MAX_JSON_DEPTH = 32;

/** `size`: bigger than the reader's bounds for its kind (bytes, inflated bytes, calls, rpc_stats). */
export type DecodeFailure = 'foreign' | 'truncated' | 'corrupt' | 'version' | 'shape' | 'size';

/** Why stored bytes are not a record this reader understands. */
export class RecordDecodeError extends Error {
  override name = 'RecordDecodeError';
  constructor(
    readonly reason: DecodeFailure,
    message: string,
  ) {
    super(`appstats record: ${message}`);
  }
}

function header(encoding: number): Buffer {
  return Buffer.from([VALUE_MARKER, ENVELOPE_VERSION, encoding]);
}

/** Format versions this reader reads: 1 stored every field of a call, 2 leaves out the defaults. */
const READABLE_VERSIONS: readonly unknown[] = [1, RECORD_VERSION];

/** Record -> bytes: JSON, deflated (fastest level: it runs on the app's main thread) when smaller. */
export function encodeRecord(record: RequestSummary | RequestRecord): Buffer {
  const stored = isFullRecord(record)
    ? { ...record, individual_stats: storedCalls(record.individual_stats) }
    : record.v === COMPACT_PART_VERSION
      ? compactPart(record)
      : record; // a part of format 1 (a test, another writer) is stored as it is
  const json = Buffer.from(JSON.stringify(stored), 'utf8');
  if (json.length >= COMPRESS_FROM_BYTES) {
    const deflated = deflateRawSync(json, { level: constants.Z_BEST_SPEED });
    if (deflated.length < json.length) return Buffer.concat([header(DEFLATED), deflated]);
  }
  return Buffer.concat([header(PLAIN), json]);
}

type Bounds = (typeof READ_BOUNDS)[ValueKind];

function checkShape(parsed: unknown, bounds: Bounds): RequestSummary | RequestRecord {
  // A part of format 2 is an array: expanded to the object every reader knows, then checked as one.
  const value = Array.isArray(parsed) && parsed[0] === COMPACT_PART_VERSION ? expandPart(parsed) : parsed;
  if (!isObject(value)) throw new RecordDecodeError('shape', 'JSON is not an object');
  if (!READABLE_VERSIONS.includes(value.v)) {
    throw new RecordDecodeError(
      'version',
      `format version ${JSON.stringify(value.v)} is not one this reader knows (${READABLE_VERSIONS.join(', ')})`,
    );
  }
  if (bounds.maxCalls === 0) {
    // Read as a part: only the summary is used, so the calls of a full record found at a part key
    // are not expanded (a 64 KiB part of `{}`s would be 20,000 calls).
    delete value.individual_stats;
    delete value.cgi_env;
  }
  checkCounts(value, bounds);
  const wrong: string[] = [];
  if (
    typeof value.start_timestamp_milliseconds !== 'number' ||
    !Number.isFinite(value.start_timestamp_milliseconds)
  )
    wrong.push('start_timestamp_milliseconds');
  if (typeof value.duration_milliseconds !== 'number') wrong.push('duration_milliseconds');
  if (typeof value.http_path !== 'string') wrong.push('http_path');
  if (typeof value.http_method !== 'string') wrong.push('http_method');
  if (!Array.isArray(value.rpc_stats)) wrong.push('rpc_stats');
  if (
    'individual_stats' in value &&
    !(Array.isArray(value.individual_stats) && value.individual_stats.every(isObject))
  )
    wrong.push('individual_stats');
  if ('cgi_env' in value && !Array.isArray(value.cgi_env)) wrong.push('cgi_env');
  if (wrong.length > 0)
    throw new RecordDecodeError('shape', `missing or mistyped field(s): ${wrong.join(', ')}`);
  if (Array.isArray(value.individual_stats)) {
    const calls: RpcCall[] = [];
    for (const call of value.individual_stats as Record<string, unknown>[])
      calls.push(expandedCall(call, calls.length, calls));
    value.individual_stats = calls;
  }
  return value as unknown as RequestSummary | RequestRecord;
}

/** Counts checked before anything walks the arrays: a crafted value must not cost more than its bound. */
function checkCounts(value: Record<string, unknown>, bounds: Bounds): void {
  const calls = value.individual_stats;
  if (Array.isArray(calls) && calls.length > bounds.maxCalls)
    throw new RecordDecodeError(
      'size',
      `${calls.length} calls, more than this reader reads in a ${bounds.maxCalls === 0 ? 'part' : `full record (${bounds.maxCalls})`}`,
    );
  const stats = value.rpc_stats;
  if (Array.isArray(stats) && stats.length > bounds.maxRpcStats)
    throw new RecordDecodeError(
      'size',
      `${stats.length} rpc_stats entries, more than this reader reads (${bounds.maxRpcStats})`,
    );
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACE = 0x7d;
const CLOSE_BRACKET = 0x5d;

/**
 * True when the JSON text nests objects and arrays deeper than `max`: one pass over the bytes, no
 * recursion, before JSON.parse builds anything. Brackets inside strings do not count.
 */
export function nestsDeeperThan(json: Uint8Array, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < json.length; i++) {
    const byte = json[i];
    if (inString) {
      if (byte === BACKSLASH) i++;
      else if (byte === QUOTE) inString = false;
    } else if (byte === QUOTE) inString = true;
    else if (byte === OPEN_BRACE || byte === OPEN_BRACKET) {
      if (++depth > max) return true;
    } else if (byte === CLOSE_BRACE || byte === CLOSE_BRACKET) depth--;
  }
  return false;
}

/**
 * Bytes -> record. Throws a `RecordDecodeError` saying what is wrong with foreign, truncated,
 * corrupt, foreign-version or oversized bytes; callers that read many (the dashboard) skip and count
 * those. `kind` picks the bounds (READ_BOUNDS): the dashboard reads parts, the details page a full
 * record; without it, a full record's (the larger).
 */
export function decodeRecord(bytes: Uint8Array, kind: ValueKind = 'full'): RequestSummary | RequestRecord {
  const bounds = READ_BOUNDS[kind];
  const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length > bounds.maxValueBytes)
    throw new RecordDecodeError(
      'size',
      `a ${kind} value of ${buf.length} bytes (this reader reads ${bounds.maxValueBytes})`,
    );
  if (buf.length === 0) throw new RecordDecodeError('truncated', 'empty value');
  if (buf[0] !== VALUE_MARKER) {
    throw new RecordDecodeError(
      'foreign',
      `not an appstats value (first byte 0x${buf[0].toString(16).padStart(2, '0')}, expected 0xa5)`,
    );
  }
  if (buf.length < HEADER_BYTES)
    throw new RecordDecodeError('truncated', `value of ${buf.length} bytes has no header`);
  if (buf[1] !== ENVELOPE_VERSION) {
    throw new RecordDecodeError('version', `envelope version ${buf[1]} is not ${ENVELOPE_VERSION}`);
  }
  let json: Buffer;
  const body = buf.subarray(HEADER_BYTES);
  if (buf[2] === PLAIN) {
    json = body;
  } else if (buf[2] === DEFLATED) {
    try {
      // maxOutputLength: zlib stops there, so a deflate bomb never allocates past the bound.
      json = inflateRawSync(body, { maxOutputLength: bounds.maxJsonBytes });
    } catch (error) {
      if ((error as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE')
        throw new RecordDecodeError('size', `a ${kind} value inflating past ${bounds.maxJsonBytes} bytes`);
      throw new RecordDecodeError('corrupt', `deflated body does not inflate (${(error as Error).message})`);
    }
  } else {
    throw new RecordDecodeError('corrupt', `unknown encoding byte 0x${buf[2].toString(16)}`);
  }
  if (json.length > bounds.maxJsonBytes)
    throw new RecordDecodeError(
      'size',
      `a ${kind} value of ${json.length} JSON bytes (this reader reads ${bounds.maxJsonBytes})`,
    );
  if (nestsDeeperThan(json, MAX_JSON_DEPTH))
    throw new RecordDecodeError('shape', `JSON nested deeper than ${MAX_JSON_DEPTH} levels`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(json.toString('utf8'));
  } catch (error) {
    throw new RecordDecodeError('truncated', `body is not complete JSON (${(error as Error).message})`);
  }
  return checkShape(parsed, bounds);
}

/** True for a full record (the details page's), false for a part. */
export function isFullRecord(record: RequestSummary | RequestRecord): record is RequestRecord {
  return Array.isArray((record as RequestRecord).individual_stats);
}
