import assert from 'node:assert/strict';
import type { RequestRecord, RpcCall } from '../../core/record.js';
import { type DashboardPathRow, expectedTotals, type Recorded } from './otel-app-records.js';

// The checks every record of the OTel apps (test/otel-apps-*.test.ts) must pass, and small tools
// for stating what each route should record.

/** Times are rounded to the µs; sums of up to 20 rounded values. */
export const EPS = 0.01;
/** Connection set-up: never the subject of a finding. */
const SET_UP = /connect|dns|tcp|lookup|tls/i;

/** The route a driven path belongs to, by the templates the test expects (`/product/3` -> `/product/:id`). */
export function routeOf(path: string, templates: readonly string[]): string {
  const segments = path.split('/');
  const match = templates.find((template) => {
    const want = template.split('/');
    return want.length === segments.length && want.every((w, i) => w.startsWith(':') || w === segments[i]);
  });
  return match ?? path;
}

export const names = (record: RequestRecord) => record.individual_stats.map((call) => call.service_call_name);
export const callsNamed = (record: RequestRecord, name: string) =>
  record.individual_stats.filter((call) => call.service_call_name === name);

/** The first frame of a call's stack, as `file:line`. */
export function topFrame(call: RpcCall): string {
  const frame = call.call_stack[0];
  return frame ? `${frame.class_or_file_name}:${frame.line_number}` : '(no stack)';
}

/** The checks every record must pass: calls vs context, nesting, totals, findings. */
export function checkRecordShape(recorded: Recorded, sequential: boolean): void {
  const { part, full, path } = recorded;
  for (const call of full.individual_stats)
    assert.ok(
      call.span_kind === 'CLIENT' || call.span_kind === 'PRODUCER',
      `${path}: ${call.span_name} (${call.span_kind}) is not a call`,
    );
  const context = full.context_spans ?? [];
  const callIds = new Set(full.individual_stats.map((call) => call.span_id));
  const known = new Set([...callIds, ...context.map((span) => span.span_id)]);
  for (const span of context) {
    assert.ok(
      span.span_kind === 'INTERNAL' || span.span_kind === 'SERVER',
      `${path}: context ${span.name} is ${span.span_kind}`,
    );
    assert.ok(!callIds.has(span.span_id), `${path}: context span ${span.name} is also a call`);
    assert.ok(
      typeof span.name === 'string' &&
        Number.isFinite(span.start_offset_milliseconds) &&
        Number.isFinite(span.duration_milliseconds),
      `${path}: context span ${JSON.stringify(span)} has a name, a start and a duration`,
    );
    if (span.parent_span_id !== undefined)
      assert.ok(known.has(span.parent_span_id), `${path}: ${span.name}'s parent is kept`);
  }
  for (const call of full.individual_stats)
    if (call.parent_span_id !== undefined)
      assert.ok(
        known.has(call.parent_span_id),
        `${path}: ${call.service_call_name}'s parent ${call.parent_span_id} is in the record`,
      );

  const { total, inFlight, outermost } = expectedTotals(full);
  for (const [kind, record] of [
    ['part', part],
    ['full', full],
  ] as const) {
    assert.equal(
      typeof record.rpc_total_milliseconds,
      'number',
      `${path}: ${kind} has rpc_total_milliseconds`,
    );
    assert.equal(
      typeof record.rpc_in_flight_milliseconds,
      'number',
      `${path}: ${kind} has rpc_in_flight_milliseconds`,
    );
  }
  const rpcTotal = part.rpc_total_milliseconds ?? Number.NaN;
  const rpcInFlight = part.rpc_in_flight_milliseconds ?? Number.NaN;
  assert.equal(full.rpc_total_milliseconds, rpcTotal, `${path}: part and full agree`);
  assert.equal(full.rpc_in_flight_milliseconds, rpcInFlight, `${path}: part and full agree`);
  assert.ok(
    Math.abs(rpcTotal - total) <= EPS,
    `${path}: rpc_total ${rpcTotal} = sum of outermost calls ${total}`,
  );
  assert.ok(
    Math.abs(rpcInFlight - inFlight) <= EPS,
    `${path}: in flight ${rpcInFlight} = union of calls ${inFlight}`,
  );
  assert.ok(rpcInFlight <= rpcTotal + EPS, `${path}: in flight ${rpcInFlight} <= rpc_total ${rpcTotal}`);
  assert.ok(rpcInFlight <= part.duration_milliseconds + EPS, `${path}: in flight <= duration`);
  if (sequential)
    assert.ok(
      rpcTotal <= part.duration_milliseconds + EPS,
      `${path}: rpc_total ${rpcTotal} <= duration ${part.duration_milliseconds}`,
    );
  // rpc_stats count the outermost calls only, once each.
  const counted = part.rpc_stats.reduce((sum, stat) => sum + stat.total_amount_of_calls, 0);
  assert.equal(counted, outermost.length, `${path}: rpc_stats count the ${outermost.length} outermost calls`);

  for (const finding of recorded.findings) {
    assert.notEqual(finding.kind, 'duplicate', `${path}: no duplicate here (${finding.message})`);
    assert.doesNotMatch(finding.call_name, SET_UP, `${path}: a finding names connection set-up`);
    for (const index of finding.calls) {
      const call = full.individual_stats[index];
      assert.ok(call, `${path}: finding index ${index} is a call`);
      assert.doesNotMatch(
        call.service_call_name,
        SET_UP,
        `${path}: a finding counts ${call.service_call_name}`,
      );
    }
  }
}

