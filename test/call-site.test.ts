import assert from 'node:assert/strict';
import { sep } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { context, SpanKind, trace } from '@opentelemetry/api';
import { captureCallSites, formatCallSites, isSkippedFrame } from '../core/call-site.js';
import { callerCaptureWanted } from '../core/caller-call-sites.js';
import { AppstatsSpanProcessor, StackBudget } from '../exporter/span-processor.js';
import { newRegisteredProvider, TeeExporter } from './helpers/pipeline.js';
import { testProvider } from './helpers/tracing.js';

const THIS_FILE = fileURLToPath(import.meta.url);

/** The line of the caller of this function, as V8 reports it, source-mapped by Error's own formatting. */
function lineHere(): number {
  const match = /call-site\.test\.ts:(\d+):\d+/.exec(new Error().stack?.split('\n')[2] ?? '');
  return Number(match?.[1]);
}

function appHandler() {
  // One expression on one line: the formatter cannot split the two calls onto different lines.
  const [expectedLine, captured] = [lineHere(), captureCallSites(20)];
  return { captured, expectedLine };
}

function nestedClientCall(ctx: ReturnType<typeof context.active>) {
  trace.getTracer('transport').startSpan('h2 request', { kind: SpanKind.CLIENT }, ctx).end();
}

describe('call sites', () => {
  it('captures the app frame that made the call, with file, line and function, source-mapped', () => {
    const { captured, expectedLine } = appHandler();
    const frames = formatCallSites(captured, 20);
    assert.equal(frames[0].class_or_file_name, THIS_FILE);
    assert.equal(frames[0].function_name, 'appHandler');
    assert.equal(frames[0].line_number, expectedLine, 'the TypeScript line, not the transpiled one');
    assert.ok((frames[0].column_number ?? 0) > 0);
    assert.ok(
      frames.every((f) => !f.class_or_file_name.startsWith('node:')),
      'no node internals',
    );
  });

  it('keeps at most maxStack frames', () => {
    const deep = (n: number): ReturnType<typeof captureCallSites> =>
      n === 0 ? captureCallSites(5) : deep(n - 1);
    assert.equal(formatCallSites(deep(30), 5).length, 5);
  });

  it('skips node internals, OpenTelemetry, the module hooks and otel-appstats itself', () => {
    assert.equal(isSkippedFrame('node:internal/process/task_queues'), true);
    assert.equal(
      isSkippedFrame(
        `${sep}srv${sep}node_modules${sep}@opentelemetry${sep}sdk-trace${sep}build${sep}src${sep}Tracer.js`,
      ),
      true,
    );
    assert.equal(
      isSkippedFrame(`${sep}srv${sep}node_modules${sep}require-in-the-middle${sep}index.js`),
      true,
    );
    assert.equal(
      isSkippedFrame(fileURLToPath(new URL('../exporter/span-processor.ts', import.meta.url))),
      true,
    );
    assert.equal(isSkippedFrame(fileURLToPath(new URL('../index.ts', import.meta.url))), true);
    assert.equal(isSkippedFrame(THIS_FILE), false);
    assert.equal(
      isSkippedFrame(`${sep}srv${sep}node_modules${sep}memjs${sep}lib${sep}memjs${sep}memjs.js`),
      false,
      'library frames are kept (the viewer folds them)',
    );
  });

  it('names a generated function by the method it was called as, not by the first call at its position', () => {
    // ioredis makes one anonymous function per command from one function literal: all at one position.
    const generate = () =>
      function (this: unknown) {
        return formatCallSites(captureCallSites(3), 3);
      };
    const client = { zincrby: generate(), hgetall: generate() };
    assert.match(client.zincrby()[0].function_name, /zincrby$/);
    assert.match(client.hgetall()[0].function_name, /hgetall$/, 'not the cached zincrby');
  });

  it('gives every CLIENT span of a request a stack pointing at the app line that started it', async () => {
    const tee = new TeeExporter();
    const provider = newRegisteredProvider([new AppstatsSpanProcessor({ exporter: tee })]);
    let line = 0;
    const tracer = trace.getTracer('app');
    tracer.startActiveSpan('job', (root) => {
      context.with(trace.setSpan(context.active(), root), () => {
        const [at, span] = [lineHere(), tracer.startSpan('fetch', { kind: SpanKind.CLIENT })];
        line = at;
        // A client call inside it (a transport under a client library), started from elsewhere.
        nestedClientCall(trace.setSpan(context.active(), span));
        span.end();
        trace.getTracer('app').startSpan('compute', { kind: SpanKind.INTERNAL }).end();
      });
      root.end();
    });
    await provider.forceFlush();
    const [fetchCall, nested] = tee.records[0].individual_stats;
    const compute = tee.records[0].context_spans?.find((span) => span.name === 'compute');
    assert.equal(nested.parent_span_id, fetchCall.span_id);
    assert.deepEqual(
      nested.call_stack,
      fetchCall.call_stack,
      'a nested client call shares its outer call stack',
    );
    assert.equal(fetchCall.call_stack[0].class_or_file_name, THIS_FILE);
    assert.equal(fetchCall.call_stack[0].line_number, line);
    assert.ok(compute, 'the INTERNAL span is context');
    assert.equal('call_stack' in compute, false, 'only calls pay for a stack');
    await provider.shutdown();
  });
});

