import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describeRequest } from '../instrumentations/datastore/describe-request.js';
import { describeResponse } from '../instrumentations/datastore/describe-response.js';
import {
  billedOps,
  costMicrodollars,
  DEFAULT_DATASTORE_PRICES,
} from '../instrumentations/datastore/pricing.js';
import {
  describeQuery,
  formatFilter,
  formatKey,
  formatValue,
} from '../instrumentations/datastore/query-text.js';
import {
  COMMANDS,
  callbackIndexOf,
  keyRepr,
  outcomeFromCallback,
  outcomeFromPromise,
  requestOf,
  requestSummary,
  responseSummary,
} from '../instrumentations/memjs/utils.js';

const spec = (method: string) => COMMANDS.find((command) => command.method === method)!;

describe('memjs utils', () => {
  it('finds the callback in current and deprecated signatures', () => {
    assert.equal(callbackIndexOf(['k', () => {}]), 1);
    assert.equal(callbackIndexOf(['k', 'v', () => {}, 60]), 2);
    assert.equal(callbackIndexOf(['k', 'v', {}]), -1);
  });

  it('reads the request: value bytes, expiry (own, deprecated, client default), amount, initial', () => {
    assert.deepEqual(requestOf(spec('set'), ['k', 'héllo', { expires: 5 }], 0), {
      key: 'k',
      valueBytes: 6,
      expires: 5,
    });
    assert.deepEqual(requestOf(spec('set'), ['k', Buffer.alloc(3), () => {}, 90], 0).expires, 90);
    assert.equal(requestOf(spec('set'), ['k', 'v', {}], 3600).expires, 3600);
    assert.equal(requestOf(spec('set'), ['k', { an: 'object' }, {}], 0).valueBytes, undefined);
    assert.deepEqual(requestOf(spec('increment'), ['n', 2, { initial: 7 }], 0), {
      key: 'n',
      amount: 2,
      initial: 7,
      expires: 0,
    });
    assert.equal(requestOf(spec('touch'), ['k', 30], 0).expires, 30);
  });

  it('summaries: quoted and escaped keys, bounded, fields kept after a long key', () => {
    assert.equal(keyRepr('a"b\n', 100), '"a\\"b\\n"');
    assert.equal(keyRepr(Buffer.from('buf'), 100), '"buf"');
    const long = requestSummary(spec('set'), { key: 'x'.repeat(500), valueBytes: 9, expires: 60 }, 100);
    assert.ok(long.length <= 100);
    assert.match(long, /chars\)" bytes=9 expires=60$/);
    assert.equal(requestSummary(spec('flush'), {}, 100), 'all servers');
  });

  it('outcomes and response summaries, from either form', () => {
    const get = spec('get');
    assert.equal(
      responseSummary(get, outcomeFromCallback(get, [Buffer.alloc(12), null]), 100),
      'hit 12 bytes',
    );
    assert.equal(responseSummary(get, outcomeFromPromise(get, { value: null, flags: null }), 100), 'miss');
    const incr = spec('increment');
    assert.equal(
      responseSummary(incr, outcomeFromPromise(incr, { success: true, value: 4 }), 100),
      'value=4',
    );
    assert.equal(
      responseSummary(spec('delete'), outcomeFromPromise(spec('delete'), false), 100),
      'not found',
    );
    assert.equal(responseSummary(spec('add'), outcomeFromCallback(spec('add'), [false]), 100), 'not stored');
    assert.equal(
      responseSummary(spec('flush'), outcomeFromCallback(spec('flush'), [{ 'a:1': true }]), 100),
      'flushed 1 server',
    );
  });
});

