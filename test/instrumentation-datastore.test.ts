import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { after, before, beforeEach, describe, it } from 'node:test';
import type * as DatastoreModule from '@google-cloud/datastore';
import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { suppressTracing } from '@opentelemetry/core';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import {
  ATTR_BILLED_OPS,
  ATTR_CALL_NAME,
  ATTR_COST_MICRODOLLARS,
  ATTR_DATASTORE_DETAILS,
  ATTR_NAMESPACE,
  ATTR_REQUEST_SUMMARY,
  ATTR_RESPONSE_SUMMARY,
} from '../core/attributes.js';
import { DatastoreInstrumentation } from '../instrumentations/datastore/index.js';
import { type DatastoreEmulator, startDatastoreEmulator } from './helpers/datastore-emulator.js';
import { CollectingProcessor, testProvider } from './helpers/tracing.js';

// Callbacks must come back in the caller's context: that needs a real context manager.
const contextManager = new AsyncLocalStorageContextManager().enable();
context.setGlobalContextManager(contextManager);

const collector = new CollectingProcessor();
const provider = testProvider([collector]);
const tracer = provider.getTracer('test');
// Enabled before the client is required: the require hook patches it as it loads.
const instrumentation = new DatastoreInstrumentation();
instrumentation.setTracerProvider(provider);
instrumentation.enable();
const { Datastore, PropertyFilter, and } = createRequire(import.meta.url)(
  '@google-cloud/datastore',
) as typeof DatastoreModule;
type Datastore = DatastoreModule.Datastore;

let emulator: DatastoreEmulator;
let firestore: DatastoreEmulator;
let ds: Datastore;
let fs: Datastore;

before(async () => {
  [emulator, firestore] = await Promise.all([
    startDatastoreEmulator('datastore'),
    startDatastoreEmulator('firestore'),
  ]);
  // The client reads these when it is made; METADATA_SERVER_DETECTION keeps it offline.
  Object.assign(process.env, emulator.env);
  ds = new Datastore({ projectId: 'appstats-test', apiEndpoint: emulator.host });
  fs = new Datastore({ projectId: 'appstats-test', apiEndpoint: firestore.host });
});

after(async () => {
  // The client has no close(): its gRPC clients do.
  for (const client of [ds, fs].flatMap((d) => [
    ...((d as unknown as { clients_?: Map<string, { close(): Promise<void> }> })?.clients_?.values() ?? []),
  ]))
    await client.close();
  await Promise.all([emulator?.stop(), firestore?.stop()]);
  instrumentation.disable();
  contextManager.disable();
});

beforeEach(() => {
  collector.ended.length = 0;
});

async function spans(): Promise<ReadableSpan[]> {
  await new Promise((resolve) => setImmediate(resolve));
  return collector.ended.filter((span) => span.kind === SpanKind.CLIENT);
}

function only(list: ReadableSpan[]): ReadableSpan {
  assert.equal(list.length, 1, `exactly one span, got ${list.map((s) => s.name).join(', ')}`);
  return list[0];
}

function details(span: ReadableSpan): Record<string, unknown> {
  return JSON.parse(String(span.attributes[ATTR_DATASTORE_DETAILS]));
}

function ops(span: ReadableSpan): unknown {
  return JSON.parse(String(span.attributes[ATTR_BILLED_OPS] ?? '[]'));
}

function row(span: ReadableSpan) {
  return {
    call: span.attributes[ATTR_CALL_NAME],
    method: span.attributes['gcp.datastore.client_method'],
    request: span.attributes[ATTR_REQUEST_SUMMARY],
    response: span.attributes[ATTR_RESPONSE_SUMMARY],
  };
}

