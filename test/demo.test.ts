import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { freePort } from './helpers/memcached.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const launcher = ['--import', 'tsx', 'demo/launcher.ts'];

/** Processes whose command line mentions `needle` (the demo's own ports), from ps. */
function processesMentioning(needle: string): string[] {
  return execFileSync('ps', ['-eo', 'pid,args'], { encoding: 'utf8' })
    .split('\n')
    .filter((line) => line.includes(needle) && !line.includes('ps -eo'));
}

describe('the demo (npm start)', () => {
  let demo: ChildProcess | undefined;
  after(() => {
    if (demo && demo.exitCode === null) demo.kill('SIGKILL');
  });

  it('lists its options with --help', () => {
    const help = execFileSync(process.execPath, [...launcher, '--help'], { cwd: root, encoding: 'utf8' });
    assert.match(help, /Usage: npm start/);
    for (const option of ['--port', '--memcache', '--no-memcache', '--no-datastore', '--no-traffic']) {
      assert.ok(help.includes(option), `--help lists ${option}`);
    }
  });

  it('runs on the embedded default with nothing else: records in the app, the Datastore pages say how to enable it', async () => {
    const port = await freePort();
    const child = spawn(
      process.execPath,
      [...launcher, '--port', String(port), '--no-memcache', '--no-datastore'],
      {
        cwd: root,
        stdio: ['ignore', 'pipe', 'inherit'],
        env: { ...process.env, APPSTATS_MEMCACHE: '', DATASTORE_EMULATOR_HOST: '' },
      },
    );
    try {
      await new Promise<void>((resolve, reject) => {
        createInterface({ input: child.stdout! }).on('line', (line) => {
          if (line.startsWith('demo: ready.')) resolve();
        });
        child.once('exit', (code) => reject(new Error(`the demo exited (${code})`)));
      });
      const home = await (await fetch(`http://127.0.0.1:${port}/`)).text();
      assert.match(home, /Datastore is off/);
      assert.match(home, /gcloud components install cloud-datastore-emulator/);
      const json = (await (await fetch(`http://127.0.0.1:${port}/_ah/stats/?type=json`)).json()) as {
        records_read: number;
        rpc_stats: { service_call_name: string }[];
      };
      assert.ok(json.records_read > 0, 'the embedded store holds the warm-up records');
      assert.ok(json.rpc_stats.some((s) => s.service_call_name === 'in-process-cache.get'));
    } finally {
      const exited = once(child, 'exit');
      child.kill('SIGINT');
      assert.equal((await exited)[0], 0);
    }
  });

  it('serves, records its own warm-up traffic, shows it on the dashboard, and leaves nothing behind on Ctrl-C', async () => {
    const port = await freePort();
    demo = spawn(process.execPath, [...launcher, '--port', String(port)], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, APPSTATS_MEMCACHE: '', DATASTORE_EMULATOR_HOST: '' },
    });
    let output = '';
    demo.stderr?.on('data', (chunk) => {
      output += chunk;
    });
    const ready = new Promise<void>((resolve, reject) => {
      createInterface({ input: demo!.stdout! }).on('line', (line) => {
        output += `${line}\n`;
        if (line.startsWith('demo: ready.')) resolve();
      });
      demo!.once('exit', (code) =>
        reject(new Error(`the demo exited (${code}) before it was ready:\n${output}`)),
      );
    });
    await ready;
    // It started its own memcached and Datastore emulator (both are on this machine: the tests need them).
    const memcachedAddress = /started memcached on (\S+)/.exec(output)?.[1];
    const emulatorAddress = /Datastore emulator on (\S+)/.exec(output)?.[1];
    assert.ok(memcachedAddress, `memcached started:\n${output}`);
    assert.ok(emulatorAddress, `Datastore emulator started:\n${output}`);

    const appPid = execFileSync('ps', ['-eo', 'pid,ppid,args'], { encoding: 'utf8' })
      .split('\n')
      .map((line) => line.trim().split(/\s+/))
      .find(([, ppid, ...args]) => Number(ppid) === demo!.pid && args.join(' ').includes('demo/app.ts'))?.[0];
    assert.ok(appPid, 'the app runs as a child of the launcher');
    const base = `http://127.0.0.1:${port}`;
    const home = await fetch(`${base}/`);
    assert.equal(home.status, 200);
    assert.match(await home.text(), /Hello from greeting/, 'greetings seeded in Datastore');
    assert.equal((await fetch(`${base}/fail`)).status, 500, 'the failing page fails');
    const api = (await (await fetch(`${base}/api/greetings`)).json()) as unknown[];
    assert.ok(api.length > 0);

    const dashboard = await fetch(`${base}/_ah/stats/`);
    assert.equal(dashboard.status, 200);
    const page = await dashboard.text();
    for (const path of ['/authors', '/slow', 'job: seed greetings'])
      assert.ok(page.includes(path), `dashboard lists ${path}`);
    for (const call of ['datastore.Lookup', 'datastore.RunQuery', 'memcache.Get'])
      assert.ok(page.includes(call), `dashboard shows ${call}`);
    assert.match(page, /N\+1/, 'the N+1 page is flagged');

    const exited = once(demo, 'exit');
    demo.kill('SIGINT');
    const [code] = await exited;
    assert.equal(code, 0);
    await assert.rejects(fetch(`${base}/`), 'the app no longer answers');
    assert.deepEqual(
      processesMentioning(`demo/app.ts`).filter((line) => line.includes(String(port))),
      [],
    );
    assert.deepEqual(processesMentioning(memcachedAddress.split(':')[1]), [], 'memcached stopped');
    assert.deepEqual(processesMentioning(`--port=${emulatorAddress.split(':')[1]}`), [], 'emulator stopped');
  });
});
