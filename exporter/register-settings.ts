import { DiagLogLevel } from '@opentelemetry/api';
import type { AppstatsExporterOptions } from './exporter.js';
import type { AppstatsSpanProcessorOptions } from './span-processor.js';

/** The instrumentations the register entry can turn on, by their `APPSTATS_INSTRUMENTATIONS` name. */
export const REGISTER_INSTRUMENTATIONS = ['http', 'undici', 'memjs', 'datastore'] as const;
export type RegisterInstrumentationName = (typeof REGISTER_INSTRUMENTATIONS)[number];

/** What the environment asks for; every field is optional, defaults are the classes' own. */
export interface RegisterSettings {
  disabled: boolean;
  processor: Omit<AppstatsSpanProcessorOptions, 'exporter'>;
  exporter: AppstatsExporterOptions;
  instrumentations: Record<RegisterInstrumentationName, boolean>;
  logLevel?: DiagLogLevel;
  /**
   * What was wrong in the environment, one line each, for the register entry to print: settings
   * are read before any logger exists, so the parser collects them instead of logging.
   */
  warnings: string[];
}

function number(env: NodeJS.ProcessEnv, name: string, warnings: string[]): number | undefined {
  const text = env[name]?.trim();
  if (!text) return undefined;
  const value = Number(text);
  if (Number.isFinite(value)) return value;
  warnings.push(`appstats: ${name}=${text} is not a number; ignored`);
  return undefined;
}

function list(text: string | undefined): string[] | undefined {
  if (text === undefined || text.trim() === '') return undefined;
  return text
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);
}

/**
 * One server as memjs reads it: `[user:password@]host[:port]`. memjs splits on `:` without
 * checking, so `memcache://host:11211` or `host:abc` would quietly become a host named `memcache`
 * or a port of NaN, and every write would fail unseen; an IPv6 literal (`[::1]:11211`) becomes a
 * host named `[`: give a host name that resolves to it instead.
 */
const SERVER = /^(?:[^@\s]*@)?[A-Za-z0-9._-]+(?::(\d{1,5}))?$/;

/** Warns about entries memjs would misread; the value is used as given either way. */
function checkMemcacheServers(name: string, text: string, warnings: string[]): void {
  const bad = text
    .split(',')
    .map((server) => server.trim())
    .filter((server) => {
      const port = SERVER.exec(server)?.[1];
      return !SERVER.test(server) || (port !== undefined && (Number(port) < 1 || Number(port) > 65535));
    });
  if (bad.length > 0)
    warnings.push(
      `appstats: ${name}=${text} is not a list of host:port (bad: ${bad.map((s) => JSON.stringify(s)).join(', ')}); ` +
        'writes to it will fail',
    );
}

const TRUE = /^(1|true|yes|on)$/i;

/**
 * Reads the set-up from environment variables. Pure (the environment is an argument; problems come
 * back in `warnings`): `APPSTATS_MEMCACHE` (or `MEMCACHE_SERVERS`), `APPSTATS_RECORD_FRACTION`,
 * `APPSTATS_KEY_PREFIX`, `APPSTATS_KEY_DISTANCE`, `APPSTATS_KEY_MODULUS`, `APPSTATS_MAX_STACK`,
 * `APPSTATS_IGNORE_PATHS` (comma-separated prefixes), `APPSTATS_NORMALIZE_PATHS` (comma-separated
 * route templates like `/score/:name/:points`, or `off`), `APPSTATS_INSTRUMENTATIONS` (comma-separated
 * subset of `http,undici,memjs,datastore`), `APPSTATS_DISABLED` / `OTEL_SDK_DISABLED`,
 * `OTEL_LOG_LEVEL`. The service name comes from `OTEL_SERVICE_NAME` / `OTEL_RESOURCE_ATTRIBUTES`,
 * as for any OpenTelemetry SDK.
 */
export function settingsFromEnv(env: NodeJS.ProcessEnv = process.env): RegisterSettings {
  const warnings: string[] = [];
  const processor: RegisterSettings['processor'] = {};
  const recordFraction = number(env, 'APPSTATS_RECORD_FRACTION', warnings);
  if (recordFraction !== undefined) processor.recordFraction = recordFraction;
  const maxStack = number(env, 'APPSTATS_MAX_STACK', warnings);
  if (maxStack !== undefined) processor.maxStack = maxStack;
  const ignorePaths = list(env.APPSTATS_IGNORE_PATHS);
  if (ignorePaths) processor.ignorePaths = ignorePaths;
  // Route templates for paths the framework gives no http.route; `off` groups by the path itself.
  const templates = list(env.APPSTATS_NORMALIZE_PATHS);
  if (templates?.length === 1 && /^(off|none|false|0)$/i.test(templates[0])) processor.normalizePath = false;
  else if (templates) {
    for (const template of templates.filter((t) => !t.startsWith('/')))
      warnings.push(`appstats: APPSTATS_NORMALIZE_PATHS template ${template} must start with /; ignored`);
    processor.routeTemplates = templates.filter((t) => t.startsWith('/'));
  }

  const exporter: AppstatsExporterOptions = {};
  const memcacheName = env.APPSTATS_MEMCACHE?.trim() ? 'APPSTATS_MEMCACHE' : 'MEMCACHE_SERVERS';
  const memcache = env[memcacheName]?.trim();
  if (memcache) {
    checkMemcacheServers(memcacheName, memcache, warnings);
    exporter.memcache = memcache;
  }
  if (env.APPSTATS_KEY_PREFIX?.trim()) exporter.keyPrefix = env.APPSTATS_KEY_PREFIX.trim();
  const keyDistance = number(env, 'APPSTATS_KEY_DISTANCE', warnings);
  if (keyDistance !== undefined) exporter.keyDistance = keyDistance;
  const keyModulus = number(env, 'APPSTATS_KEY_MODULUS', warnings);
  if (keyModulus !== undefined) exporter.keyModulus = keyModulus;

  const wanted = list(env.APPSTATS_INSTRUMENTATIONS)?.map((name) => name.toLowerCase());
  for (const name of wanted ?? []) {
    if (!(REGISTER_INSTRUMENTATIONS as readonly string[]).includes(name))
      warnings.push(
        `appstats: APPSTATS_INSTRUMENTATIONS names ${name}, not one of ${REGISTER_INSTRUMENTATIONS.join(',')}; ignored`,
      );
  }
  const on = (name: string) => wanted === undefined || wanted.includes(name);
  const instrumentations = Object.fromEntries(
    REGISTER_INSTRUMENTATIONS.map((name) => [name, on(name)]),
  ) as RegisterSettings['instrumentations'];

  const level = env.OTEL_LOG_LEVEL?.trim().toUpperCase();
  const logLevel =
    level && level in DiagLogLevel ? DiagLogLevel[level as keyof typeof DiagLogLevel] : undefined;
  if (level && logLevel === undefined)
    warnings.push(`appstats: OTEL_LOG_LEVEL=${env.OTEL_LOG_LEVEL} is not a log level; ignored`);
  return {
    disabled: TRUE.test(env.APPSTATS_DISABLED ?? '') || TRUE.test(env.OTEL_SDK_DISABLED ?? ''),
    processor,
    exporter,
    instrumentations,
    ...(logLevel !== undefined ? { logLevel } : {}),
    warnings,
  };
}
