import { diag } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { DEFAULT_MAX_STACK } from '../core/call-site.js';
import { pathNormalizer } from '../core/normalize-path.js';
import { createRedactor, type Redactor } from '../core/redact.js';
import type { AppstatsSpanProcessorOptions } from './processor-options.js';

/** The processor's options, resolved once: defaults filled, bad values clamped with a warning. */
export interface ProcessorSettings {
  readonly recordFraction: number;
  readonly shouldRecord?: (rootSpan: ReadableSpan) => boolean;
  readonly normalizePath?: (path: string) => string;
  readonly ignorePaths: readonly (string | RegExp)[];
  readonly maxPendingMs: number;
  readonly maxOpenRequests: number;
  readonly maxCallsPerRequest: number;
  readonly maxContextSpans: number;
  readonly maxBufferedSpans: number;
  readonly maxRequestAgeMs: number;
  readonly maxStack: number;
  readonly captureStacks: boolean;
  readonly maxStackCapturesPerSecond: number;
  readonly maxStackTimeShare: number;
  readonly redactor: Redactor;
}

/** 2% of the main thread for call stacks: a busy app pays a bounded amount (docs/performance.md). */
const DEFAULT_STACK_TIME_SHARE = 0.02;

function clampInt(name: string, value: number | undefined, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  if (Number.isFinite(value) && value >= min) return Math.floor(value);
  diag.warn(`appstats: ${name} must be a number >= ${min}, got ${value}; using ${fallback}`);
  return fallback;
}

function normalizerOf(options: AppstatsSpanProcessorOptions): ((path: string) => string) | undefined {
  if (options.normalizePath === false) return undefined;
  if (options.normalizePath) return options.normalizePath;
  const { normalize, invalid } = pathNormalizer(options.routeTemplates);
  for (const template of invalid)
    diag.warn(`appstats: route template ${template} must start with /; ignored`);
  return normalize;
}

/** Resolves the options as OTel's processors do: once, never throwing, warning through diag. */
export function resolveProcessorSettings(options: AppstatsSpanProcessorOptions): ProcessorSettings {
  const fraction = options.recordFraction ?? 1;
  const fractionOk = fraction >= 0 && fraction <= 1;
  if (!fractionOk) diag.warn(`appstats: recordFraction must be in 0..1, got ${fraction}; using 1`);
  const maxStack = clampInt('maxStack', options.maxStack, DEFAULT_MAX_STACK, 0);
  const perSecond = options.maxStackCapturesPerSecond ?? Number.POSITIVE_INFINITY;
  if (!(perSecond >= 0))
    diag.warn(`appstats: maxStackCapturesPerSecond must be >= 0, got ${perSecond}; using no cap`);
  const share = options.maxStackTimeShare ?? DEFAULT_STACK_TIME_SHARE;
  const shareOk = share >= 0 && share <= 1;
  if (!shareOk)
    diag.warn(`appstats: maxStackTimeShare must be in 0..1, got ${share}; using ${DEFAULT_STACK_TIME_SHARE}`);
  return {
    recordFraction: fractionOk ? fraction : 1,
    shouldRecord: options.shouldRecord,
    normalizePath: normalizerOf(options),
    ignorePaths: options.ignorePaths ?? ['/_ah/stats'],
    maxPendingMs: clampInt('maxPendingMs', options.maxPendingMs, 2000, 0),
    maxOpenRequests: clampInt('maxOpenRequests', options.maxOpenRequests, 1000, 1),
    maxCallsPerRequest: clampInt('maxCallsPerRequest', options.maxCallsPerRequest, 2000, 0),
    maxContextSpans: clampInt('maxContextSpans', options.maxContextSpans, 200, 0),
    maxBufferedSpans: clampInt('maxBufferedSpans', options.maxBufferedSpans, 100_000, 1),
    maxRequestAgeMs: clampInt('maxRequestAgeMs', options.maxRequestAgeMs, 300_000, 1),
    maxStack,
    captureStacks: (options.captureStacks ?? true) && maxStack > 0,
    maxStackCapturesPerSecond: perSecond >= 0 ? perSecond : Number.POSITIVE_INFINITY,
    maxStackTimeShare: shareOk ? share : DEFAULT_STACK_TIME_SHARE,
    redactor: createRedactor(options),
  };
}
