/**
 * OpenTelemetry set-up of the Express example, by hand: a NodeTracerProvider with the appstats span
 * processor, and the http and memjs instrumentations. Load it before the app, with `--import`, so
 * that http, express and memjs are patched when the app loads them:
 *
 *   node --import ./tracing.js app.js
 *
 * In this repository (TypeScript, from source):
 *
 *   node --import tsx --import ./examples/express-app/tracing.ts examples/express-app/app.ts
 */
import { register } from 'node:module';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
// A user writes `from 'otel-appstats'`; this repository imports its own sources.
import { AppstatsExporter, AppstatsSpanProcessor, MemjsInstrumentation } from '../../index.js';

// ESM apps: lets the instrumentations patch `import memjs from 'memjs'` as well as `require`.
register('@opentelemetry/instrumentation/hook.mjs', import.meta.url);

registerInstrumentations({ instrumentations: [new HttpInstrumentation(), new MemjsInstrumentation()] });

export const provider = new NodeTracerProvider({
  resource: resourceFromAttributes({ 'service.name': process.env.OTEL_SERVICE_NAME || 'express-app' }),
  spanProcessors: [
    // Next to your own processors (a BatchSpanProcessor with your OTLP exporter): appstats only reads spans.
    new AppstatsSpanProcessor({
      // APPSTATS_MEMCACHE is also the exporter's default; unset, records stay in this process.
      exporter: new AppstatsExporter({ memcache: process.env.APPSTATS_MEMCACHE }),
    }),
  ],
});
// Sets the global tracer provider, the AsyncLocalStorage context manager and the W3C propagators.
provider.register();
