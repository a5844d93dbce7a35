import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

/** The project files (relative paths) a fresh process loads to import `entry`. */
function projectModulesLoadedBy(entry: string): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'appstats-loads-'));
  const file = join(dir, 'loads.txt');
  try {
    const hook = pathToFileURL(join(root, 'test/fixtures/record-loads.mjs')).href;
    const script = `import { register } from 'node:module'; register(${JSON.stringify(hook)}); await import(${JSON.stringify(pathToFileURL(join(root, entry)).href)});`;
    execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: root,
      env: { ...process.env, RECORD_LOADS_FILE: file },
      stdio: 'pipe',
    });
    const urls = readFileSync(file, 'utf8').split('\n').filter(Boolean);
    return [...new Set(urls.map((url) => relative(root, fileURLToPath(url))))].filter(
      (path) => !path.startsWith('node_modules') && !path.startsWith('..'),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('public API', () => {
  it('otel-appstats exports a short named list, no internals', async () => {
    const main = await import('../index.js');
    assert.deepEqual(Object.keys(main).sort(), [
      'ATTR_IGNORE',
      'AppstatsExporter',
      'AppstatsSpanProcessor',
      'CallerSitesInstrumentation',
      'DatastoreInstrumentation',
      'MemcacheStore',
      'MemjsInstrumentation',
      'MemoryStore',
      'RecordDecodeError',
      'allPartKeys',
      'decodeRecord',
      'encodeRecord',
      'isFullRecord',
      'recordKey',
    ]);
  });

  it('otel-appstats/viewer exports the app factory and little else', async () => {
    const viewer = await import('../viewer/index.js');
    assert.deepEqual(Object.keys(viewer).sort(), ['createViewer', 'socketRemoteAddress']);
  });

  it('the viewer entry loads the record core and the stores, never the processor or exporter', () => {
    const loaded = projectModulesLoadedBy('viewer/index.ts');
    assert.ok(
      loaded.includes('viewer/create-viewer.ts'),
      `the probe saw the viewer load: ${loaded.join(', ')}`,
    );
    assert.ok(loaded.includes('core/codec.ts'));
    assert.ok(loaded.includes('stores/memcache-store.ts'));
    const outside = loaded.filter((path) => !/^(core|stores|viewer)\//.test(path));
    assert.deepEqual(outside, [], 'the viewer loads only core/, stores/ and viewer/');
  });

  it('layers import one way: core imports no face, instrumentations only core', () => {
    const core = projectModulesLoadedBy('core/build-record.ts').concat(
      projectModulesLoadedBy('core/codec.ts'),
    );
    assert.deepEqual(
      core.filter((path) => !path.startsWith('core/')),
      [],
      'core/ loads nothing outside core/',
    );
    for (const entry of ['instrumentations/memjs/index.ts', 'instrumentations/datastore/index.ts']) {
      const loaded = projectModulesLoadedBy(entry);
      assert.deepEqual(
        loaded.filter((path) => !/^(core|instrumentations)\//.test(path)),
        [],
        `${entry} loads only core/ and instrumentations/`,
      );
    }
  });
});