describe('datastore utils', () => {
  it('formats keys: ids, quoted names, ancestors, incomplete', () => {
    assert.equal(
      formatKey({
        path: [
          { kind: 'Org', name: 'acme' },
          { kind: 'User', id: '42' },
        ],
      }),
      'Org:"acme"/User:42',
    );
    assert.equal(formatKey({ path: [{ kind: 'User' }] }), 'User:?');
    assert.equal(formatKey({ path: [] }), '?');
    assert.equal(formatKey(undefined), '?');
  });

  it('formats values and filters; the ancestor is shown apart', () => {
    assert.equal(
      formatValue({ arrayValue: { values: [{ integerValue: '1' }, { stringValue: 'a' }] } }),
      '[1, "a"]',
    );
    assert.equal(formatValue({ timestampValue: { seconds: 0 } }), '1970-01-01T00:00:00.000Z');
    assert.equal(formatValue({ nullValue: 'NULL_VALUE' }), 'NULL');
    const filter = {
      compositeFilter: {
        op: 'AND',
        filters: [
          {
            propertyFilter: {
              property: { name: '__key__' },
              op: 'HAS_ANCESTOR',
              value: { keyValue: { path: [{ kind: 'Org', name: 'a' }] } },
            },
          },
          { propertyFilter: { property: { name: 'age' }, op: 'GREATER_THAN', value: { integerValue: '3' } } },
          {
            compositeFilter: {
              op: 'OR',
              filters: [
                {
                  propertyFilter: {
                    property: { name: 'tag' },
                    op: 'IN',
                    value: { arrayValue: { values: [{ stringValue: 'x' }] } },
                  },
                },
                { propertyFilter: { property: { name: 'ok' }, op: 'EQUAL', value: { booleanValue: true } } },
              ],
            },
          },
        ],
      },
    };
    assert.equal(formatFilter(filter), 'age>3 AND (tag IN ["x"] OR ok=true)');
    const query = describeQuery({
      kind: [{ name: 'Doc' }],
      filter,
      projection: [{ property: { name: 'title' } }],
      distinctOn: [{ name: 'title' }],
      order: [{ property: { name: 'title' }, direction: 'DESCENDING' }],
      offset: 5,
      startCursor: Buffer.from('c'),
    });
    assert.equal(
      query.summary,
      'Doc SELECT title DISTINCT ON title WHERE __key__ HAS ANCESTOR Key(Org:"a") AND age>3 AND (tag IN ["x"] OR ok=true) ORDER BY title DESC OFFSET 5 (next page)',
    );
    assert.equal(query.ancestor, 'Org:"a"');
    assert.equal(describeQuery({}).summary, '(kindless)');
  });

  it('billed ops from the answer: lookups, projections, aggregations, commits, ids', () => {
    const lookup = {
      method: 'lookup',
      reqOpts: {
        keys: [
          { path: [{ kind: 'A', id: 1 }] },
          { path: [{ kind: 'A', id: 2 }] },
          { path: [{ kind: 'A', id: 3 }] },
        ],
      },
    };
    const lookupRequest = describeRequest(lookup, false);
    const answer = describeResponse(
      lookup,
      {
        found: [{ entity: { key: { path: [{ kind: 'A', id: '2' }] } } }],
        missing: [{}],
        deferred: [{ path: [] }],
      },
      lookupRequest,
    );
    assert.equal(answer.summary, '1 found, 1 missing, 1 deferred');
    assert.deepEqual(answer.details.get_successful_fetch, [false, true, false]);
    assert.deepEqual(answer.ops, [{ op: 'DATASTORE_READ', num_ops: 2 }]);

    const projection = { method: 'runQuery', reqOpts: { query: { kind: [{ name: 'A' }] } } };
    assert.deepEqual(
      describeResponse(
        projection,
        { batch: { entityResults: [{}, {}], entityResultType: 'PROJECTION' } },
        describeRequest(projection, false),
      ).ops,
      [
        { op: 'DATASTORE_READ', num_ops: 1 },
        { op: 'DATASTORE_SMALL', num_ops: 2 },
      ],
    );

    const count = {
      method: 'runAggregationQuery',
      reqOpts: {
        aggregationQuery: {
          nestedQuery: { kind: [{ name: 'A' }] },
          aggregations: [{ alias: 'n', count: {} }],
        },
      },
    };
    const counted = describeResponse(
      count,
      { batch: { aggregationResults: [{ aggregateProperties: { n: { integerValue: '2500' } } }] } },
      describeRequest(count, false),
    );
    assert.equal(counted.summary, 'n=2500');
    assert.deepEqual(counted.ops, [{ op: 'DATASTORE_READ', num_ops: 3 }]);

    const commit = {
      method: 'commit',
      reqOpts: {
        mutations: [
          { insert: { key: { path: [{ kind: 'A' }] } } },
          { delete: { path: [{ kind: 'A', id: 9 }] } },
        ],
      },
    };
    const committed = describeResponse(
      commit,
      { mutationResults: [{ key: { path: [{ kind: 'A', id: '77' }] } }, { key: null }], indexUpdates: 4 },
      describeRequest(commit, true),
    );
    assert.deepEqual(committed.details.keys_written, ['A:77']);
    assert.equal(committed.summary, '2 mutations, 4 index updates');
    assert.deepEqual(committed.ops, [
      { op: 'DATASTORE_WRITE', num_ops: 1 },
      { op: 'DATASTORE_DELETE', num_ops: 1 },
    ]);
    assert.equal(describeRequest(commit, true).details.transactional, true);
  });

  it('details keep at most maxDetailKeys keys per list, with the total', () => {
    const keys = Array.from({ length: 5 }, (_, i) => ({ path: [{ kind: 'K', id: i + 1 }] }));
    const request = describeRequest({ method: 'lookup', reqOpts: { keys } }, false, 100, 2);
    assert.deepEqual(request.details.keys_read, ['K:1', 'K:2']);
    assert.equal(request.details.keys_read_total, 5);
    assert.equal(request.summary, '5 keys: K:1, K:2, K:3 (+2 more)');
  });

  it('never throws on an unexpected shape', () => {
    const odd = { method: 'runQuery', reqOpts: { query: { kind: 'not a list', filter: 7 } } } as never;
    assert.doesNotThrow(() => describeResponse(odd, 'nonsense' as never, describeRequest(odd, false)));
    assert.equal(describeRequest({ method: 'somethingNew' }, false).callName, 'datastore.SomethingNew');
  });

  it('costs: default prices per op, microdollars', () => {
    assert.equal(DEFAULT_DATASTORE_PRICES.readMicrodollars, 0.6);
    assert.equal(
      costMicrodollars(billedOps({ reads: 3, writes: 2, deletes: 1, small: 10 }), DEFAULT_DATASTORE_PRICES),
      5.6,
    );
    assert.equal(costMicrodollars([{ op: 'SOMETHING_ELSE', num_ops: 5 }], DEFAULT_DATASTORE_PRICES), 0);
  });
});
