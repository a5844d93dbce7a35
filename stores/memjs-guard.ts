import type { Socket } from 'node:net';
import { type Answer, HEADER_BYTES, parseHeader, RESPONSE_MAGIC } from './memcache-binary.js';

/**
 * What a cut, broken or hostile memcache answer must not do to memjs 1.3.2 (issue 12, items 4 and
 * 11). memjs keeps the bytes of an unfinished answer in `server.responseBuffer` and never clears
 * them on error, close or reconnect: after one answer cut mid-way, every later answer is parsed
 * behind those stale bytes, and reads fail forever while memcached is healthy. It also re-copies
 * that whole buffer on every chunk, so an endpoint streaming bytes costs the event loop O(n²). And
 * on its connect-timeout path it forgets a socket (`_socket = undefined` before `error()`), so
 * `close()` cannot end it and the process does not exit.
 *
 * `guardServer` replaces, on each memjs Server instance (never memjs's prototype), the answer
 * parser with one that:
 *   - starts empty on every new connection and after every error (no stale bytes);
 *   - keeps chunks in a list and joins them once per message (linear in the bytes);
 *   - refuses what is not a memcached binary answer (magic 0x81) or declares a body over
 *     `MAX_ANSWER_BYTES`, by dropping the connection (memjs's `error`: pending operations fail);
 *   - for batches that asked for it (`limitValues`), reads only the key of a value over the limit and
 *     discards its bytes as they arrive: the value is reported as oversized, never buffered.
 * It also fails the pending operations when the server closes the connection (memjs leaves them
 * pending until a timer on the dead socket that never fires), and destroys every socket memjs
 * forgot. Both our pipelined batches and memjs's own get/set go through the same parser.
 */

/** Largest body of one answer accepted: memcached's item limit is 1 MiB by default (`-I` raises it). */
export const MAX_ANSWER_BYTES = 16 * 1024 * 1024;

const OP_SASL_LIST = 0x20;
const OP_SASL_AUTH = 0x21;
const STATUS_AUTH_ERROR = 0x20;

/** The memjs Server internals the guard wraps (memjs 1.x, lib/memjs/server.js). */
export interface GuardableServer {
  host: string;
  port: number;
  _socket?: Socket;
  errorCallbacks: Record<number, unknown>;
  sock(sasl: boolean, go: (socket: Socket) => void): void;
  responseHandler(data: Buffer): void;
  respond(answer: Answer): void;
  error(error: unknown): void;
  saslAuth(): void;
  emit(event: string): boolean;
  close(): void;
}

interface Guard {
  chunks: Buffer[];
  buffered: number;
  /** Bytes of an oversized value still to discard, and the answer to deliver once they are. */
  discarding: number;
  discarded?: Answer;
  /** Per batch (opaque): largest value kept (larger ones are discarded as they arrive), bytes of answers allowed. */
  valueLimits: Map<number, BatchLimit>;
  /** Every socket memjs made that has not closed yet, forgotten ones included. */
  sockets: Set<Socket>;
}

interface BatchLimit {
  maxValue: number;
  maxTotal: number;
  total: number;
}

const guards = new WeakMap<GuardableServer, Guard>();

function reset(guard: Guard): void {
  guard.chunks = [];
  guard.buffered = 0;
  guard.discarding = 0;
  guard.discarded = undefined;
}

/** The first `n` buffered bytes (n <= buffered), removed from the buffer; one copy at most. */
function take(guard: Guard, n: number): Buffer {
  const first = guard.chunks[0];
  let out: Buffer;
  if (first.length >= n) {
    out = first.subarray(0, n);
    if (first.length === n) guard.chunks.shift();
    else guard.chunks[0] = first.subarray(n);
  } else {
    out = Buffer.allocUnsafe(n);
    let at = 0;
    while (at < n) {
      const chunk = guard.chunks[0];
      const used = Math.min(chunk.length, n - at);
      chunk.copy(out, at, 0, used);
      at += used;
      if (used === chunk.length) guard.chunks.shift();
      else guard.chunks[0] = chunk.subarray(used);
    }
  }
  guard.buffered -= n;
  return out;
}

function peekHeader(guard: Guard): Buffer {
  const first = guard.chunks[0];
  if (first.length >= HEADER_BYTES) return first.subarray(0, HEADER_BYTES);
  const header = take(guard, HEADER_BYTES);
  guard.chunks.unshift(header);
  guard.buffered += HEADER_BYTES;
  return header;
}

/** What memjs's own responseHandler does with a whole answer. */
function dispatch(server: GuardableServer, answer: Answer): void {
  if (answer.header.opcode === OP_SASL_LIST) server.saslAuth();
  else if (answer.header.status === STATUS_AUTH_ERROR)
    server.error('Memcached server authentication failed!');
  else if (answer.header.opcode === OP_SASL_AUTH) server.emit('authenticated');
  else server.respond(answer);
}

function refuse(server: GuardableServer, guard: Guard, message: string): void {
  reset(guard);
  server.error(new Error(`memcached ${server.host}:${server.port}: ${message}; connection dropped`));
}

/**
 * Counts one answer against its batch's byte budget; past it, the connection is dropped. Reading
 * even discarded bytes costs the event loop (1 GB of oversized values at 1000 part keys was 2.4 s of
 * it): a read stops once its answers pass what its keys could hold at their bound.
 */
function overBudget(server: GuardableServer, guard: Guard, limit: BatchLimit, bytes: number): boolean {
  limit.total += bytes;
  if (limit.total <= limit.maxTotal) return false;
  refuse(server, guard, `the answers to one read passed ${limit.maxTotal} bytes`);
  return true;
}