describe('the stack budget', () => {
  it('refills at its rate, holds one second of captures, and lets a request overspend', () => {
    let now = 0;
    const budget = new StackBudget({ perSecond: 10 }, () => now);
    assert.equal(budget.hasRoom(), true);
    for (let i = 0; i < 25; i++) budget.spendCapture(0); // one request of 25 calls: 15 in debt
    assert.equal(budget.hasRoom(), false);
    now = 1000; // +10 tokens: still 5 in debt
    assert.equal(budget.hasRoom(), false);
    now = 1600; // +6: 1 token
    assert.equal(budget.hasRoom(), true);
    now = 100_000; // a long quiet spell refills one second's worth, no more
    assert.equal(budget.hasRoom(), true);
    for (let i = 0; i < 10; i++) budget.spendCapture(0);
    assert.equal(budget.hasRoom(), false);
    assert.equal(new StackBudget({}).hasRoom(), true);
    assert.equal(new StackBudget({ perSecond: 0 }).hasRoom(), false);
  });

  it('bounds the share of main-thread time spent on stacks, formatting included', () => {
    let now = 0;
    const budget = new StackBudget({ share: 0.02 }, () => now); // 20 ms of each second
    assert.equal(budget.hasRoom(), true);
    budget.spendCapture(15);
    budget.spendTime(10); // formatting: 5 ms in debt
    assert.equal(budget.hasRoom(), false);
    now = 200; // +4 ms: still in debt
    assert.equal(budget.hasRoom(), false);
    now = 300; // +2 ms: room again
    assert.equal(budget.hasRoom(), true);
    now = 1_000_000; // holds at most one second's worth: 20 ms
    assert.equal(budget.hasRoom(), true);
    budget.spendCapture(20.5);
    assert.equal(budget.hasRoom(), false);
    assert.equal(new StackBudget({ share: 0 }).hasRoom(), false);
  });

  it('gives a request all its stacks or none, and says when the budget skipped them', async () => {
    const tee = new TeeExporter();
    const provider = newRegisteredProvider([
      new AppstatsSpanProcessor({ exporter: tee, maxStackCapturesPerSecond: 5 }),
    ]);
    const tracer = trace.getTracer('app');
    const request = (name: string) =>
      tracer.startActiveSpan(name, (root) => {
        for (let i = 0; i < 10; i++) tracer.startSpan('call', { kind: SpanKind.CLIENT }).end();
        root.end();
      });
    request('first'); // starts with room: all 10 calls get stacks (the budget goes into debt)
    request('second'); // starts in debt: none
    await provider.forceFlush();
    const [first, second] = tee.records;
    assert.ok(first.individual_stats.every((c) => c.call_stack.length > 0));
    assert.equal(first.incomplete, undefined);
    assert.ok(second.individual_stats.every((c) => c.call_stack.length === 0));
    assert.deepEqual(second.incomplete, { stacks_skipped: true });
    await provider.shutdown();
  });

  it('lets an instrumentation capture the caller ahead of an RPC only for a request that gets stacks', async () => {
    const wanted = (
      name: string,
      processorOptions: ConstructorParameters<typeof AppstatsSpanProcessor>[0],
    ) => {
      const processor = new AppstatsSpanProcessor({ exporter: new TeeExporter(), ...processorOptions });
      const provider = testProvider([processor]);
      const tracer = provider.getTracer('app');
      const root = tracer.startSpan(name, { kind: SpanKind.SERVER });
      const answer = callerCaptureWanted(trace.setSpan(context.active(), root));
      root.end();
      return { answer, provider };
    };
    assert.equal(callerCaptureWanted(context.active()), false, 'no request, no capture');
    const withRoom = wanted('with room', {});
    assert.equal(withRoom.answer, true);
    await withRoom.provider.shutdown();
    assert.equal(callerCaptureWanted(context.active()), false);
    const spent = wanted('budget spent', { maxStackCapturesPerSecond: 0 });
    assert.equal(spent.answer, false);
    const off = wanted('stacks off', { captureStacks: false });
    assert.equal(off.answer, false);
    const ignored = wanted('not recorded', { recordFraction: 0 });
    assert.equal(ignored.answer, false);
    for (const { provider } of [spent, off, ignored]) await provider.shutdown();
  });
});