describe('DatastoreInstrumentation: one CLIENT span per RPC', () => {
  it('save -> datastore.Commit, with keys written, one write billed, semconv attributes', async () => {
    await ds.save({ key: ds.key(['User', 42]), data: { name: 'ann', age: 35 } });
    const span = only(await spans());
    assert.equal(span.name, 'Commit');
    assert.deepEqual(row(span), {
      call: 'datastore.Commit',
      method: 'Datastore.save',
      request: 'put User:42',
      response: span.attributes[ATTR_RESPONSE_SUMMARY],
    });
    assert.match(String(span.attributes[ATTR_RESPONSE_SUMMARY]), /^1 mutation, \d+ index updates$/);
    assert.equal(span.attributes['db.system.name'], 'gcp.datastore');
    assert.equal(span.attributes['db.operation.name'], 'Commit');
    assert.equal(span.attributes['db.collection.name'], 'User');
    assert.equal(span.attributes['server.address'], '127.0.0.1');
    assert.equal(span.attributes['server.port'], emulator.port);
    assert.equal(span.attributes['gcp.datastore.transactional'], false);
    assert.deepEqual(details(span).keys_written, ['User:42']);
    assert.deepEqual(ops(span), [{ op: 'DATASTORE_WRITE', num_ops: 1 }]);
    assert.equal(span.attributes[ATTR_COST_MICRODOLLARS], 1.8);
    assert.equal(span.status.code, SpanStatusCode.UNSET);
  });

  it('insert with an incomplete key: the details show the id the answer gave', async () => {
    const key = ds.key('User');
    await ds.insert({ key, data: { name: 'bob', age: 40 } });
    const span = only(await spans());
    assert.equal(span.attributes['gcp.datastore.client_method'], 'Datastore.insert');
    assert.equal(span.attributes[ATTR_REQUEST_SUMMARY], 'put User:?');
    assert.deepEqual(details(span).keys_written, [`User:${key.id}`]);
  });

  it('get -> datastore.Lookup: keys read, which were found, one read per key; both forms', async () => {
    const [found] = await ds.get([ds.key(['User', 42]), ds.key(['User', 'nobody'])]);
    assert.equal(found.length, 1);
    await new Promise<void>((resolve, reject) =>
      ds.get(ds.key(['User', 42]), (err) => (err ? reject(err) : resolve())),
    );
    const [both, single] = await spans();
    assert.deepEqual(row(both), {
      call: 'datastore.Lookup',
      method: 'Datastore.get',
      request: '2 keys: User:42, User:"nobody"',
      response: '1 found, 1 missing',
    });
    assert.deepEqual(details(both), {
      keys_read: ['User:42', 'User:"nobody"'],
      get_successful_fetch: [true, false],
    });
    assert.deepEqual(ops(both), [{ op: 'DATASTORE_READ', num_ops: 2 }]);
    assert.equal(both.attributes[ATTR_COST_MICRODOLLARS], 1.2);
    assert.equal(both.attributes['db.response.returned_rows'], 1);
    assert.equal(single.attributes[ATTR_RESPONSE_SUMMARY], '1 found, 0 missing');
  });

  it('delete -> datastore.Commit with keys deleted, one delete billed', async () => {
    await ds.delete(ds.key(['User', 'gone']));
    const span = only(await spans());
    assert.equal(span.attributes[ATTR_REQUEST_SUMMARY], 'delete User:"gone"');
    assert.deepEqual(details(span).keys_deleted, ['User:"gone"']);
    assert.deepEqual(ops(span), [{ op: 'DATASTORE_DELETE', num_ops: 1 }]);
    assert.equal(span.attributes[ATTR_COST_MICRODOLLARS], 0.2);
  });

  it('runQuery / Query.run -> datastore.RunQuery: kind, filters, order, limit, results, reads', async () => {
    const query = ds
      .createQuery('User')
      .filter(and([new PropertyFilter('age', '>=', 30), new PropertyFilter('age', '<', 100)]))
      .order('age')
      .limit(5);
    const [users] = await query.run();
    assert.equal(users.length, 2);
    const span = only(await spans());
    assert.deepEqual(row(span), {
      call: 'datastore.RunQuery',
      method: 'Query.run',
      request: 'User WHERE (age>=30 AND age<100) ORDER BY age LIMIT 5',
      response: '2 results, MORE_RESULTS_AFTER_LIMIT',
    });
    assert.deepEqual(details(span), {
      query_kind: 'User',
      filters: '(age>=30 AND age<100)',
      order: 'age',
      limit: 5,
      result_count: 2,
      more_results: 'MORE_RESULTS_AFTER_LIMIT',
    });
    assert.deepEqual(ops(span), [{ op: 'DATASTORE_READ', num_ops: 3 }]);
  });

  it('a keys-only ancestor query in a namespace: ancestor, namespace, small ops per result', async () => {
    const parent = ds.key({ namespace: 'tenant-a', path: ['Org', 'acme'] });
    await ds.save(
      [1, 2, 3].map((i) => ({
        key: ds.key({ namespace: 'tenant-a', path: ['Org', 'acme', 'Doc', i] }),
        data: { i },
      })),
    );
    collector.ended.length = 0;
    const [keys] = await ds.runQuery(ds.createQuery('tenant-a', 'Doc').hasAncestor(parent).select('__key__'));
    assert.equal(keys.length, 3);
    const span = only(await spans());
    assert.equal(
      span.attributes[ATTR_REQUEST_SUMMARY],
      'Doc SELECT __key__ WHERE __key__ HAS ANCESTOR Key(Org:"acme")',
    );
    assert.equal(span.attributes[ATTR_RESPONSE_SUMMARY], '3 results (keys only), MORE_RESULTS_AFTER_LIMIT');
    assert.equal(span.attributes[ATTR_NAMESPACE], 'tenant-a');
    assert.equal(details(span).query_ancestor, 'Org:"acme"');
    assert.equal(details(span).keys_only, true);
    assert.deepEqual(ops(span), [
      { op: 'DATASTORE_READ', num_ops: 1 },
      { op: 'DATASTORE_SMALL', num_ops: 3 },
    ]);
    assert.equal(span.attributes[ATTR_COST_MICRODOLLARS], 0.6);
  });

  it('a query over more than one page -> one RunQuery span per page, all children of the caller', async () => {
    await ds.save(Array.from({ length: 310 }, (_, i) => ({ key: ds.key(['Item', i + 1]), data: { i } })));
    collector.ended.length = 0;
    await tracer.startActiveSpan('request', async (root) => {
      const [items] = await ds.runQuery(ds.createQuery('Item'));
      assert.equal(items.length, 310);
      root.end();
    });
    const pages = await spans();
    assert.equal(pages.length, 2, 'the emulator answers 300 entities per batch');
    assert.deepEqual(
      pages.map((span) => [span.attributes[ATTR_REQUEST_SUMMARY], span.attributes[ATTR_RESPONSE_SUMMARY]]),
      [
        ['Item', '300 results, NOT_FINISHED'],
        // The emulator ends a query without a limit with MORE_RESULTS_AFTER_LIMIT too.
        ['Item (next page)', '10 results, MORE_RESULTS_AFTER_LIMIT'],
      ],
    );
    assert.equal(details(pages[1]).next_page, true);
    const root = collector.ended.find((span) => span.name === 'request')!;
    for (const page of pages) {
      assert.equal(page.parentSpanContext?.spanId, root.spanContext().spanId);
      assert.equal(page.attributes['gcp.datastore.client_method'], 'Datastore.runQuery');
    }
  });

  it('runQueryStream read later, and createReadStream: the stream method and the caller span', async () => {
    await tracer.startActiveSpan('request', async (root) => {
      const stream = ds.runQueryStream(ds.createQuery('User').limit(1));
      // Read only after the call returned, from another tick: the RPC starts here.
      await new Promise((resolve) => setImmediate(resolve));
      const rows: unknown[] = [];
      await new Promise<void>((resolve, reject) =>
        context.with(trace.deleteSpan(context.active()), () =>
          stream
            .on('data', (entity) => rows.push(entity))
            .on('end', resolve)
            .on('error', reject),
        ),
      );
      assert.equal(rows.length, 1);
      const entities: unknown[] = [];
      await new Promise<void>((resolve, reject) =>
        ds
          .createReadStream([ds.key(['User', 42])])
          .on('data', (entity) => entities.push(entity))
          .on('end', resolve)
          .on('error', reject),
      );
      assert.equal(entities.length, 1);
      root.end();
    });
    const [query, lookup] = await spans();
    const root = collector.ended.find((span) => span.name === 'request')!;
    assert.equal(query.attributes[ATTR_CALL_NAME], 'datastore.RunQuery');
    assert.equal(query.attributes['gcp.datastore.client_method'], 'Datastore.runQueryStream');
    assert.equal(query.parentSpanContext?.spanId, root.spanContext().spanId);
    assert.equal(lookup.attributes[ATTR_CALL_NAME], 'datastore.Lookup');
    assert.equal(lookup.attributes['gcp.datastore.client_method'], 'Datastore.createReadStream');
  });

  it('allocateIds -> datastore.AllocateIds, one small op per id', async () => {
    const [keys] = await ds.allocateIds(ds.key('User'), 2);
    const span = only(await spans());
    assert.equal(span.attributes[ATTR_REQUEST_SUMMARY], '2 x User:?');
    assert.deepEqual(
      details(span).keys_allocated,
      keys.map((key) => `User:${key.id}`),
    );
    assert.deepEqual(ops(span), [{ op: 'DATASTORE_SMALL', num_ops: 2 }]);
    assert.equal(span.attributes[ATTR_COST_MICRODOLLARS], 0);
  });
});

