import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { describe, test } from 'node:test';
import { summarize } from '../core/build-record.js';
import { encodeRecord } from '../core/codec.js';
import { recordKey } from '../core/record-key.js';
import { MemcacheStore } from '../stores/memcache-store.js';
import { MemoryStore } from '../stores/memory-store.js';
import { parseCliArgs } from '../viewer/cli-args.js';
import { createViewer } from '../viewer/index.js';
import { keyOptionsFrom, resolveViewerSettings } from '../viewer/viewer-settings.js';
import { textOf } from './helpers/html-text.js';
import { sampleRecord } from './helpers/records.js';

/**
 * The viewer's settings (issue 13 item 3): the mounted viewer reads the key options from the
 * environment the recorder reads (APPSTATS_KEY_PREFIX, _DISTANCE, _MODULUS), the CLI has flags for
 * them, and a dead store shows its error alone, not "No requests recorded" beside it.
 */

const loopback = () => '127.0.0.1';

/** Runs `fn` with these environment variables set, then puts the environment back. */
async function withEnv<T>(vars: Record<string, string>, fn: () => Promise<T>): Promise<T> {
  const before = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  Object.assign(process.env, vars);
  try {
    return await fn();
  } finally {
    for (const [k, v] of Object.entries(before)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

describe('key options from the environment', () => {
  test('the mounted viewer reads APPSTATS_KEY_PREFIX, APPSTATS_KEY_DISTANCE and APPSTATS_KEY_MODULUS', async () => {
    const keys = { keyPrefix: 'envapp', keyDistance: 50, keyModulus: 200 };
    const start = 1700000012345;
    const record = sampleRecord({ start });
    const store = new MemoryStore();
    await store.putRecord(
      { part: recordKey(start, 'part', keys), full: recordKey(start, 'full', keys) },
      { part: encodeRecord(summarize(record)), full: encodeRecord(record) },
      0,
    );
    const read = async () => {
      const res = await createViewer({ store, remoteAddress: loopback }).request('/?type=json');
      return ((await res.json()) as { records_read: number }).records_read;
    };
    assert.equal(await read(), 0, 'the default keys miss it');
    const found = await withEnv(
      { APPSTATS_KEY_PREFIX: 'envapp', APPSTATS_KEY_DISTANCE: '50', APPSTATS_KEY_MODULUS: '200' },
      async () => {
        const details = await createViewer({ store, remoteAddress: loopback }).request(
          `/details?time=${start}`,
        );
        assert.equal(details.status, 200);
        return read();
      },
    );
    assert.equal(found, 1);
  });

  test('options win over the environment; a bad variable throws at set-up, naming it', () => {
    const env = { APPSTATS_KEY_PREFIX: 'e', APPSTATS_KEY_DISTANCE: '10', APPSTATS_KEY_MODULUS: '7' };
    assert.deepEqual(keyOptionsFrom({}, env), { keyPrefix: 'e', keyDistance: 10, keyModulus: 7 });
    assert.deepEqual(keyOptionsFrom({ keyPrefix: 'o', keyModulus: 3 }, env), {
      keyPrefix: 'o',
      keyDistance: 10,
      keyModulus: 3,
    });
    assert.deepEqual(keyOptionsFrom({}, {}), {
      keyPrefix: '__appstats__',
      keyDistance: 100,
      keyModulus: 1000,
    });
    for (const bad of ['0', '-5', '1.5', 'ten', '1e3'])
      assert.throws(() => keyOptionsFrom({}, { APPSTATS_KEY_DISTANCE: bad }), /APPSTATS_KEY_DISTANCE/, bad);
    assert.throws(() => keyOptionsFrom({}, { APPSTATS_KEY_MODULUS: 'x' }), /APPSTATS_KEY_MODULUS/);
  });

  test('the CLI: --key-distance and --key-modulus, flags over the environment', () => {
    const parsed = parseCliArgs(['--memcache', 'm:1', '--key-distance', '250'], {
      APPSTATS_KEY_MODULUS: '400',
    });
    assert.equal(parsed.kind, 'run');
    if (parsed.kind !== 'run') return;
    assert.equal(parsed.settings.keyDistance, 250);
    assert.equal(parsed.settings.keyModulus, 400);
    const defaults = parseCliArgs(['--memcache', 'm:1'], {});
    assert.ok(defaults.kind === 'run' && defaults.settings.keyDistance === undefined);
    for (const argv of [
      ['--key-distance', '0'],
      ['--key-modulus', 'many'],
    ]) {
      const bad = parseCliArgs(['--memcache', 'm:1', ...argv], {});
      assert.ok(bad.kind === 'error' && bad.message.includes(argv[0]), argv.join(' '));
    }
  });
});

test('a dead store: the error box alone, not "No requests recorded" beside it', async () => {
  // A port nobody listens on: take a free one, then close it.
  const port = await new Promise<number>((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
  const store = new MemcacheStore(`127.0.0.1:${port}`);
  try {
    const res = await createViewer({ store, remoteAddress: loopback }).request('/');
    assert.equal(res.status, 200);
    const html = await res.text();
    assert.match(html, /id="store-errors"/);
    assert.doesNotMatch(textOf(html), /No requests recorded/);
    assert.doesNotMatch(html, /id="empty"/);
  } finally {
    await store.close();
  }
  // With a store that answers and holds nothing, the empty state does show.
  const empty = await createViewer({ store: new MemoryStore(), remoteAddress: loopback }).request('/');
  assert.match(textOf(await empty.text()), /No requests recorded/);
});

test('the store is named by its servers, passed in as a MemcacheStore or as a string', async () => {
  const passed = new MemcacheStore('127.0.0.1:1,localhost:2');
  try {
    assert.equal(resolveViewerSettings({ store: passed }, {}).storeLabel, 'memcache 127.0.0.1:1,localhost:2');
    const fromString = resolveViewerSettings({ memcache: 'user:secret@127.0.0.1:3' }, {});
    assert.equal(fromString.storeLabel, 'memcache 127.0.0.1:3', 'credentials never shown');
    await (fromString.store as MemcacheStore).close();
    assert.equal(
      resolveViewerSettings({ store: new MemoryStore() }, {}).storeLabel,
      'an in-process memory store',
    );
  } finally {
    await passed.close();
  }
});
