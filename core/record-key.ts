import type { RecordKind } from './record.js';

/** Where records live in memcache: the original's bucketed key scheme. */
export interface KeyOptions {
  /** Default `__appstats__`; one prefix per app lets several apps share one memcache. */
  keyPrefix?: string;
  /** Milliseconds per slot. Default 100. */
  keyDistance?: number;
  /** Number of slots. Default 1000 (so 1000 slots of 100 ms: the last 100 seconds). */
  keyModulus?: number;
}

export type ResolvedKeyOptions = Required<KeyOptions>;

export const DEFAULT_KEY_OPTIONS: ResolvedKeyOptions = Object.freeze({
  keyPrefix: '__appstats__',
  keyDistance: 100,
  keyModulus: 1000,
});

/** Memcached keys are at most 250 bytes with no spaces or control characters. */
const MAX_PREFIX_BYTES = 200;

/**
 * Defaults merged, then checked once: a bad key option is a set-up mistake, so it throws here, at
 * construction, and never later on a request path.
 */
export function resolveKeyOptions(options: KeyOptions = {}): ResolvedKeyOptions {
  const resolved = {
    keyPrefix: options.keyPrefix ?? DEFAULT_KEY_OPTIONS.keyPrefix,
    keyDistance: options.keyDistance ?? DEFAULT_KEY_OPTIONS.keyDistance,
    keyModulus: options.keyModulus ?? DEFAULT_KEY_OPTIONS.keyModulus,
  };
  if (!Number.isSafeInteger(resolved.keyDistance) || resolved.keyDistance < 1) {
    throw new RangeError(`appstats: keyDistance must be a positive integer, got ${options.keyDistance}`);
  }
  if (!Number.isSafeInteger(resolved.keyModulus) || resolved.keyModulus < 1) {
    throw new RangeError(`appstats: keyModulus must be a positive integer, got ${options.keyModulus}`);
  }
  if (
    resolved.keyPrefix.length === 0 ||
    Buffer.byteLength(resolved.keyPrefix) > MAX_PREFIX_BYTES ||
    // biome-ignore lint/suspicious/noControlCharactersInRegex: memcached keys forbid control characters
    /[\s\x00-\x1f\x7f]/.test(resolved.keyPrefix)
  ) {
    throw new RangeError(
      `appstats: keyPrefix must be 1-${MAX_PREFIX_BYTES} bytes without spaces or control characters, got ${JSON.stringify(resolved.keyPrefix)}`,
    );
  }
  return resolved;
}

/** The slot index of a start time: `((startMs div distance) mod modulus) * distance`. */
export function slotIndex(startMs: number, options: ResolvedKeyOptions = DEFAULT_KEY_OPTIONS): number {
  const bucket = Math.floor(startMs / options.keyDistance);
  // JS `%` keeps the dividend's sign; the original's Python `%` did not. Start times are positive,
  // but a clock can lie, and a negative slot would make a key the viewer never reads.
  const slot = ((bucket % options.keyModulus) + options.keyModulus) % options.keyModulus;
  return slot * options.keyDistance;
}

function keyAt(index: number, kind: RecordKind, prefix: string): string {
  return `${prefix}:${String(index).padStart(6, '0')}:${kind}`;
}

/**
 * The memcache key of a request's part or full record, as the originals computed it.
 * @example recordKey(1700000012345, 'part') // '__appstats__:012300:part'
 */
export function recordKey(startMs: number, kind: RecordKind, keyOptions?: KeyOptions): string {
  const options = keyOptions ? resolveKeyOptions(keyOptions) : DEFAULT_KEY_OPTIONS;
  return keyAt(slotIndex(startMs, options), kind, options.keyPrefix);
}

/** Every part key, slot order: what the dashboard fetches in one multi-get. */
export function allPartKeys(keyOptions?: KeyOptions): string[] {
  const options = keyOptions ? resolveKeyOptions(keyOptions) : DEFAULT_KEY_OPTIONS;
  const keys = new Array<string>(options.keyModulus);
  for (let slot = 0; slot < options.keyModulus; slot++) {
    keys[slot] = keyAt(slot * options.keyDistance, 'part', options.keyPrefix);
  }
  return keys;
}
