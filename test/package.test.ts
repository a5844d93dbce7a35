import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type ChildApp, startChildApp, stopChildApp } from './helpers/child-app.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
const packageJson = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

let work: string;
let tarball: string;
let files: Set<string>;

// One build for every test here: `npm pack --ignore-scripts` packs it without prepack building again.
before(() => {
  work = mkdtempSync(join(tmpdir(), 'appstats-package-'));
  execFileSync('npm', ['run', 'build'], { cwd: root, stdio: 'pipe' });
  const packed = JSON.parse(
    execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], {
      cwd: root,
      stdio: 'pipe',
    }).toString(),
  );
  tarball = join(work, packed[0].filename);
  files = new Set<string>(packed[0].files.map((f: { path: string }) => f.path));
});

after(() => rmSync(work, { recursive: true, force: true }));

/** Environment of a child that must see no memcache of ours: the viewer then reads process memory. */
function cleanEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const name of Object.keys(env)) if (/^(APPSTATS_|MEMCACHE_SERVERS|OTEL_)/.test(name)) delete env[name];
  return env;
}

describe('the published package', () => {
  it('holds the built entries and a LICENSE; no tests, source maps or screenshots', () => {
    for (const file of [
      'dist/index.js',
      'dist/index.d.ts',
      'dist/viewer/index.js',
      'dist/viewer/index.d.ts',
      'dist/viewer/cli.js',
      'dist/register.js',
      'dist/register.d.ts',
      'README.md',
      'LICENSE',
      'docs/getting-started.md',
    ]) {
      assert.ok(files.has(file), `the package holds ${file}`);
    }
    const unwanted = [...files].filter(
      (f) => f.startsWith('test/') || f.endsWith('.test.js') || f.endsWith('.map') || f.endsWith('.png'),
    );
    assert.deepEqual(unwanted, [], 'no tests, source maps or screenshots');
    assert.match(readFileSync(join(root, 'LICENSE'), 'utf8'), /Apache License\s+Version 2\.0, January 2004/);
  });

  it('docs link nothing the package leaves out (examples/, bench/, the sources)', () => {
    for (const doc of [...files].filter((f) => f.endsWith('.md'))) {
      const text = readFileSync(join(root, doc), 'utf8');
      // Images (the screenshots) are left out on purpose: 1.1 MB of the tarball.
      for (const [, image, target] of text.matchAll(/(!?)\[[^\]]*\]\(([^)#\s]+)[^)]*\)/g)) {
        if (image || /^[a-z]+:/.test(target)) continue;
        const resolved = join(doc, '..', target).replaceAll('\\', '/');
        assert.ok(
          files.has(resolved) || [...files].some((f) => f.startsWith(`${resolved}/`)),
          `${doc} links ${target}, which is not in the package`,
        );
      }
    }
  });

  it('every export of package.json resolves to built files (the self-reference an installed user imports)', async () => {
    // Specifiers in variables: dist/ does not exist when the type check runs on a clean clone.
    const [mainSpecifier, viewerSpecifier] = ['otel-appstats', 'otel-appstats/viewer'];
    const main = (await import(mainSpecifier)) as Record<string, unknown> & {
      recordKey: (ms: number, kind: 'part' | 'full') => string;
    };
    for (const name of ['AppstatsSpanProcessor', 'AppstatsExporter', 'MemcacheStore', 'MemoryStore']) {
      assert.equal(typeof main[name], 'function', `otel-appstats exports ${name}`);
    }
    assert.equal(main.recordKey(1700000012345, 'part'), '__appstats__:012300:part');
    const viewer = (await import(viewerSpecifier)) as Record<string, unknown>;
    assert.equal(typeof viewer.createViewer, 'function');
  });

  it('appstats-viewer --version prints the package version', () => {
    const out = execFileSync(process.execPath, [join(root, 'dist/viewer/cli.js'), '--version'], {
      env: cleanEnv(),
    });
    assert.equal(out.toString(), `${packageJson.version}\n`);
  });

  it("require('otel-appstats/register') loads in a CommonJS process and sets up appstats", () => {
    // Node 20.19+ requires an ES module that has no top-level await; the register entry has none.
    const script =
      "const { appstats } = require('otel-appstats/register');" +
      'process.stdout.write(JSON.stringify({ stats: appstats.stats(), instrumentations: appstats.instrumentations.map((i) => i.instrumentationName) }));' +
      'appstats.shutdown();';
    const out = execFileSync(process.execPath, ['-e', script], { cwd: root, env: cleanEnv(), stdio: 'pipe' });
    const { stats, instrumentations } = JSON.parse(out.toString());
    for (const name of ['instrumentation-http', 'instrumentation-undici', 'memjs', 'datastore'])
      assert.ok(
        instrumentations.some((registered: string) => registered.endsWith(name)),
        `${name} in ${instrumentations}`,
      );
    assert.equal(stats.failed, 0);
    assert.equal(typeof stats.exported, 'number');
  });

  it('node --require otel-appstats/register: set up once, no warning (Node runs --require in its hooks thread too)', () => {
    const script =
      "setTimeout(() => process.stdout.write(String(require('otel-appstats/register').appstats !== undefined)), 50);";
    const result = spawnSync(process.execPath, ['--require', 'otel-appstats/register', '-e', script], {
      cwd: root,
      env: cleanEnv(),
      encoding: 'utf8',
    });
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout, 'true', 'the register entry set appstats up');
    assert.equal(result.stderr, '', 'nothing on stderr (was: import-in-the-middle hook already initialized)');
  });

  for (const [kind, file] of [
    ['CommonJS', 'viewer-mount.cjs'],
    ['ESM', 'viewer-mount.mjs'],
  ] as const) {
    it(`a ${kind} app mounting the viewer with app.route() serves its pages (its own Hono build)`, async () => {
      let app: ChildApp | undefined;
      try {
        app = await startChildApp([fixture(file)], cleanEnv(), /listening (\d+)/);
        const base = `http://127.0.0.1:${app.ready[1]}`;
        for (const path of ['/_ah/stats', '/_ah/stats/']) {
          const response = await fetch(base + path);
          const html = await response.text();
          assert.equal(response.status, 200, `${path}: ${html.slice(0, 200)}\n${app.output()}`);
          assert.match(html, /action="\/_ah\/stats\/"/, `${path}: links under the mount`);
        }
        const details = await fetch(`${base}/_ah/stats/details?time=1700000000000`);
        assert.equal(details.status, 404, 'no record at that time: a page saying so');
        assert.match(await details.text(), /href="\/_ah\/stats\/"/);
        assert.equal((await fetch(`${base}/_ah/stats/nope/`)).status, 404);
        assert.equal(await (await fetch(`${base}/`)).text(), 'the app');
      } finally {
        if (app) await stopChildApp(app.child);
      }
    });
  }

  it('installed beside only typescript and @types/node, a strict tsc (no skipLibCheck) accepts all three entries', () => {
    const app = join(work, 'app');
    mkdirSync(app);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
    const devVersion = (name: string) => packageJson.devDependencies[name].replace(/^[~^]/, '');
    execFileSync(
      'npm',
      [
        'install',
        '--no-audit',
        '--no-fund',
        '--prefer-offline',
        tarball,
        `typescript@${devVersion('typescript')}`,
        `@types/node@${devVersion('@types/node')}`,
      ],
      { cwd: app, stdio: 'pipe' },
    );
    writeFileSync(
      join(app, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          strict: true,
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          noEmit: true,
          types: ['node'],
        },
        files: ['app.ts'],
      }),
    );
    writeFileSync(
      join(app, 'app.ts'),
      [
        "import { AppstatsExporter, AppstatsSpanProcessor, type MemjsInstrumentationConfig } from 'otel-appstats';",
        "import { appstats } from 'otel-appstats/register';",
        "import { createViewer, type ViewerOptions } from 'otel-appstats/viewer';",
        "const options: ViewerOptions = { memcache: 'localhost:11211' };",
        'const config: MemjsInstrumentationConfig = {};',
        'new AppstatsSpanProcessor({ exporter: new AppstatsExporter({ memcache: options.memcache }) });',
        'export const viewer = createViewer(options);',
        'export const stats = appstats?.stats();',
        'export { config };',
        '',
      ].join('\n'),
    );
    try {
      execFileSync(join(app, 'node_modules/.bin/tsc'), ['-p', '.'], { cwd: app, stdio: 'pipe' });
    } catch (error) {
      const { stdout, stderr } = error as { stdout: Buffer; stderr: Buffer };
      assert.fail(`tsc --strict on an app importing the package failed:\n${stdout}${stderr}`);
    }
  });
});
