/**
 * OpenTelemetry set-up of the node:http example with @opentelemetry/sdk-node's NodeSDK (0.223.x:
 * Node 18.19 or 20.6 and later), the appstats span processor, and the http and memjs
 * instrumentations. Load it before the app, with `--import`, so that http and memjs are patched
 * when the app loads them:
 *
 *   node --import ./tracing.js app.js
 *
 * In this repository (TypeScript, from source):
 *
 *   node --import tsx --import ./examples/nodesdk-app/tracing.ts examples/nodesdk-app/app.ts
 */
import { register } from 'node:module';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { NodeSDK } from '@opentelemetry/sdk-node';
// A user writes `from 'otel-appstats'`; this repository imports its own sources.
import { AppstatsExporter, AppstatsSpanProcessor, MemjsInstrumentation } from '../../index.js';

// ESM apps: lets the instrumentations patch `import memjs from 'memjs'` as well as `require`.
register('@opentelemetry/instrumentation/hook.mjs', import.meta.url);

export const sdk = new NodeSDK({
  serviceName: process.env.OTEL_SERVICE_NAME || 'nodesdk-app',
  spanProcessors: [
    // Next to your own processors (a BatchSpanProcessor with your OTLP exporter): appstats only reads spans.
    new AppstatsSpanProcessor({
      // APPSTATS_MEMCACHE is also the exporter's default; unset, records stay in this process.
      exporter: new AppstatsExporter({ memcache: process.env.APPSTATS_MEMCACHE }),
    }),
  ],
  instrumentations: [new HttpInstrumentation(), new MemjsInstrumentation()],
  // This example sends traces to appstats only. Left out, NodeSDK would also export metrics and
  // logs over OTLP to localhost:4318 (OTEL_METRICS_EXPORTER and OTEL_LOGS_EXPORTER default to otlp).
  metricReaders: [],
  logRecordProcessors: [],
});
sdk.start();
