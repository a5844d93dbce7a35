/**
 * One-line set-up: `node --import otel-appstats/register app.js` (ESM or CommonJS app).
 *
 * Registers the ESM import hook (so `import memjs from 'memjs'` is patched too), the http, undici
 * (fetch), memjs and Datastore instrumentations, and a global NodeTracerProvider whose
 * AppstatsSpanProcessor writes a record per request to memcache, all configured from environment
 * variables (see docs/configuration.md). Whatever fails here is reported on stderr and leaves the
 * app running untraced: a profiler must never be why an app does not start.
 *
 * No top-level await: `require('otel-appstats/register')` works too (Node 20.19+, which can
 * require ES modules without one).
 */
// First, on its own: its body registers the instrumentations before the modules below load memjs
// (a side-effect import also keeps import sorting from moving it).
import './register-hooks.js';
import { diag } from '@opentelemetry/api';
import type { Instrumentation } from '@opentelemetry/instrumentation';
import { defaultResource, detectResources, envDetector } from '@opentelemetry/resources';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { AppstatsExporter, type ExporterStats } from './exporter/exporter.js';
import { type RegisterSettings, settingsFromEnv } from './exporter/register-settings.js';
import { AppstatsSpanProcessor } from './exporter/span-processor.js';
import { hooks } from './register-hooks.js';

export { type RegisterSettings, settingsFromEnv };

/** What the register entry set up, for an app that wants to flush or read stats. */
export interface AppstatsRegistration {
  processor: AppstatsSpanProcessor;
  exporter: AppstatsExporter;
  instrumentations: Instrumentation[];
  /** The exporter's counters: records written, failed, dropped, bytes (see docs/reliability.md). */
  stats(): ExporterStats;
  /** Writes what is pending and stops recording. */
  shutdown(): Promise<void>;
}

/** Set once the register entry has run (undefined when disabled or when set-up failed). */
export let appstats: AppstatsRegistration | undefined;

function setUp(settings: RegisterSettings, instrumentations: Instrumentation[]): AppstatsRegistration {
  const exporter = new AppstatsExporter(settings.exporter);
  const processor = new AppstatsSpanProcessor({ ...settings.processor, exporter });
  const resource = defaultResource().merge(detectResources({ detectors: [envDetector] }));
  const provider = new NodeTracerProvider({ resource, spanProcessors: [processor] });
  provider.register();
  // Records of the last requests are written asynchronously: give them a chance on a clean exit.
  process.once('beforeExit', () => {
    provider.forceFlush().catch((error) => diag.warn('appstats: flush at exit failed', error));
  });
  diag.debug(
    `appstats: registered (${instrumentations.map((i) => i.instrumentationName).join(', ') || 'no instrumentations'})`,
  );
  return {
    processor,
    exporter,
    instrumentations,
    stats: () => exporter.stats(),
    async shutdown() {
      for (const instrumentation of instrumentations) instrumentation.disable();
      await provider.shutdown();
    },
  };
}

if (hooks.settings && !hooks.settings.disabled) {
  try {
    appstats = setUp(hooks.settings, hooks.instrumentations);
  } catch (error) {
    for (const instrumentation of hooks.instrumentations) instrumentation.disable();
    diag.error('appstats: set-up failed; the app runs without appstats', error);
  }
}
