import { DiagLogLevel, diag } from '@opentelemetry/api';
import type { AppstatsExporterOptions } from './exporter.js';
import type { AppstatsSpanProcessorOptions } from './span-processor.js';

/** What the environment asks for; every field is optional, defaults are the classes' own. */
export interface RegisterSettings {
  disabled: boolean;
  processor: Omit<AppstatsSpanProcessorOptions, 'exporter'>;
  exporter: AppstatsExporterOptions;
  instrumentations: { http: boolean; memjs: boolean; datastore: boolean };
  logLevel?: DiagLogLevel;
}

function number(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const text = env[name]?.trim();
  if (!text) return undefined;
  const value = Number(text);
  if (Number.isFinite(value)) return value;
  diag.warn(`appstats: ${name}=${text} is not a number; ignored`);
  return undefined;
}

function list(text: string | undefined): string[] | undefined {
  if (text === undefined || text.trim() === '') return undefined;
  return text
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);
}

const TRUE = /^(1|true|yes|on)$/i;

/**
 * Reads the set-up from environment variables. Pure (the environment is an argument):
 * `APPSTATS_MEMCACHE` (or `MEMCACHE_SERVERS`), `APPSTATS_RECORD_FRACTION`, `APPSTATS_KEY_PREFIX`,
 * `APPSTATS_MAX_STACK`, `APPSTATS_IGNORE_PATHS` (comma-separated prefixes),
 * `APPSTATS_INSTRUMENTATIONS` (comma-separated subset of `http,memjs,datastore`),
 * `APPSTATS_DISABLED` / `OTEL_SDK_DISABLED`, `OTEL_LOG_LEVEL`. The service name comes from
 * `OTEL_SERVICE_NAME` / `OTEL_RESOURCE_ATTRIBUTES`, as for any OpenTelemetry SDK.
 */
export function settingsFromEnv(env: NodeJS.ProcessEnv = process.env): RegisterSettings {
  const processor: RegisterSettings['processor'] = {};
  const recordFraction = number(env, 'APPSTATS_RECORD_FRACTION');
  if (recordFraction !== undefined) processor.recordFraction = recordFraction;
  const maxStack = number(env, 'APPSTATS_MAX_STACK');
  if (maxStack !== undefined) processor.maxStack = maxStack;
  const ignorePaths = list(env.APPSTATS_IGNORE_PATHS);
  if (ignorePaths) processor.ignorePaths = ignorePaths;
  const exporter: AppstatsExporterOptions = {};
  const memcache = env.APPSTATS_MEMCACHE?.trim() || env.MEMCACHE_SERVERS?.trim();
  if (memcache) exporter.memcache = memcache;
  if (env.APPSTATS_KEY_PREFIX?.trim()) exporter.keyPrefix = env.APPSTATS_KEY_PREFIX.trim();
  const wanted = list(env.APPSTATS_INSTRUMENTATIONS)?.map((name) => name.toLowerCase());
  const on = (name: string) => wanted === undefined || wanted.includes(name);
  const level = env.OTEL_LOG_LEVEL?.trim().toUpperCase();
  const logLevel =
    level && level in DiagLogLevel ? DiagLogLevel[level as keyof typeof DiagLogLevel] : undefined;
  return {
    disabled: TRUE.test(env.APPSTATS_DISABLED ?? '') || TRUE.test(env.OTEL_SDK_DISABLED ?? ''),
    processor,
    exporter,
    instrumentations: { http: on('http'), memjs: on('memjs'), datastore: on('datastore') },
    ...(logLevel !== undefined ? { logLevel } : {}),
  };
}
