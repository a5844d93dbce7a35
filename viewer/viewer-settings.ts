import {
  allPartKeys,
  type KeyOptions,
  type ResolvedKeyOptions,
  resolveKeyOptions,
} from '../core/record-key.js';
import { MemcacheStore } from '../stores/memcache-store.js';
import type { MemjsClient } from '../stores/memjs-client.js';
import { MemoryStore } from '../stores/memory-store.js';
import type { RecordStore } from '../stores/record-store.js';
import { storeFromOptions } from '../stores/resolve-store.js';
import { type RemoteAddressResolver, socketRemoteAddress, type ViewerAuth, validateAuth } from './auth.js';
import { BRAND } from './brand.js';
import { resolveSourceRoot } from './file-view.js';
import { normalizeBasePath } from './links.js';
import type { TraceLink } from './trace-link.js';
import { DEFAULT_WRONG_CREDENTIALS_PER_MINUTE } from './wrong-credentials.js';

export interface ViewerOptions extends KeyOptions {
  /** Where records are read; wins over `memcache`. */
  store?: RecordStore;
  /**
   * memcached servers `host:port[,host:port]` or a memjs client. Default: `APPSTATS_MEMCACHE` or
   * `MEMCACHE_SERVERS` from the environment, else an in-process memory store (the embedded default:
   * only records of this process show).
   */
  memcache?: string | MemjsClient;
  /**
   * The path the viewer is reached at, for its absolute links. Default: where it is mounted
   * (`app.route('/_ah/stats', viewer)` -> `/_ah/stats`); set it when a proxy strips a prefix.
   */
  basePath?: string;
  /**
   * Who may read it: a function, `{ username, password }` (basic) or `{ token }` (bearer). Default:
   * loopback clients only, addressed by a loopback name, not through a proxy.
   */
  auth?: ViewerAuth;
  /**
   * The client's address for the loopback-only default. Default: the TCP peer from
   * @hono/node-server (never a forwarded header). Other runtimes, or tests, can supply their own.
   */
  remoteAddress?: RemoteAddressResolver;
  /**
   * With basic or bearer auth: a client address that sends more wrong credentials than this in a
   * minute is answered 429 until the minute is over (clients behind one proxy share it). Default
   * 20; `Infinity` turns the limit off.
   */
  wrongCredentialsPerMinute?: number;
  /** The file view shows source files under this directory only (real paths). Default: off. */
  sourceRoot?: string;
  /** The app's name in the page header. Default `Appstats`. */
  title?: string;
  /**
   * A link to the request's trace in your tracing UI, e.g.
   * `({ traceId }) => \`https://jaeger.example/trace/${traceId}\``; http(s) only. Default: none.
   */
  traceLink?: TraceLink;
  /**
   * Keep decoded parts between dashboard views and decode only the slots whose bytes changed.
   * Default true; memory is bounded by the slots (`keyModulus` parts).
   */
  cacheDecodedParts?: boolean;
}

/** What the routes run with, checked once at set-up. */
export interface ViewerSettings {
  store: RecordStore;
  keyOptions: ResolvedKeyOptions;
  partKeys: string[];
  basePath: string | undefined;
  sourceRoot: string | undefined;
  title: string;
  storeLabel: string;
  traceLink: TraceLink | undefined;
  auth: ViewerAuth | undefined;
  remoteAddress: RemoteAddressResolver;
  wrongCredentialsPerMinute: number;
  cacheDecodedParts: boolean;
}

type Env = Record<string, string | undefined>;

/** A whole positive number from the environment; a mistake throws, naming the variable. */
function envInteger(env: Env, name: string): number | undefined {
  const text = env[name];
  if (text === undefined || text === '') return undefined;
  if (!/^\d{1,15}$/.test(text.trim()) || Number(text) < 1)
    throw new RangeError(
      `appstats viewer: ${name} must be a positive whole number, got ${JSON.stringify(text)}`,
    );
  return Number(text);
}

/**
 * The key options: each given option, else the environment the recorder reads too
 * (`APPSTATS_KEY_PREFIX`, `APPSTATS_KEY_DISTANCE`, `APPSTATS_KEY_MODULUS`), else the defaults. A
 * viewer that reads other keys than the app writes shows an empty dashboard, so they must agree.
 */
export function keyOptionsFrom(options: KeyOptions, env: Env): ResolvedKeyOptions {
  return resolveKeyOptions({
    keyPrefix: options.keyPrefix ?? (env.APPSTATS_KEY_PREFIX || undefined),
    keyDistance: options.keyDistance ?? envInteger(env, 'APPSTATS_KEY_DISTANCE'),
    keyModulus: options.keyModulus ?? envInteger(env, 'APPSTATS_KEY_MODULUS'),
  });
}

/** The store in words, for the empty dashboard: servers by host:port only (never a `user:password@`). */
function describeStore(options: ViewerOptions, store: RecordStore): string {
  if (store instanceof MemcacheStore) return `memcache ${store.servers}`;
  if (options.store) return store instanceof MemoryStore ? 'an in-process memory store' : 'the given store';
  return "this process's memory (no memcache configured)";
}

function perMinute(value: unknown): number {
  if (value === undefined) return DEFAULT_WRONG_CREDENTIALS_PER_MINUTE;
  if (value === Number.POSITIVE_INFINITY || (Number.isInteger(value) && (value as number) >= 1))
    return value as number;
  throw new RangeError(
    `appstats viewer: wrongCredentialsPerMinute must be a whole number of at least 1, or Infinity; got ${String(value)}`,
  );
}

/** Options checked once, at set-up: a mistake throws here, never on a request. */
export function resolveViewerSettings(options: ViewerOptions, env: Env = process.env): ViewerSettings {
  const auth = validateAuth(options.auth);
  const wrongCredentialsPerMinute = perMinute(options.wrongCredentialsPerMinute);
  const keyOptions = keyOptionsFrom(options, env);
  const basePath = options.basePath === undefined ? undefined : normalizeBasePath(options.basePath);
  const sourceRoot = options.sourceRoot === undefined ? undefined : resolveSourceRoot(options.sourceRoot);
  // Last: every check above throws before a memcache client is made.
  const store = storeFromOptions(options);
  return {
    store,
    keyOptions,
    partKeys: allPartKeys(keyOptions),
    basePath,
    sourceRoot,
    title: options.title ?? BRAND,
    storeLabel: describeStore(options, store),
    traceLink: typeof options.traceLink === 'function' ? options.traceLink : undefined,
    auth,
    remoteAddress: options.remoteAddress ?? socketRemoteAddress,
    wrongCredentialsPerMinute,
    cacheDecodedParts: options.cacheDecodedParts !== false,
  };
}
