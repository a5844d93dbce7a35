import { resourceFromAttributes } from '@opentelemetry/resources';
import type { ReadableSpan, Span, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';

/** Collects ended spans as the SDK hands them over: real spans for pure-function tests. */
export class CollectingProcessor implements SpanProcessor {
  readonly ended: ReadableSpan[] = [];
  readonly started: Span[] = [];
  onStart(span: Span): void {
    this.started.push(span);
  }
  onEnd(span: ReadableSpan): void {
    this.ended.push(span);
  }
  async forceFlush(): Promise<void> {}
  async shutdown(): Promise<void> {}
}

/** A provider that is not registered globally: each test gets its own. */
export function testProvider(processors: SpanProcessor[], serviceName = 'test-app'): NodeTracerProvider {
  return new NodeTracerProvider({
    resource: resourceFromAttributes({ 'service.name': serviceName }),
    spanProcessors: processors,
  });
}