describe('DatastoreInstrumentation: transactions', () => {
  it('run, get, save, commit -> BeginTransaction, Lookup, Commit, marked transactional', async () => {
    const transaction = ds.transaction();
    await transaction.run();
    const [user] = await transaction.get(ds.key(['User', 42]));
    transaction.save({ key: ds.key(['User', 42]), data: { ...user, age: 36 } });
    transaction.delete(ds.key(['User', 'gone-too']));
    await transaction.commit();
    const list = await spans();
    assert.deepEqual(list.map(row), [
      {
        call: 'datastore.BeginTransaction',
        method: 'Transaction.run',
        request: 'read-write',
        response: 'transaction started',
      },
      {
        call: 'datastore.Lookup',
        method: 'Transaction.get',
        request: '1 key: User:42',
        response: '1 found, 0 missing',
      },
      {
        call: 'datastore.Commit',
        method: 'Transaction.commit',
        request: 'put User:42; delete User:"gone-too"',
        response: list[2].attributes[ATTR_RESPONSE_SUMMARY],
      },
    ]);
    assert.deepEqual(
      list.map((span) => span.attributes['gcp.datastore.transactional']),
      [false, true, true],
    );
    assert.equal(details(list[2]).transactional, true);
    assert.deepEqual(ops(list[2]), [
      { op: 'DATASTORE_WRITE', num_ops: 1 },
      { op: 'DATASTORE_DELETE', num_ops: 1 },
    ]);
  });

  it('merge: the transaction the client runs for it, every RPC credited to Datastore.merge', async () => {
    await ds.merge({ key: ds.key(['User', 42]), data: { city: 'Oslo' } });
    const list = await spans();
    assert.deepEqual(
      list.map((span) => [span.attributes[ATTR_CALL_NAME], span.attributes['gcp.datastore.client_method']]),
      [
        ['datastore.BeginTransaction', 'Datastore.merge'],
        ['datastore.Lookup', 'Datastore.merge'],
        ['datastore.Commit', 'Datastore.merge'],
      ],
    );
    const [user] = await ds.get(ds.key(['User', 42]));
    assert.equal(user.city, 'Oslo');
  });

  it('run, rollback (callback form) -> BeginTransaction, Rollback', async () => {
    const transaction = ds.transaction({ readOnly: true });
    await transaction.run();
    await new Promise<void>((resolve, reject) =>
      transaction.rollback((err: Error | null) => (err ? reject(err) : resolve())),
    );
    const list = await spans();
    assert.deepEqual(list.map(row), [
      {
        call: 'datastore.BeginTransaction',
        method: 'Transaction.run',
        request: 'read-only',
        response: 'transaction started',
      },
      { call: 'datastore.Rollback', method: 'Transaction.rollback', request: '', response: 'rolled back' },
    ]);
  });
});

