import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import {
  ATTR_BILLED_OPS,
  ATTR_CALL_NAME,
  ATTR_COST_MICRODOLLARS,
  ATTR_REQUEST_SUMMARY,
} from '../core/attributes.js';
import { buildRecord, summarize } from '../core/build-record.js';
import { callName } from '../core/call-names.js';
import { aggregateRpcStats } from '../core/call-stats.js';
import { RECORD_VERSION } from '../core/record.js';
import { REDACTED } from '../core/redact.js';
import { httpFieldsOf } from '../core/span-fields.js';
import { clip } from '../core/units.js';
import { sampleRecord } from './helpers/records.js';
import { CollectingProcessor, testProvider } from './helpers/tracing.js';

function spansOf(run: (tracer: ReturnType<ReturnType<typeof testProvider>['getTracer']>) => void) {
  const collector = new CollectingProcessor();
  const provider = testProvider([collector]);
  run(provider.getTracer('t'));
  return collector;
}

describe('callName', () => {
  const span = (name: string, kind: SpanKind, attributes: Record<string, string>) => ({
    name,
    kind,
    attributes,
  });
  it('prefers the attribute our instrumentations set', () => {
    assert.equal(
      callName(
        span('get', SpanKind.CLIENT, { [ATTR_CALL_NAME]: 'memcache.Get', 'db.system.name': 'memcached' }),
      ),
      'memcache.Get',
    );
  });
  it('derives database, RPC and outgoing HTTP names from semantic conventions, old and new', () => {
    assert.equal(
      callName(span('x', SpanKind.CLIENT, { 'db.system.name': 'redis', 'db.operation.name': 'GET' })),
      'redis.GET',
    );
    assert.equal(
      callName(span('x', SpanKind.CLIENT, { 'db.system': 'postgresql', 'db.operation': 'SELECT' })),
      'postgresql.SELECT',
    );
    assert.equal(
      callName(
        span('x', SpanKind.CLIENT, {
          'rpc.service': 'google.datastore.v1.Datastore',
          'rpc.method': 'Lookup',
        }),
      ),
      'google.datastore.v1.Datastore.Lookup',
    );
    assert.equal(callName(span('GET', SpanKind.CLIENT, { 'http.request.method': 'GET' })), 'http.GET');
    assert.equal(callName(span('GET', SpanKind.CLIENT, { 'http.method': 'POST' })), 'http.POST');
  });
  it('falls back to the span name (an INTERNAL span with an HTTP method is not an outgoing call)', () => {
    assert.equal(callName(span('render', SpanKind.INTERNAL, { 'http.request.method': 'GET' })), 'render');
  });
});

describe('httpFieldsOf', () => {
  it('reads the stable names that instrumentation-http 0.2xx sets', () => {
    assert.deepEqual(
      httpFieldsOf({
        name: 'GET',
        attributes: {
          'http.request.method': 'GET',
          'url.path': '/a',
          'url.query': 'x=1',
          'http.response.status_code': 404,
          'http.route': '/a',
        },
      }),
      { method: 'GET', path: '/a', query: 'x=1', status: 404, route: '/a' },
    );
  });
  it('reads the old names, splitting http.target', () => {
    assert.deepEqual(
      httpFieldsOf({
        name: 'GET',
        attributes: { 'http.method': 'POST', 'http.target': '/b?y=2', 'http.status_code': 201 },
      }),
      {
        method: 'POST',
        path: '/b',
        query: 'y=2',
        status: 201,
      },
    );
  });
  it('records a root that is not HTTP under its span name', () => {
    assert.deepEqual(httpFieldsOf({ name: 'nightly-cleanup', attributes: {} }), {
      method: '',
      path: 'nightly-cleanup',
      query: '',
      status: 0,
    });
  });
});

