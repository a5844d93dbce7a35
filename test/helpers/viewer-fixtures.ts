import {
  type Attributes,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import {
  ATTR_BILLED_OPS,
  ATTR_CALL_NAME,
  ATTR_COST_MICRODOLLARS,
  ATTR_DATASTORE_DETAILS,
  ATTR_REQUEST_SUMMARY,
  ATTR_RESPONSE_SUMMARY,
} from '../../core/attributes.js';
import { AppstatsExporter } from '../../exporter/exporter.js';
import { AppstatsSpanProcessor } from '../../exporter/span-processor.js';
import { MemcacheStore } from '../../stores/memcache-store.js';
import { testProvider } from './tracing.js';

/**
 * Records for the viewer's tests made by the REAL pipeline: spans from an OpenTelemetry tracer,
 * grouped by the AppstatsSpanProcessor, built, encoded and written by the AppstatsExporter into a
 * real memcached. Start times are explicit so each request has its own slot and known offsets.
 */
export const XSS = '<script>alert("xss")</script><img src=x onerror=alert(1)>';

export interface FixtureCall {
  name: string;
  offset: number;
  duration: number;
  request?: string;
  response?: string;
  cost?: number;
  billed?: { op: string; num_ops: number }[];
  datastore?: Record<string, unknown>;
  attributes?: Attributes;
  failed?: boolean;
  /** Never ended: the record shows it pending. */
  pending?: boolean;
}

export interface FixtureRequest {
  start: number;
  method: string;
  path: string;
  query?: string;
  status: number;
  duration: number;
  route?: string;
  headers?: Record<string, string>;
  error?: boolean;
  calls: FixtureCall[];
}

/** Five requests like the original's guestbook demo, plus one carrying XSS payloads everywhere. */
export function scenario(base: number): FixtureRequest[] {
  const digestCalls: FixtureCall[] = [
    {
      name: 'datastore.RunQuery',
      offset: 1,
      duration: 20,
      request: 'kind=Greeting limit=8',
      response: '8 entities',
      cost: 0.54,
      billed: [{ op: 'DATASTORE_READ', num_ops: 9 }],
      datastore: { query_kind: 'Greeting', keys_read: ['Greeting:1', 'Greeting:2'] },
    },
  ];
  for (let i = 0; i < 8; i++) {
    digestCalls.push({
      name: 'datastore.Lookup',
      offset: 22 + i * 10,
      duration: 6,
      request: `key=Author:${i}`,
      response: 'found',
      cost: 0.06,
      billed: [{ op: 'DATASTORE_READ', num_ops: 1 }],
      datastore: { keys_read: [`Author:${i}`], get_successful_fetch: [true] },
    });
    digestCalls.push({
      name: 'memcache.Get',
      offset: 29 + i * 10,
      duration: 1.5,
      request: 'key="digest:config"',
      response: 'hit 40 bytes',
    });
  }
  digestCalls.push({
    name: 'memcache.Set',
    offset: 104,
    duration: 2,
    request: 'key="digest"',
    response: 'STORED',
  });
  return [
    {
      start: base,
      method: 'GET',
      path: '/greeting/1',
      route: '/greeting/:id',
      status: 200,
      duration: 12.5,
      headers: { 'user-agent': 'curl/8.0', authorization: 'Bearer s3cr3t-token' },
      calls: [
        { name: 'memcache.Get', offset: 0.5, duration: 0.8, request: 'key="greeting:1"', response: 'miss' },
        {
          name: 'datastore.Lookup',
          offset: 1.5,
          duration: 7.25,
          request: 'key=Greeting:1',
          response: 'found',
          cost: 0.06,
          billed: [{ op: 'DATASTORE_READ', num_ops: 1 }],
          datastore: { keys_read: ['Greeting:1'], get_successful_fetch: [true] },
        },
        { name: 'memcache.Set', offset: 9, duration: 0.9, request: 'key="greeting:1"', response: 'STORED' },
      ],
    },
    {
      start: base + 100,
      method: 'GET',
      path: '/tasks/digest',
      status: 200,
      duration: 110,
      calls: digestCalls,
    },
    {
      start: base + 200,
      method: 'POST',
      path: '/sign',
      status: 302,
      duration: 40,
      calls: [
        {
          name: 'datastore.Commit',
          offset: 3,
          duration: 30,
          request: 'mutations=1',
          response: 'committed',
          cost: 0.9,
          billed: [{ op: 'DATASTORE_WRITE', num_ops: 5 }],
          datastore: { keys_written: ['Greeting:9'] },
        },
      ],
    },
    {
      start: base + 300,
      method: 'GET',
      path: '/boom',
      status: 500,
      duration: 25,
      error: true,
      calls: [
        {
          name: 'datastore.Lookup',
          offset: 2,
          duration: 15,
          request: 'key=Broken:1',
          response: 'DEADLINE_EXCEEDED',
          failed: true,
        },
        {
          name: 'memcache.Get',
          offset: 18,
          duration: 1,
          request: 'key="fallback"',
          response: 'miss',
          pending: true,
        },
      ],
    },
    {
      start: base + 400,
      method: 'GET',
      path: `/search/${XSS}`,
      query: `q=${XSS}`,
      status: 404,
      duration: 3,
      headers: { 'user-agent': XSS, 'x-evil': XSS },
      calls: [
        {
          name: `memcache.${XSS}`,
          offset: 0.2,
          duration: 0.3,
          request: XSS,
          response: XSS,
          attributes: { 'evil.attr': XSS },
          datastore: { query_kind: XSS, keys_read: [XSS] },
        },
      ],
    },
    {
      start: base + 500,
      method: 'GET',
      path: '/greeting/2',
      route: '/greeting/:id',
      status: 200,
      duration: 30,
      calls: [
        {
          name: 'memcache.Get',
          offset: 1,
          duration: 0.5,
          request: 'key="greeting:2"',
          response: 'hit 90 bytes',
        },
      ],
    },
  ];
}

function ms(value: number): [number, number] {
  const seconds = Math.floor(value / 1000);
  return [seconds, Math.round((value - seconds * 1000) * 1e6)];
}

/** Emits the spans of one request, as an instrumented app would. */
export function emitRequest(tracer: Tracer, request: FixtureRequest): void {
  const attributes: Attributes = {
    'http.request.method': request.method,
    'url.path': request.path,
    'url.scheme': 'http',
    'client.address': '10.0.0.7',
  };
  if (request.query) attributes['url.query'] = request.query;
  if (request.route) attributes['http.route'] = request.route;
  for (const [name, value] of Object.entries(request.headers ?? {}))
    attributes[`http.request.header.${name}`] = [value];
  if (request.headers?.['user-agent']) attributes['user_agent.original'] = request.headers['user-agent'];
  const root = tracer.startSpan(request.method, {
    kind: SpanKind.SERVER,
    attributes,
    startTime: ms(request.start),
  });
  const parent = trace.setSpan(ROOT_CONTEXT, root);
  for (const call of request.calls) {
    const callAttributes: Attributes = { [ATTR_CALL_NAME]: call.name, ...call.attributes };
    if (call.request !== undefined) callAttributes[ATTR_REQUEST_SUMMARY] = call.request;
    if (call.response !== undefined) callAttributes[ATTR_RESPONSE_SUMMARY] = call.response;
    if (call.cost !== undefined) callAttributes[ATTR_COST_MICRODOLLARS] = call.cost;
    if (call.billed) callAttributes[ATTR_BILLED_OPS] = JSON.stringify(call.billed);
    if (call.datastore) callAttributes[ATTR_DATASTORE_DETAILS] = JSON.stringify(call.datastore);
    const span = tracer.startSpan(
      call.name,
      { kind: SpanKind.CLIENT, attributes: callAttributes, startTime: ms(request.start + call.offset) },
      parent,
    );
    if (call.failed) span.setStatus({ code: SpanStatusCode.ERROR, message: call.response ?? 'failed' });
    if (!call.pending) span.end(ms(request.start + call.offset + call.duration));
  }
  root.setAttribute('http.response.status_code', request.status);
  if (request.error) root.setStatus({ code: SpanStatusCode.ERROR });
  root.end(ms(request.start + request.duration));
}

/** Runs the requests through the real processor and exporter into memcached at `address`. */
export async function recordThroughPipeline(
  address: string,
  requests: readonly FixtureRequest[],
  keyPrefix?: string,
): Promise<void> {
  const store = new MemcacheStore(address);
  const exporter = new AppstatsExporter({ store, keyPrefix });
  const processor = new AppstatsSpanProcessor({ exporter, maxPendingMs: 20 });
  const provider = testProvider([processor], 'guestbook-demo');
  const tracer = provider.getTracer('viewer-fixtures');
  for (const request of requests) emitRequest(tracer, request);
  await processor.forceFlush();
  await provider.shutdown();
  // The exporter does not own a store it was given: ours to close.
  await store.close();
}

/** A start time whose slot is 0 (so `count` requests 100 ms apart fill distinct slots), in the recent past. */
export function alignedBase(now: number = Date.now()): number {
  return Math.floor(now / 100_000) * 100_000 - 100_000;
}
