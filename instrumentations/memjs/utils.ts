import { clip } from '../../core/units.js';

/** How one memjs `Client` method is called and answered: enough to wrap it without reading it. */
export interface CommandSpec {
  /** The memjs method name, also `db.operation.name`. */
  readonly method: string;
  /** The record's call name, close to the original's (`memcache.Get`). */
  readonly callName: string;
  /** Where the callback goes in the current (non-deprecated) signature. */
  readonly callbackIndex: number;
  /** `args[0]` is a key that picks the server. */
  readonly keyed: boolean;
  /** `args[1]` is a value written. */
  readonly writesValue?: boolean;
  /** `args[1]` is an increment amount. */
  readonly amount?: boolean;
  /** `args[2]` is an options object (`expires`, `initial`). */
  readonly hasOptions?: boolean;
  /** `args[1]` is an expiry in seconds (touch). */
  readonly expiresArg?: boolean;
  /** Without a callback, memjs returns a promise (by calling itself again with one). */
  readonly promise: boolean;
  /** Sent to every server; the callback runs once per server (stats) or once for all (flush). */
  readonly everyServer?: 'once-each' | 'once';
  /** How memjs reports the outcome, to name it in the response summary. */
  readonly outcome: 'value' | 'stored' | 'deleted' | 'touched' | 'counter' | 'flushed' | 'stats';
}

/**
 * The memjs 1.x commands. Methods absent from the installed version are skipped when patching
 * (memjs 1.3.2 has no `version`).
 */
export const COMMANDS: readonly CommandSpec[] = [
  { method: 'get', callName: 'memcache.Get', callbackIndex: 1, keyed: true, promise: true, outcome: 'value' },
  ...(['set', 'add', 'replace'] as const).map(
    (method): CommandSpec => ({
      method,
      callName: `memcache.${capitalize(method)}`,
      callbackIndex: 3,
      keyed: true,
      writesValue: true,
      hasOptions: true,
      promise: true,
      outcome: 'stored',
    }),
  ),
  {
    method: 'delete',
    callName: 'memcache.Delete',
    callbackIndex: 1,
    keyed: true,
    promise: true,
    outcome: 'deleted',
  },
  ...(['increment', 'decrement'] as const).map(
    (method): CommandSpec => ({
      method,
      callName: `memcache.${capitalize(method)}`,
      callbackIndex: 3,
      keyed: true,
      amount: true,
      hasOptions: true,
      promise: true,
      outcome: 'counter',
    }),
  ),
  ...(['append', 'prepend'] as const).map(
    (method): CommandSpec => ({
      method,
      callName: `memcache.${capitalize(method)}`,
      callbackIndex: 2,
      keyed: true,
      writesValue: true,
      promise: true,
      outcome: 'stored',
    }),
  ),
  {
    method: 'touch',
    callName: 'memcache.Touch',
    callbackIndex: 2,
    keyed: true,
    expiresArg: true,
    promise: true,
    outcome: 'touched',
  },
  {
    method: 'flush',
    callName: 'memcache.Flush',
    callbackIndex: 0,
    keyed: false,
    promise: true,
    everyServer: 'once',
    outcome: 'flushed',
  },
  {
    method: 'statsWithKey',
    callName: 'memcache.Stats',
    callbackIndex: 1,
    keyed: false,
    promise: false,
    everyServer: 'once-each',
    outcome: 'stats',
  },
  {
    method: 'stats',
    callName: 'memcache.Stats',
    callbackIndex: 0,
    keyed: false,
    promise: false,
    everyServer: 'once-each',
    outcome: 'stats',
  },
  {
    method: 'resetStats',
    callName: 'memcache.ResetStats',
    callbackIndex: 0,
    keyed: false,
    promise: false,
    everyServer: 'once-each',
    outcome: 'stats',
  },
];

function capitalize(word: string): string {
  return word.charAt(0).toUpperCase() + word.slice(1);
}

/**
 * Where the caller's callback is: the first function argument (memjs's deprecated signatures put it
 * earlier, e.g. `set(key, value, callback, expires)`), else -1.
 */
export function callbackIndexOf(args: ArrayLike<unknown>): number {
  for (let i = 0; i < args.length; i++) if (typeof args[i] === 'function') return i;
  return -1;
}

/** Byte length of a value as memjs would send it; undefined for values a serializer must turn into bytes. */
export function byteLength(value: unknown): number | undefined {
  if (typeof value === 'string') return Buffer.byteLength(value);
  if (value instanceof Uint8Array) return value.byteLength;
  return undefined;
}

/** A key as the summary shows it: quoted, escaped, cut so the fields after it still fit. */
export function keyRepr(key: unknown, maxRepr: number): string {
  const text = typeof key === 'string' ? key : key instanceof Uint8Array ? Buffer.from(key).toString() : '';
  const quoted = JSON.stringify(text);
  return `"${clip(quoted.slice(1, -1), Math.max(16, maxRepr - 34))}"`;
}

/** What a command asked for, as memjs saw it; read from its arguments, never throwing. */
export interface CommandRequest {
  key?: unknown;
  valueBytes?: number;
  amount?: number;
  initial?: number;
  /** Effective expiry in seconds (the command's, else the client's default); 0 = never. */
  expires?: number;
}