describe('DatastoreInstrumentation: aggregation queries and errors', () => {
  it("the Datastore emulator's UNIMPLEMENTED -> status ERROR, the error reaches the app unchanged", async () => {
    const aggregate = ds.createAggregationQuery(ds.createQuery('User')).count('n');
    await assert.rejects(ds.runAggregationQuery(aggregate), /UNIMPLEMENTED/);
    const span = only(await spans());
    assert.equal(span.attributes[ATTR_CALL_NAME], 'datastore.RunAggregationQuery');
    assert.equal(span.status.code, SpanStatusCode.ERROR);
    assert.equal(span.attributes['db.response.status_code'], '12');
    assert.match(String(span.attributes[ATTR_RESPONSE_SUMMARY]), /^error: 12 UNIMPLEMENTED/);
    assert.equal(span.events[0]?.name, 'exception');
    assert.deepEqual(details(span).aggregations, ['COUNT(*) AS n']);
    assert.equal(span.attributes[ATTR_BILLED_OPS], undefined);
  });

  it('the Firestore emulator (Datastore mode) answers: results and one read per 1000 counted', async () => {
    await fs.save(
      Array.from({ length: 3 }, (_, i) => ({ key: fs.key(['Vote', i + 1]), data: { stars: i + 3 } })),
    );
    collector.ended.length = 0;
    const [[result]] = (await fs
      .createAggregationQuery(fs.createQuery('Vote'))
      .count('n')
      .sum('stars', 'total')
      .run()) as [unknown[], unknown];
    assert.deepEqual(result, { n: 3, total: 12 });
    const span = only(await spans());
    assert.equal(span.attributes[ATTR_REQUEST_SUMMARY], 'COUNT(*) AS n, SUM(stars) AS total OVER Vote');
    assert.equal(span.attributes[ATTR_RESPONSE_SUMMARY], 'n=3, total=12');
    assert.equal(span.attributes['server.port'], firestore.port);
    assert.deepEqual(details(span).results, { n: 3, total: 12 });
    assert.deepEqual(ops(span), [{ op: 'DATASTORE_READ', num_ops: 1 }]);
  });

  it('an error before the RPC (a bad key) never reaches the instrumentation as an exception', async () => {
    await assert.rejects(ds.get([]), /At least one Key/);
    assert.equal((await spans()).length, 0);
  });
});

