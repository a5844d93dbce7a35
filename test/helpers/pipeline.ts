import { context, propagation, trace } from '@opentelemetry/api';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import type { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { testProvider } from './tracing.js';

export { listen, patchedHttp } from './http-server.js';
export { TeeExporter } from './tee-exporter.js';

/**
 * The real @opentelemetry/instrumentation-http, enabled once per test process. It patches the
 * `http` module object in place when `http` is next required; ESM named imports bound earlier would
 * miss the patch, so servers are created through `patchedHttp()`.
 */
const httpInstrumentation = new HttpInstrumentation();

/**
 * Registers a fresh provider globally (context manager included: async context must flow for
 * spans to find their parents) and points the http instrumentation at it.
 */
export function registerProvider(provider: NodeTracerProvider): void {
  trace.disable();
  context.disable();
  propagation.disable();
  provider.register();
  httpInstrumentation.setTracerProvider(provider);
}

export function newRegisteredProvider(processors: Parameters<typeof testProvider>[0]): NodeTracerProvider {
  const provider = testProvider(processors);
  registerProvider(provider);
  return provider;
}

/** Polls until `check` is true (records are written after the response): bounded, never a timing assertion. */
export async function eventually(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}