export function requestOf(
  spec: CommandSpec,
  args: ArrayLike<unknown>,
  clientDefaultExpires: number,
): CommandRequest {
  const request: CommandRequest = {};
  if (spec.keyed) request.key = args[0];
  if (spec.writesValue) request.valueBytes = byteLength(args[1]);
  if (spec.amount && typeof args[1] === 'number') request.amount = args[1];
  if (spec.hasOptions) {
    // memjs's deprecated form `set(key, value, callback, expires)` moves the expiry after the callback.
    const options = args[2];
    const deprecated = typeof options === 'function';
    const expires = deprecated ? args[3] : (options as { expires?: unknown } | null | undefined)?.expires;
    request.expires = (typeof expires === 'number' && expires) || clientDefaultExpires || 0;
    if (spec.amount) {
      const initial = deprecated ? args[4] : (options as { initial?: unknown } | null | undefined)?.initial;
      if (typeof initial === 'number') request.initial = initial;
    }
  }
  if (spec.expiresArg)
    request.expires = (typeof args[1] === 'number' && args[1]) || clientDefaultExpires || 0;
  return request;
}

/** `key="user:42" bytes=812 expires=600`, bounded by maxRepr. */
export function requestSummary(spec: CommandSpec, request: CommandRequest, maxRepr: number): string {
  const parts: string[] = [];
  if (spec.keyed) parts.push(`key=${keyRepr(request.key, maxRepr)}`);
  else if (spec.everyServer) parts.push('all servers');
  if (request.valueBytes !== undefined) parts.push(`bytes=${request.valueBytes}`);
  if (request.amount !== undefined) parts.push(`amount=${request.amount}`);
  if (request.initial !== undefined) parts.push(`initial=${request.initial}`);
  if (request.expires) parts.push(`expires=${request.expires}`);
  return clip(parts.join(' '), maxRepr);
}

/** What a command answered, in one shape whatever the form (callback or promise). */
export interface CommandOutcome {
  /** get: whether the key was there. */
  hit?: boolean;
  /** get: bytes of the value returned. */
  valueBytes?: number;
  /** store, delete, touch, counter: memjs's `success`. */
  success?: boolean;
  /** increment / decrement: the new value. */
  counter?: number;
  /** flush, stats: servers that answered, and the stats they returned. */
  servers?: number;
  stats?: number;
}

/** The outcome from a callback's arguments after `err` (`value, flags` / `success` / `success, value`). */
export function outcomeFromCallback(spec: CommandSpec, results: readonly unknown[]): CommandOutcome {
  switch (spec.outcome) {
    case 'value': {
      const value = results[0];
      const hit = value !== null && value !== undefined;
      return hit ? { hit, valueBytes: byteLength(value) } : { hit };
    }
    case 'counter':
      return {
        success: results[0] === true,
        ...(typeof results[1] === 'number' ? { counter: results[1] } : {}),
      };
    case 'flushed': {
      const perServer = results[0];
      return { servers: perServer && typeof perServer === 'object' ? Object.keys(perServer).length : 0 };
    }
    case 'stats':
      return {};
    default:
      return { success: results[0] === true };
  }
}

/** The outcome from what memjs's promise resolved to (`{value, flags}` / `success` / `{success, value}`). */
export function outcomeFromPromise(spec: CommandSpec, resolved: unknown): CommandOutcome {
  const object = (resolved ?? {}) as { value?: unknown; flags?: unknown; success?: unknown };
  switch (spec.outcome) {
    case 'value':
      return outcomeFromCallback(spec, [object.value, object.flags]);
    case 'counter':
      return outcomeFromCallback(spec, [object.success, object.value]);
    default:
      return outcomeFromCallback(spec, [resolved]);
  }
}

const SUCCESS_WORDS: Record<string, [string, string]> = {
  stored: ['stored', 'not stored'],
  deleted: ['deleted', 'not found'],
  touched: ['touched', 'not found'],
};

/** `hit 812 bytes` / `miss` / `stored` / `value=43` ..., bounded by maxRepr. */
export function responseSummary(spec: CommandSpec, outcome: CommandOutcome, maxRepr: number): string {
  let text: string;
  switch (spec.outcome) {
    case 'value':
      text = outcome.hit
        ? outcome.valueBytes !== undefined
          ? `hit ${outcome.valueBytes} bytes`
          : 'hit'
        : 'miss';
      break;
    case 'counter':
      text = outcome.counter !== undefined ? `value=${outcome.counter}` : outcome.success ? 'ok' : 'failed';
      break;
    case 'flushed':
      text = `flushed ${outcome.servers ?? 0} server${outcome.servers === 1 ? '' : 's'}`;
      break;
    case 'stats':
      text = `${outcome.servers ?? 0} server${outcome.servers === 1 ? '' : 's'}, ${outcome.stats ?? 0} stats`;
      break;
    default: {
      const [yes, no] = SUCCESS_WORDS[spec.outcome] ?? ['ok', 'failed'];
      text = outcome.success ? yes : no;
    }
  }
  return clip(text, maxRepr);
}