/** The dashboard's hints (the part's counts) and the details JSON serve the pure function's findings. */
export function checkServedFindings({ part, path, findings, detailsJson }: Recorded): void {
  assert.deepEqual(
    part.findings ?? [],
    findings.map((f) => ({ kind: f.kind, call_name: f.call_name, count: f.calls.length })),
    `${path}: the part's finding counts`,
  );
  if (findings.length > 0)
    assert.deepEqual(detailsJson.findings, findings, `${path}: the details JSON serves the findings`);
}

/**
 * The dashboard's hints follow the findings' rules: a path row flags exactly the kinds and call
 * names that the findings of its requests name (never a pipeline, never pool checkouts), no more,
 * no fewer.
 */
export function checkDashboardHints(
  rows: readonly DashboardPathRow[],
  byRoute: ReadonlyMap<string, Recorded[]>,
): void {
  const shown: [string, string[]][] = [];
  const found: [string, string[]][] = [];
  for (const [route, recordedList] of byRoute) {
    const row = rows.find((r) => r.path === `GET ${recordedList[0].full.http_route ?? route}`);
    const names = new Set(
      recordedList.flatMap(({ findings }) => findings.map((f) => `${f.kind} ${f.call_name}`)),
    );
    found.push([route, [...names].sort()]);
    shown.push([
      route,
      [...new Set((row?.repeated ?? []).map((hint) => `${hint.kind} ${hint.service_call_name}`))].sort(),
    ]);
  }
  assert.deepEqual(shown, found, 'dashboard hints (path row `repeated`) are the findings of its requests');
}

/** The first frame of a call's stack outside node_modules (library frames may come first), as `file:line`. */
export function firstAppFrame(call: RpcCall): string {
  const frame = call.call_stack.find((f) => !/[\\/]node_modules[\\/]/.test(f.class_or_file_name));
  return frame ? `${frame.class_or_file_name}:${frame.line_number}` : '(no app frame)';
}

/** `GET /_test/appstats-stats` of an app: its processor's `stats()`. */
export async function processorStats(port: number): Promise<Record<string, number>> {
  const response = await fetch(`http://127.0.0.1:${port}/_test/appstats-stats`);
  assert.equal(response.status, 200);
  return (await response.json()) as Record<string, number>;
}

/** Records under the app's prefix that are not one of the requests the test made. */
export function notDriven(
  parts: readonly { http_method: string; http_path: string }[],
  paths: readonly string[],
): string[] {
  return parts
    .filter((part) => part.http_method !== 'GET' || !paths.includes(part.http_path))
    .map((part) => `${part.http_method || '(no method)'} ${part.http_path}`);
}
