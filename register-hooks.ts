/**
 * The first half of the register entry, imported by register.ts before anything else so that its
 * body runs before the exporter's modules are evaluated (ES modules evaluate their imports in order):
 * reads the environment, gives appstats a voice on stderr, registers the ESM import hook and the
 * instrumentations. No top-level await anywhere in the entry, so `require()` can load it too.
 */
import { register as registerLoaderHook } from 'node:module';
import * as workerThreads from 'node:worker_threads';
import { DiagConsoleLogger, type DiagLogger, DiagLogLevel, diag } from '@opentelemetry/api';
import type { Instrumentation } from '@opentelemetry/instrumentation';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici';
import { type RegisterSettings, settingsFromEnv } from './exporter/register-settings.js';
import { CallerSitesInstrumentation } from './instrumentations/caller-sites/instrumentation.js';
import { DatastoreInstrumentation } from './instrumentations/datastore/instrumentation.js';
import { MemjsInstrumentation } from './instrumentations/memjs/instrumentation.js';

/**
 * Without OTEL_LOG_LEVEL, appstats's own warnings and errors still reach stderr (a misconfigured
 * profiler that says nothing looks like a working one); other libraries' diag output stays off,
 * as OpenTelemetry's default is.
 */
function appstatsOnlyLogger(): DiagLogger {
  const say = (message: string, ...args: unknown[]) => {
    if (message.startsWith('appstats')) console.warn(message, ...args);
  };
  const quiet = () => {};
  return { error: say, warn: say, info: quiet, debug: quiet, verbose: quiet };
}

function setUpLogging(settings: RegisterSettings): void {
  if (settings.logLevel !== undefined) diag.setLogger(new DiagConsoleLogger(), settings.logLevel);
  else diag.setLogger(appstatsOnlyLogger(), DiagLogLevel.WARN);
  for (const warning of settings.warnings) diag.warn(warning);
}

function registerHooks(settings: RegisterSettings): Instrumentation[] {
  // The ESM hook first: modules imported after it (the app's) can be patched.
  try {
    registerLoaderHook('@opentelemetry/instrumentation/hook.mjs', import.meta.url);
  } catch (error) {
    diag.warn('appstats: could not register the ESM import hook; ESM imports will not be traced', error);
  }
  // Before anything loads memjs or the Datastore client (the exporter itself loads memjs): the
  // global tracer provider they use is set by register.ts right after.
  const instrumentations: Instrumentation[] = [];
  if (settings.instrumentations.http) instrumentations.push(new HttpInstrumentation());
  if (settings.instrumentations.undici) instrumentations.push(new UndiciInstrumentation());
  if (settings.instrumentations.memjs) instrumentations.push(new MemjsInstrumentation());
  if (settings.instrumentations.datastore) instrumentations.push(new DatastoreInstrumentation());
  // Makes no spans: notes the app's line of pool.query() and fetch() for the spans they start later.
  instrumentations.push(new CallerSitesInstrumentation());
  registerInstrumentations({ instrumentations });
  return instrumentations;
}

/** What this half did; `settings` undefined when even reading them failed, or in Node's hooks thread. */
export const hooks: { settings?: RegisterSettings; instrumentations: Instrumentation[] } = {
  instrumentations: [],
};

/**
 * Node runs `--require` preloads (not `--import` ones) in its module-hooks thread as well, once the
 * ESM hook has started that thread: nothing there is to be traced, and a second hook registration
 * made import-in-the-middle warn "already been initialized" on every start. That thread is the only
 * worker without a parentPort; Node 22.14+ says so directly (`isInternalThread`, used when present).
 * A user's Worker is set up.
 */
const inModuleHooksThread =
  (workerThreads as { isInternalThread?: boolean }).isInternalThread ??
  (!workerThreads.isMainThread && workerThreads.parentPort === null);

if (!inModuleHooksThread) {
  try {
    hooks.settings = settingsFromEnv();
    setUpLogging(hooks.settings);
    if (hooks.settings.disabled) diag.info('appstats: disabled by APPSTATS_DISABLED / OTEL_SDK_DISABLED');
    else hooks.instrumentations = registerHooks(hooks.settings);
  } catch (error) {
    hooks.settings = undefined;
    diag.error('appstats: set-up failed; the app runs without appstats', error);
  }
}
