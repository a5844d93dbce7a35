/**
 * The memcache binary protocol's framing for pipelined batches: 24-byte request headers, quiet
 * GETKQ and SETQ requests, and the NOOP whose answer closes a batch (memcached answers quiet
 * commands only on a hit or an error), and the answers' header. Pure: bytes in, bytes out;
 * stores/memcache-pipeline.ts sends the batches, stores/memjs-guard.ts parses the answers.
 */

const OP_SETQ = 0x11;
export const OP_GETKQ = 0x0d;
export const OP_NOOP = 0x0a;
const REQUEST_MAGIC = 0x80;
export const RESPONSE_MAGIC = 0x81;
export const HEADER_BYTES = 24;

/** memjs's value serializer (the client's `serializer`): a SET's value and extras as sent. */
export interface Serializer {
  serialize(opcode: number, value: Buffer, extras: Buffer): { value: string | Buffer; extras: Buffer };
}

export interface SetEntry {
  key: string;
  value: Buffer;
  expiresSeconds: number;
}

function header(
  opcode: number,
  keyLength: number,
  extrasLength: number,
  bodyLength: number,
  opaque: number,
): Buffer {
  const buf = Buffer.alloc(HEADER_BYTES);
  buf[0] = REQUEST_MAGIC;
  buf[1] = opcode;
  buf.writeUInt16BE(keyLength, 2);
  buf[4] = extrasLength;
  buf.writeUInt32BE(bodyLength, 8);
  buf.writeUInt32BE(opaque, 12);
  return buf;
}

function writeHeader(buf: Buffer, at: number, opcode: number, keyLength: number, opaque: number): void {
  header(opcode, keyLength, 0, keyLength, opaque).copy(buf, at);
}

/** One request buffer: a GETKQ per key, then the NOOP that closes the batch. */
export function buildGetkqBatch(keys: readonly string[], opaque: number): Buffer {
  const keyBytes = keys.map((key) => Buffer.from(key, 'utf8'));
  const total = keyBytes.reduce((sum, key) => sum + HEADER_BYTES + key.length, HEADER_BYTES);
  const buf = Buffer.allocUnsafe(total);
  let at = 0;
  for (const key of keyBytes) {
    writeHeader(buf, at, OP_GETKQ, key.length, opaque);
    key.copy(buf, at + HEADER_BYTES);
    at += HEADER_BYTES + key.length;
  }
  writeHeader(buf, at, OP_NOOP, 0, opaque);
  return buf;
}

/** One request buffer: a SETQ (flags 0, expiry) per entry, then the closing NOOP. */
export function buildSetqBatch(serializer: Serializer, entries: readonly SetEntry[], opaque: number): Buffer {
  const parts: Buffer[] = [];
  for (const entry of entries) {
    const key = Buffer.from(entry.key, 'utf8');
    const extras = Buffer.alloc(8); // flags (4 bytes, 0: memjs writes 0 too), expiry (4 bytes)
    extras.writeUInt32BE(entry.expiresSeconds, 4);
    const serialized = serializer.serialize(OP_SETQ, entry.value, extras);
    const value = Buffer.isBuffer(serialized.value) ? serialized.value : Buffer.from(serialized.value);
    parts.push(
      header(
        OP_SETQ,
        key.length,
        serialized.extras.length,
        serialized.extras.length + key.length + value.length,
        opaque,
      ),
    );
    parts.push(serialized.extras, key, value);
  }
  parts.push(header(OP_NOOP, 0, 0, 0, opaque));
  return Buffer.concat(parts);
}

export interface AnswerHeader {
  magic: number;
  opcode: number;
  keyLength: number;
  extrasLength: number;
  dataType: number;
  status: number;
  totalBodyLength: number;
  opaque: number;
  cas: Buffer;
}

/** An answer as memjs's `parseMessage` makes it; `oversized` when its value was discarded. */
export interface Answer {
  header: AnswerHeader;
  key: Buffer;
  extras: Buffer;
  val: Buffer;
  oversized?: boolean;
}

/** An answer's 24-byte header. */
export function parseHeader(buf: Buffer): AnswerHeader {
  return {
    magic: buf[0],
    opcode: buf[1],
    keyLength: buf.readUInt16BE(2),
    extrasLength: buf[4],
    dataType: buf[5],
    status: buf.readUInt16BE(6),
    totalBodyLength: buf.readUInt32BE(8),
    opaque: buf.readUInt32BE(12),
    cas: buf.subarray(16, 24),
  };
}
