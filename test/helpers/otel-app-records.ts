import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { decodeRecord, isFullRecord } from '../../core/codec.js';
import type { RequestRecord, RequestSummary, RpcCall } from '../../core/record.js';
import { allPartKeys, DEFAULT_KEY_OPTIONS, recordKey } from '../../core/record-key.js';
import type { MemcacheStore } from '../../stores/memcache-store.js';
import { createViewer } from '../../viewer/index.js';

// Reading what the OTel apps of test/otel-apps.test.ts recorded, with the project's own reader
// (MemcacheStore, decodeRecord, the key scheme) and the viewer's JSON; and the small servers those
// apps talk to.

/** What the details JSON says of a record's findings (core/findings.ts). */
export interface FindingJson {
  kind: 'n_plus_one' | 'duplicate' | 'parallelizable';
  call_name: string;
  calls: number[];
  message: string;
}

/** One driven request: its part and full record, its findings, and what the details JSON served. */
export interface Recorded {
  path: string;
  part: RequestSummary;
  full: RequestRecord;
  /** `findFindings(full)` (core/findings.ts): the pure function the page and the JSON serve. */
  findings: FindingJson[];
  /** `/details?time=<start>&type=json`, as the viewer serves it. */
  detailsJson: { findings?: unknown };
}

/**
 * core/findings.ts, loaded when first needed: while it does not exist, the tests that need it fail
 * and say so, and the others still run.
 */
async function findingsOf(record: RequestRecord): Promise<() => FindingJson[]> {
  const findingsModule = '../../core/findings.js';
  try {
    const { findFindings } = (await import(findingsModule)) as {
      findFindings: (record: RequestRecord) => FindingJson[];
    };
    const findings = findFindings(record);
    return () => findings;
  } catch (error) {
    return () => assert.fail(`core/findings.ts findFindings: ${(error as Error).message}`);
  }
}

/** What these tests read of a dashboard path row (`GET /user/:id`). */
export interface DashboardPathRow {
  path: string;
  requests: number;
  /** The row's hints: the findings (kind and call name) the dashboard flags on this path. */
  repeated?: { kind: string; service_call_name: string }[];
}

const SLOT_MS = DEFAULT_KEY_OPTIONS.keyDistance;

/**
 * Drives an app one request at a time and reads back each request's record. Records live in slots
 * of 100 ms (the original's key scheme): two requests starting in one slot keep only the later
 * record, so each request starts in a slot no earlier request or start-up span used.
 */
export class RecordReader {
  private lastSlot: number;
  readonly driven: Recorded[] = [];
  private readonly viewer;

  constructor(
    private readonly store: MemcacheStore,
    readonly keyPrefix: string,
  ) {
    this.lastSlot = Math.floor(Date.now() / SLOT_MS);
    // The viewer's own JSON, in this process over the same memcache; any caller may read it.
    this.viewer = createViewer({ store, keyPrefix, auth: () => true });
  }

  /** GET `path`, expect 200, and return its record once written (bounded wait). */
  async drive(port: number, path: string): Promise<Recorded> {
    // Wait for a fresh slot: a computed wait for the clock, at most one slot long.
    while (Math.floor(Date.now() / SLOT_MS) <= this.lastSlot)
      await sleep(SLOT_MS - (Date.now() % SLOT_MS) + 1);
    const sent = Date.now();
    const response = await fetch(`http://127.0.0.1:${port}${path}`);
    const body = await response.text();
    const received = Date.now();
    assert.equal(response.status, 200, `GET ${path}: ${body}`);
    this.lastSlot = Math.floor(received / SLOT_MS);
    const keys: string[] = [];
    for (let slot = Math.floor(sent / SLOT_MS); slot <= this.lastSlot; slot++)
      keys.push(recordKey(slot * SLOT_MS, 'part', { keyPrefix: this.keyPrefix }));
    const pathOnly = path.split('?')[0];
    const deadline = Date.now() + 10_000;
    for (;;) {
      const { values } = await this.store.getParts(keys);
      const part = [...values.values()]
        .map((bytes) => decodeRecord(bytes))
        .find(
          (p) =>
            p.http_path === pathOnly &&
            p.start_timestamp_milliseconds >= sent - 1 &&
            p.start_timestamp_milliseconds <= received,
        );
      if (part) {
        const full = await this.full(part);
        const findings = await findingsOf(full);
        const recorded: Recorded = {
          path,
          part,
          full,
          get findings() {
            return findings();
          },
          detailsJson: await this.details(part),
        };
        this.driven.push(recorded);
        return recorded;
      }
      if (Date.now() > deadline) assert.fail(`no record of GET ${path} under ${this.keyPrefix} within 10 s`);
      await sleep(50);
    }
  }

