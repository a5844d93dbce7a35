import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

describe('the published package', () => {
  it('builds to dist/ with types, and every export of package.json resolves to built files', async () => {
    execFileSync('npm', ['run', 'build'], { cwd: root, stdio: 'pipe' });
    const packed = JSON.parse(
      execFileSync('npm', ['pack', '--dry-run', '--json'], { cwd: root, stdio: 'pipe' }).toString(),
    );
    const files = new Set<string>(packed[0].files.map((f: { path: string }) => f.path));
    for (const file of [
      'dist/index.js',
      'dist/index.d.ts',
      'dist/viewer/index.js',
      'dist/viewer/index.d.ts',
      'dist/register.js',
      'dist/register.d.ts',
      'README.md',
    ]) {
      assert.ok(files.has(file), `the package holds ${file}`);
    }
    assert.ok(
      ![...files].some((f) => f.startsWith('test/') || f.endsWith('.test.js')),
      'no tests in the package',
    );
    // Self-reference through the package's own "exports" map: what an installed user imports.
    // Specifiers in variables: dist/ does not exist when the type check runs on a clean clone.
    const [mainSpecifier, viewerSpecifier] = ['otel-appstats', 'otel-appstats/viewer'];
    const main = (await import(mainSpecifier)) as Record<string, unknown> & {
      recordKey: (ms: number, kind: 'part' | 'full') => string;
    };
    for (const name of [
      'AppstatsSpanProcessor',
      'AppstatsExporter',
      'MemcacheStore',
      'MemoryStore',
      'recordKey',
      'allPartKeys',
      'encodeRecord',
      'decodeRecord',
    ]) {
      assert.equal(typeof main[name], 'function', `otel-appstats exports ${name}`);
    }
    assert.equal(main.recordKey(1700000012345, 'part'), '__appstats__:012300:part');
    const viewer = (await import(viewerSpecifier)) as Record<string, unknown>;
    assert.equal(typeof viewer.createViewer, 'function');
    assert.ok(existsSync(`${root}/dist/register.js`));
  });
});
