/**
 * One-line set-up: `node --import otel-appstats/register app.js` (ESM or CommonJS app).
 *
 * Registers the ESM import hook (so `import memjs from 'memjs'` is patched too), the http, memjs and
 * Datastore instrumentations, and a global NodeTracerProvider whose AppstatsSpanProcessor writes a
 * record per request to memcache, all configured from environment variables (see
 * docs/instrumentations.md). Whatever fails here is reported through diag and leaves the app
 * running untraced: a profiler must never be why an app does not start.
 */
import { register as registerLoaderHook } from 'node:module';
import { DiagConsoleLogger, diag } from '@opentelemetry/api';
import type { Instrumentation } from '@opentelemetry/instrumentation';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { type RegisterSettings, settingsFromEnv } from './exporter/register-settings.js';
import type { AppstatsSpanProcessor } from './exporter/span-processor.js';
import { DatastoreInstrumentation } from './instrumentations/datastore/instrumentation.js';
import { MemjsInstrumentation } from './instrumentations/memjs/instrumentation.js';

export { type RegisterSettings, settingsFromEnv };

/** What the register entry set up, for an app that wants to flush or read stats. */
export interface AppstatsRegistration {
  processor: AppstatsSpanProcessor;
  instrumentations: Instrumentation[];
  /** Writes what is pending and stops recording. */
  shutdown(): Promise<void>;
}

/** Set once the register entry has run (undefined when disabled or when set-up failed). */
export let appstats: AppstatsRegistration | undefined;

async function setUp(settings: RegisterSettings): Promise<AppstatsRegistration | undefined> {
  // 1. The ESM hook first: modules imported after it (the app's) can be patched.
  try {
    registerLoaderHook('@opentelemetry/instrumentation/hook.mjs', import.meta.url);
  } catch (error) {
    diag.warn('appstats: could not register the ESM import hook; ESM imports will not be traced', error);
  }
  // 2. The instrumentations, before anything loads memjs or the Datastore client (the exporter
  // itself loads memjs below): the global tracer provider they use is set in step 3.
  const instrumentations: Instrumentation[] = [];
  if (settings.instrumentations.http) instrumentations.push(new HttpInstrumentation());
  if (settings.instrumentations.memjs) instrumentations.push(new MemjsInstrumentation());
  if (settings.instrumentations.datastore) instrumentations.push(new DatastoreInstrumentation());
  registerInstrumentations({ instrumentations });
  // 3. The provider, processor and exporter.
  const [{ AppstatsSpanProcessor }, { AppstatsExporter }, { NodeTracerProvider }, resources] =
    await Promise.all([
      import('./exporter/span-processor.js'),
      import('./exporter/exporter.js'),
      import('@opentelemetry/sdk-trace-node'),
      import('@opentelemetry/resources'),
    ]);
  const processor = new AppstatsSpanProcessor({
    ...settings.processor,
    exporter: new AppstatsExporter(settings.exporter),
  });
  const resource = resources
    .defaultResource()
    .merge(resources.detectResources({ detectors: [resources.envDetector] }));
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
    instrumentations,
    async shutdown() {
      for (const instrumentation of instrumentations) instrumentation.disable();
      await provider.shutdown();
    },
  };
}

try {
  const settings = settingsFromEnv();
  if (settings.logLevel !== undefined) diag.setLogger(new DiagConsoleLogger(), settings.logLevel);
  if (settings.disabled) diag.info('appstats: disabled by APPSTATS_DISABLED / OTEL_SDK_DISABLED');
  else appstats = await setUp(settings);
} catch (error) {
  diag.error('appstats: set-up failed; the app runs without appstats', error);
}