  /** The full record of a part: both values are written at once, but either may land first. */
  private async full(part: RequestSummary): Promise<RequestRecord> {
    const key = recordKey(part.start_timestamp_milliseconds, 'full', { keyPrefix: this.keyPrefix });
    const deadline = Date.now() + 5000;
    for (;;) {
      const bytes = await this.store.getFull(key);
      const record = bytes && decodeRecord(bytes);
      if (record && record.start_timestamp_milliseconds === part.start_timestamp_milliseconds) {
        assert.ok(isFullRecord(record));
        return record;
      }
      if (Date.now() > deadline) assert.fail(`the full record of ${part.http_path} is not beside its part`);
      await sleep(20);
    }
  }

  private async details(part: RequestSummary): Promise<{ findings?: unknown }> {
    const response = await this.viewer.request(
      `/details?time=${part.start_timestamp_milliseconds}&type=json`,
    );
    assert.equal(response.status, 200, `details JSON of ${part.http_path}`);
    return (await response.json()) as { findings?: unknown };
  }

  /** Every part under the prefix now (all slots). */
  async allParts(): Promise<RequestSummary[]> {
    const { values } = await this.store.getParts(allPartKeys({ keyPrefix: this.keyPrefix }));
    return [...values.values()].map((bytes) => decodeRecord(bytes));
  }

  /** The dashboard JSON, as the viewer serves it. */
  async dashboard(): Promise<{ path_stats: DashboardPathRow[] }> {
    const response = await this.viewer.request('/?type=json');
    assert.equal(response.status, 200);
    return (await response.json()) as { path_stats: DashboardPathRow[] };
  }
}

/** The line after each `// @call <name> (next line)` comment of a fixture, by name (1-based). */
export function markedLines(fixture: string): Map<string, number> {
  const lines = new Map<string, number>();
  readFileSync(fixture, 'utf8')
    .split('\n')
    .forEach((text, i) => {
      const match = text.match(/\/\/ @call (\S+) \(next line\)/);
      if (match) lines.set(match[1], i + 2);
    });
  return lines;
}

/** Call ids with another call among their ancestors (through calls and context spans alike). */
export function nestedCalls(record: RequestRecord): Set<string> {
  const parentOf = new Map<string, string | undefined>();
  for (const span of record.context_spans ?? []) parentOf.set(span.span_id, span.parent_span_id);
  for (const call of record.individual_stats) parentOf.set(call.span_id, call.parent_span_id);
  const callIds = new Set(record.individual_stats.map((call) => call.span_id));
  const nested = new Set<string>();
  for (const call of record.individual_stats) {
    let parent = call.parent_span_id;
    for (let hops = 0; parent !== undefined && hops < 1000; hops++) {
      if (callIds.has(parent)) {
        nested.add(call.span_id);
        break;
      }
      parent = parentOf.get(parent);
    }
  }
  return nested;
}

/** Sum of the outermost calls' durations, and the length of the union of their intervals. */
export function expectedTotals(record: RequestRecord): {
  total: number;
  inFlight: number;
  outermost: RpcCall[];
} {
  const nested = nestedCalls(record);
  const outermost = record.individual_stats.filter((call) => !nested.has(call.span_id));
  const total = outermost.reduce((sum, call) => sum + call.duration_milliseconds, 0);
  const intervals = outermost
    .map((call) => [
      call.start_offset_milliseconds,
      call.start_offset_milliseconds + call.duration_milliseconds,
    ])
    .sort((a, b) => a[0] - b[0]);
  let inFlight = 0;
  let end = Number.NEGATIVE_INFINITY;
  for (const [start, stop] of intervals) {
    if (stop <= end) continue;
    inFlight += stop - Math.max(start, end);
    end = stop;
  }
  return { total, inFlight, outermost };
}

/** A small HTTP server for the apps' fetch calls: `GET /stock/:id` answers JSON. */
export async function startStockServer(): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ path: req.url, stock: 5 }));
  });
  return listen(server, (url) => ({ url }));
}

/**
 * An OTLP/HTTP sink standing in for the user's tracing backend: keeps every protobuf body it is
 * sent, so a test can check that span ids (raw bytes in OTLP protobuf) arrived.
 */
export async function startOtlpSink(): Promise<{
  url: string;
  requests(): number;
  holds(hexId: string): boolean;
  holdsText(text: string): boolean;
  close(): Promise<void>;
}> {
  const bodies: Buffer[] = [];
  let all = Buffer.alloc(0);
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      bodies.push(Buffer.concat(chunks));
      all = Buffer.concat(bodies);
      res.setHeader('content-type', 'application/x-protobuf');
      res.end();
    });
  });
  return listen(server, (url) => ({
    url: `${url}/v1/traces`,
    requests: () => bodies.length,
    holds: (hexId: string) => all.includes(Buffer.from(hexId, 'hex')),
    holdsText: (text: string) => all.includes(Buffer.from(text)),
  }));
}

async function listen<T extends object>(
  server: Server,
  make: (url: string) => T,
): Promise<T & { close(): Promise<void> }> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(make(`http://127.0.0.1:${port}`), {
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
}