describe('buildRecord', () => {
  it('turns a root and its descendants into the original fields, nested calls with their parent', () => {
    const collector = spansOf((tracer) => {
      const root = tracer.startSpan('GET', {
        kind: SpanKind.SERVER,
        attributes: {
          'http.request.method': 'GET',
          'url.path': '/guestbook',
          'url.query': 'page=2&token=s3cret',
          'http.response.status_code': 200,
          'http.request.header.authorization': 'Bearer abc',
          'http.request.header.accept': 'text/html',
          'user_agent.original': 'curl/8',
          'http.request.header.user-agent': ['curl/8'],
        },
      });
      const ctx = trace.setSpan(context.active(), root);
      const get = tracer.startSpan(
        'get',
        {
          kind: SpanKind.CLIENT,
          attributes: {
            [ATTR_CALL_NAME]: 'memcache.Get',
            [ATTR_REQUEST_SUMMARY]: 'key="g"',
            'db.system.name': 'memcached',
            password: 'hunter2',
          },
        },
        ctx,
      );
      get.end();
      const outer = tracer.startSpan('loadGreetings', { kind: SpanKind.INTERNAL }, ctx);
      const inner = tracer.startSpan(
        'lookup',
        {
          kind: SpanKind.CLIENT,
          attributes: {
            [ATTR_CALL_NAME]: 'datastore.Lookup',
            [ATTR_BILLED_OPS]: JSON.stringify([{ op: 'DATASTORE_READ', num_ops: 3 }]),
            [ATTR_COST_MICRODOLLARS]: 0.18,
          },
        },
        trace.setSpan(ctx, outer),
      );
      inner.setStatus({ code: SpanStatusCode.ERROR, message: 'UNAVAILABLE' });
      inner.end();
      outer.end();
      root.end();
    });
    const [get, inner, outer, root] = collector.ended;
    // In start order, as the processor hands them over; starts are whole ms, so order breaks ties.
    const record = buildRecord({ root, descendants: [get, outer, inner] });
    assert.equal(record.v, RECORD_VERSION);
    assert.equal(record.http_method, 'GET');
    assert.equal(record.http_path, '/guestbook');
    assert.equal(record.http_query, `page=2&token=${REDACTED}`);
    assert.equal(record.http_status, 200);
    assert.equal(record.service_name, 'test-app');
    assert.equal(record.trace_id, root.spanContext().traceId);
    assert.equal(record.span_id, root.spanContext().spanId);
    assert.deepEqual(
      record.individual_stats.map((c) => c.service_call_name),
      ['memcache.Get', 'datastore.Lookup'],
      'calls only (the INTERNAL loadGreetings is context), in start order',
    );
    assert.deepEqual(
      record.context_spans?.map((s) => [s.name, s.span_kind, s.parent_span_id]),
      [['loadGreetings', 'INTERNAL', undefined]],
    );
    const reordered = buildRecord({
      root,
      descendants: [get, outer, inner],
      startOffsetOf: (s) => (s === get ? 2 : s === outer ? 1 : 1.5),
    });
    assert.deepEqual(
      reordered.individual_stats.map((c) => c.service_call_name),
      ['datastore.Lookup', 'memcache.Get'],
      'sorted by the fine offsets when given',
    );
    const [memGet, lookup] = record.individual_stats;
    assert.equal(memGet.request_data_summary, 'key="g"');
    assert.equal(memGet.attributes.password, REDACTED);
    assert.equal(memGet.attributes[ATTR_CALL_NAME], undefined, 'appstats.* attributes became fields');
    assert.equal(lookup.parent_span_id, outer.spanContext().spanId, 'made under the context span');
    assert.equal(memGet.parent_span_id, undefined, 'a child of the root has no parent');
    assert.equal(lookup.was_successful, false);
    assert.deepEqual(lookup.status, { code: 'ERROR', message: 'UNAVAILABLE' });
    assert.deepEqual(lookup.billed_ops, [{ op: 'DATASTORE_READ', num_ops: 3 }]);
    assert.equal(lookup.call_cost_microdollars, 0.18);
    assert.equal(lookup.span_kind, 'CLIENT');
    assert.ok(record.duration_milliseconds >= 0 && Number.isFinite(record.duration_milliseconds));
    const env = Object.fromEntries(record.cgi_env.map(({ key, value }) => [key, value]));
    assert.equal(env.HTTP_AUTHORIZATION, REDACTED);
    assert.equal(env.HTTP_ACCEPT, 'text/html');
    assert.equal(env.QUERY_STRING, `page=2&token=${REDACTED}`);
    assert.equal(env.HTTP_USER_AGENT, 'curl/8');
    assert.equal(
      record.cgi_env.filter((e) => e.key === 'HTTP_USER_AGENT').length,
      1,
      'one entry per variable',
    );
    assert.equal(JSON.stringify(record).includes('s3cret'), false);
    assert.equal(JSON.stringify(record).includes('hunter2'), false);
    assert.equal(JSON.stringify(record).includes('Bearer abc'), false);
    assert.equal(record.incomplete, undefined);
    assert.deepEqual(summarize(record).rpc_stats, record.rpc_stats);
  });

  it('keeps microsecond offsets and durations, and marks pending calls with duration 0', () => {
    const collector = spansOf((tracer) => {
      const root = tracer.startSpan('job', { kind: SpanKind.INTERNAL });
      const ctx = trace.setSpan(context.active(), root);
      tracer.startSpan('done', { kind: SpanKind.CLIENT }, ctx).end();
      tracer.startSpan('open', { kind: SpanKind.CLIENT }, ctx); // never ended
      root.end();
    });
    const root = collector.ended[1];
    const open = collector.started[2];
    const record = buildRecord({
      root,
      descendants: [collector.ended[0], open],
      pendingSpanIds: new Set([open.spanContext().spanId]),
      startOffsetOf: (span) => (span === open ? 1.234567 : 0.5),
      droppedCalls: 4,
    });
    assert.equal(record.http_path, 'job');
    assert.equal(record.http_method, '');
    assert.equal(record.individual_stats[1].pending, true);
    assert.equal(record.individual_stats[1].duration_milliseconds, 0);
    assert.equal(record.individual_stats[1].start_offset_milliseconds, 1.235);
    const done = record.individual_stats[0];
    assert.equal(done.start_offset_milliseconds, 0.5);
    assert.equal(
      Math.round(done.duration_milliseconds * 1000),
      done.duration_milliseconds * 1000,
      'rounded to the microsecond',
    );
    assert.deepEqual(record.incomplete, { pending_calls: 1, dropped_calls: 4 });
  });

  it('clips a megabyte-long query like the path', () => {
    const collector = spansOf((tracer) => {
      tracer
        .startSpan('GET', {
          kind: SpanKind.SERVER,
          attributes: {
            'http.request.method': 'GET',
            'url.path': '/q',
            'url.query': `a=${'x'.repeat(100_000)}`,
          },
        })
        .end();
    });
    const record = buildRecord({ root: collector.ended[0], descendants: [] });
    assert.equal(record.http_query.length, 2048);
  });

  it('clips a megabyte-long job name used as the path', () => {
    const collector = spansOf((tracer) => {
      tracer.startSpan('x'.repeat(1_000_000)).end();
    });
    const record = buildRecord({ root: collector.ended[0], descendants: [] });
    assert.equal(record.http_path.length, 2048);
    assert.match(record.http_path, /\+\d+ chars\)$/);
  });

  it('applies normalizePath to the path the dashboard groups by', () => {
    const collector = spansOf((tracer) => {
      tracer
        .startSpan('GET', {
          kind: SpanKind.SERVER,
          attributes: { 'http.request.method': 'GET', 'url.path': '/users/42' },
        })
        .end();
    });
    const record = buildRecord(
      { root: collector.ended[0], descendants: [] },
      { normalizePath: (p) => p.replace(/\d+/g, ':id') },
    );
    assert.equal(record.http_route, '/users/:id', 'grouped by the normalised path');
    assert.equal(record.http_path, '/users/42', 'the path itself is kept');
  });
});