function onData(server: GuardableServer, guard: Guard, data: Buffer): void {
  guard.chunks.push(data);
  guard.buffered += data.length;
  while (guard.buffered > 0) {
    if (guard.discarding > 0) {
      const n = Math.min(guard.discarding, guard.buffered);
      take(guard, n);
      guard.discarding -= n;
      if (guard.discarding > 0) return;
      const answer = guard.discarded as Answer;
      guard.discarded = undefined;
      dispatch(server, answer);
      continue;
    }
    if (guard.buffered < HEADER_BYTES) return;
    const header = parseHeader(peekHeader(guard));
    const valueLength = header.totalBodyLength - header.keyLength - header.extrasLength;
    if (header.magic !== RESPONSE_MAGIC || valueLength < 0) {
      refuse(server, guard, `not a memcached binary answer (first byte 0x${header.magic.toString(16)})`);
      return;
    }
    const limit = guard.valueLimits.get(header.opaque);
    if (limit !== undefined && valueLength > limit.maxValue) {
      const prefix = HEADER_BYTES + header.extrasLength + header.keyLength;
      if (guard.buffered < prefix) return;
      if (overBudget(server, guard, limit, HEADER_BYTES + header.totalBodyLength)) return;
      const head = take(guard, prefix);
      const extras = head.subarray(HEADER_BYTES, HEADER_BYTES + header.extrasLength);
      const key = head.subarray(HEADER_BYTES + header.extrasLength);
      guard.discarding = valueLength;
      guard.discarded = { header, key, extras, val: Buffer.alloc(0), oversized: true };
      continue;
    }
    if (header.totalBodyLength > MAX_ANSWER_BYTES) {
      refuse(server, guard, `an answer of ${header.totalBodyLength} bytes (more than ${MAX_ANSWER_BYTES})`);
      return;
    }
    const total = HEADER_BYTES + header.totalBodyLength;
    if (guard.buffered < total) return;
    if (limit !== undefined && overBudget(server, guard, limit, total)) return;
    const message = take(guard, total);
    const keyAt = HEADER_BYTES + header.extrasLength;
    const valAt = keyAt + header.keyLength;
    dispatch(server, {
      header,
      extras: message.subarray(HEADER_BYTES, keyAt),
      key: message.subarray(keyAt, valAt),
      val: message.subarray(valAt),
    });
  }
}

/** Installs the guard on one memjs Server instance (once; later calls return the same guard). */
export function guardServer(server: GuardableServer): void {
  if (guards.has(server)) return;
  const guard: Guard = {
    chunks: [],
    buffered: 0,
    discarding: 0,
    valueLimits: new Map(),
    sockets: new Set(),
  };
  guards.set(server, guard);
  const memjsSock = server.sock;
  const memjsError = server.error;
  server.responseHandler = (data: Buffer) => onData(server, guard, data);
  server.sock = function sock(this: GuardableServer, sasl, go) {
    const before = this._socket;
    // A new connection starts with nothing buffered, and no socket of an older one stays alive.
    if (!before) {
      reset(guard);
      for (const socket of guard.sockets) retire(guard, socket);
    }
    memjsSock.call(this, sasl, go);
    const socket = this._socket;
    if (socket && socket !== before && !guard.sockets.has(socket)) {
      guard.sockets.add(socket);
      socket.once('close', () => {
        guard.sockets.delete(socket);
        // memjs forgets the socket on close but leaves its operations pending (their timer was on
        // the dead socket): fail them now, as a socket error would.
        if (this._socket === undefined && Object.keys(this.errorCallbacks).length > 0)
          this.error(new Error(`memcached ${this.host}:${this.port}: connection closed`));
        else if (this._socket === undefined) reset(guard);
      });
    }
  };
  server.error = function error(this: GuardableServer, reason: unknown) {
    reset(guard);
    // memjs's timeout paths drop `_socket` before calling error(): end those sockets here. And
    // detach memjs from every socket it is done with first: its 'close' handler sets `_socket =
    // undefined` whenever ANY of its sockets closes, so the late close of this one would orphan
    // the next connection (its operations then failed as "connection closed").
    if (this._socket) retire(guard, this._socket);
    for (const socket of guard.sockets) retire(guard, socket);
    memjsError.call(this, reason);
  };
}

/** Ends a socket memjs is done with, without its handlers: no late data, close or timeout reaches memjs. */
function retire(guard: Guard, socket: Socket): void {
  for (const event of ['data', 'close', 'timeout', 'connect', 'error']) socket.removeAllListeners(event);
  socket.on('error', () => {});
  socket.setTimeout(0);
  socket.destroy();
  guard.sockets.delete(socket);
}

/**
 * Values over `maxValue` in the answers to batch `opaque` are discarded as they arrive (oversized);
 * once its answers pass `maxTotal` bytes (discarded ones counted whole), the connection is dropped.
 */
export function limitValues(
  server: GuardableServer,
  opaque: number,
  maxValue: number,
  maxTotal: number,
): void {
  guardServer(server);
  guards.get(server)?.valueLimits.set(opaque, { maxValue, maxTotal, total: 0 });
}

export function unlimitValues(server: GuardableServer, opaque: number): void {
  guards.get(server)?.valueLimits.delete(opaque);
}

/** Every live socket of a guarded server, the ones memjs forgot included. */
export function socketsOf(server: GuardableServer): Socket[] {
  const guard = guards.get(server);
  const sockets = guard ? [...guard.sockets] : [];
  if (server._socket && !sockets.includes(server._socket)) sockets.push(server._socket);
  return sockets;
}

/** memjs's close (ends the current socket), and the end of any socket it forgot. */
export function closeServer(server: GuardableServer): void {
  server.close();
  for (const socket of socketsOf(server)) if (socket !== server._socket) socket.destroy();
}
