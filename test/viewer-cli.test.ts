import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseCliArgs } from '../viewer/cli-args.js';
import { type MemcachedServer, startMemcached } from './helpers/memcached.js';
import { alignedBase, recordThroughPipeline, scenario } from './helpers/viewer-fixtures.js';

const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));

describe('parseCliArgs', () => {
  test('flags win over the environment; defaults', () => {
    const parsed = parseCliArgs(['--memcache', 'a:1', '--prefix', 'p'], {
      APPSTATS_MEMCACHE: 'env:2',
      APPSTATS_KEY_PREFIX: 'envp',
      APPSTATS_VIEWER_PORT: '9000',
    });
    assert.equal(parsed.kind, 'run');
    if (parsed.kind !== 'run') return;
    assert.equal(parsed.settings.memcache, 'a:1');
    assert.equal(parsed.settings.keyPrefix, 'p');
    assert.equal(parsed.settings.port, 9000);
    assert.equal(parsed.settings.host, '127.0.0.1');
    assert.equal(parsed.settings.basePath, '/');
    assert.equal(parsed.settings.auth, undefined);
    assert.match(parsed.settings.authLabel, /loopback/);
  });
  test('auth from flags or environment', () => {
    const token = parseCliArgs([], { MEMCACHE_SERVERS: 'm:1', APPSTATS_VIEWER_TOKEN: 't' });
    assert.deepEqual(token.kind === 'run' && token.settings.auth, { token: 't' });
    const user = parseCliArgs(['--user', 'u', '--password', 'p', '--memcache', 'm:1'], {});
    assert.deepEqual(user.kind === 'run' && user.settings.auth, { username: 'u', password: 'p' });
  });
  test('errors say what is wrong; --help', () => {
    const error = (argv: string[], env = {}) => {
      const parsed = parseCliArgs(argv, env);
      return parsed.kind === 'error' ? parsed.message : `not an error: ${parsed.kind}`;
    };
    assert.match(error([]), /no memcache/);
    assert.match(error(['--memcache', 'm:1', '--port', 'http']), /bad --port/);
    assert.match(error(['--memcache', 'm:1', '--port', '70000']), /bad --port/);
    assert.match(
      error(['--memcache', 'm:1', '--token', 't', '--user', 'u', '--password', 'p']),
      /either a token/,
    );
    assert.match(error(['--memcache', 'm:1', '--user', 'u']), /go together/);
    assert.match(error(['--memcache', 'm:1', '--bogus']), /Unknown option/);
    assert.equal(parseCliArgs(['-h'], {}).kind, 'help');
  });
  test('the bin is declared and the script has a shebang', async () => {
    const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8'));
    assert.equal(pkg.bin['appstats-viewer'], './dist/viewer/cli.js');
    assert.match(await readFile(join(ROOT, 'viewer', 'cli.ts'), 'utf8'), /^#!\/usr\/bin\/env node\n/);
  });
});

describe('appstats-viewer, run from source', () => {
  let memcached: MemcachedServer;
  let base: number;
  before(async () => {
    memcached = await startMemcached();
    base = alignedBase();
    await recordThroughPipeline(memcached.address, scenario(base).slice(0, 2), 'cliapp');
  });
  after(async () => {
    await memcached?.stop();
  });

  async function run(args: string[], env: Record<string, string> = {}) {
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'viewer', 'cli.ts'), ...args], {
      cwd: ROOT,
      env: { ...process.env, APPSTATS_MEMCACHE: '', MEMCACHE_SERVERS: '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout.on('data', (chunk) => {
        stdout += chunk;
        const match = /listening on (http:\/\/\S+)/.exec(stdout);
        if (match) resolve(match[1]);
      });
      child.once('exit', (code) => reject(new Error(`exited ${code}: ${stderr}`)));
    });
    return {
      url,
      stdout: () => stdout,
      async stop() {
        const exited = once(child, 'exit');
        child.kill('SIGTERM');
        await exited;
      },
    };
  }

  test('serves the dashboard of the given memcache and prefix, loopback only by default', async () => {
    const cli = await run([
      '--memcache',
      memcached.address,
      '--port',
      '0',
      '--prefix',
      'cliapp',
      '--title',
      'cli-demo',
    ]);
    try {
      assert.match(cli.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
      assert.match(
        cli.stdout(),
        /memcache 127\.0\.0\.1:\d+, prefix cliapp, auth none: loopback clients only/,
      );
      const res = await fetch(cli.url);
      assert.equal(res.status, 200);
      const html = await res.text();
      assert.match(html, /2 records read/);
      assert.match(html, /cli-demo/);
      const details = await fetch(`${cli.url}details?time=${base + 100}`);
      assert.equal(details.status, 200);
      await details.text();
    } finally {
      await cli.stop();
    }
  });

  test('with a token from the environment and a base path', async () => {
    const cli = await run(['--port', '0', '--base-path', '/_ah/stats'], {
      APPSTATS_MEMCACHE: memcached.address,
      APPSTATS_KEY_PREFIX: 'cliapp',
      APPSTATS_VIEWER_TOKEN: 'sekrit',
    });
    try {
      assert.match(cli.url, /\/_ah\/stats\/$/);
      assert.equal((await fetch(cli.url)).status, 401);
      const res = await fetch(`${cli.url}?type=json`, { headers: { Authorization: 'Bearer sekrit' } });
      assert.equal(res.status, 200);
      assert.equal(((await res.json()) as { records_read: number }).records_read, 2);
    } finally {
      await cli.stop();
    }
  });

  test('without memcache it exits 2 with the usage', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'viewer', 'cli.ts')], {
      cwd: ROOT,
      env: { ...process.env, APPSTATS_MEMCACHE: '', MEMCACHE_SERVERS: '' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    const [code] = await once(child, 'exit');
    assert.equal(code, 2);
    assert.match(stderr, /no memcache/);
    assert.match(stderr, /Usage: appstats-viewer/);
  });
});
