import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { decodeRecord } from '../core/codec.js';
import { allPartKeys } from '../core/record-key.js';
import { MemcacheStore } from '../stores/memcache-store.js';
import { type MemcachedServer, startMemcached } from './helpers/memcached.js';

const root = fileURLToPath(new URL('..', import.meta.url));

describe('an app whose work is done exits by itself', () => {
  let memcached: MemcachedServer;
  before(async () => {
    memcached = await startMemcached();
  });
  after(async () => {
    await memcached?.stop();
  });

  it('with the register entry and a memcache configured, after its record is written', async () => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', '--import', './register.ts', 'test/fixtures/job-then-exit.mjs'],
      {
        cwd: root,
        stdio: ['ignore', 'inherit', 'inherit'],
        env: { ...process.env, APPSTATS_MEMCACHE: memcached.address, APPSTATS_KEY_PREFIX: 'exit-test' },
      },
    );
    // Bounded: a process kept alive by our socket would never exit; 20 s is far above the ~1 s it takes.
    const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    const [code, signal] = await once(child, 'exit');
    clearTimeout(killer);
    assert.equal(signal, null, 'it exited by itself, it was not killed');
    assert.equal(code, 0);
    const store = new MemcacheStore(memcached.address);
    const { values } = await store.getParts(allPartKeys({ keyPrefix: 'exit-test' }));
    await store.close();
    assert.deepEqual(
      [...values.values()].map((bytes) => decodeRecord(bytes).http_path),
      ['nightly job'],
      'the record was written before the exit',
    );
  });
});