describe('DatastoreInstrumentation: context, options, suppression, unpatching', () => {
  it('callbacks run in the caller context, spans are children of the active span', async () => {
    await tracer.startActiveSpan('request', async (root) => {
      const seen = await new Promise((resolve) =>
        ds.get(ds.key(['User', 42]), () => resolve(trace.getActiveSpan())),
      );
      assert.equal(seen, root);
      root.end();
    });
    const span = only(await spans());
    assert.equal(
      span.parentSpanContext?.spanId,
      collector.ended.find((s) => s.name === 'request')?.spanContext().spanId,
    );
  });

  it('prices are configurable', async () => {
    instrumentation.setConfig({ prices: { readMicrodollars: 10 } });
    try {
      await ds.get([ds.key(['User', 42]), ds.key(['User', 43])]);
      assert.equal(only(await spans()).attributes[ATTR_COST_MICRODOLLARS], 20);
    } finally {
      instrumentation.setConfig({});
    }
  });

  it('summaries are bounded by maxRepr', async () => {
    instrumentation.setConfig({ maxRepr: 20 });
    try {
      await ds.get(ds.key(['User', 'a-rather-long-key-name-that-does-not-fit']));
      const summary = String(only(await spans()).attributes[ATTR_REQUEST_SUMMARY]);
      assert.ok(summary.length <= 20, summary);
    } finally {
      instrumentation.setConfig({});
    }
  });

  it('no span while tracing is suppressed', async () => {
    await context.with(suppressTracing(context.active()), async () => {
      await ds.get(ds.key(['User', 42]));
      await ds.save({ key: ds.key(['User', 'quiet']), data: {} });
    });
    assert.equal((await spans()).length, 0);
  });

  it('disable() unpatches: no spans; enable() patches again', async () => {
    instrumentation.disable();
    try {
      const [user] = await ds.get(ds.key(['User', 42]));
      assert.equal(user.name, 'ann');
      assert.equal((await spans()).length, 0);
    } finally {
      instrumentation.enable();
    }
    await ds.get(ds.key(['User', 42]));
    assert.equal((await spans()).length, 1);
  });
});