describe('aggregateRpcStats', () => {
  it('sorts by (-count, name) and sums time, cost and ops', () => {
    const stats = aggregateRpcStats(sampleRecord({ calls: 7 }).individual_stats);
    assert.deepEqual(
      stats.map((s) => [s.service_call_name, s.total_amount_of_calls]),
      [
        ['memcache.Get', 4],
        ['datastore.Lookup', 3],
      ],
    );
    assert.deepEqual(stats[1].total_billed_ops, [{ op: 'DATASTORE_READ', num_ops: 3 }]);
    assert.equal(stats[1].total_cost_of_calls_microdollars, 0.18);
    const tie = aggregateRpcStats([
      { ...sampleRecord({ calls: 1 }).individual_stats[0], service_call_name: 'b' },
      { ...sampleRecord({ calls: 1 }).individual_stats[0], service_call_name: 'a' },
    ]);
    assert.deepEqual(
      tie.map((s) => s.service_call_name),
      ['a', 'b'],
    );
  });
});

describe('clip', () => {
  it('says how much it cut and respects the bound', () => {
    const cut = clip('x'.repeat(1000), 100);
    assert.equal(cut.length, 100);
    assert.match(cut, /\+\d+ chars\)$/);
    assert.equal(clip('short', 100), 'short');
  });
});
