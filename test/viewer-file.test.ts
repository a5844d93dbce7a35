import assert from 'node:assert/strict';
import { link, mkdir, mkdtemp, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Hono } from 'hono';
import { MemoryStore } from '../stores/memory-store.js';
import { confinedPath, MAX_SOURCE_LINES } from '../viewer/file-view.js';
import { createViewer } from '../viewer/index.js';
import { textOf } from './helpers/html-text.js';

/**
 * The file view shows files under the source root only, decided on real paths: `../`, absolute
 * paths elsewhere, symlinks that lead out, and a sibling directory sharing the root's name prefix
 * are all 404. Without a source root it is off.
 */
let dir: string;
let root: string;
let viewer: Hono;
const SECRET = 'TOP-SECRET-CONTENT';
const loopback = () => '127.0.0.1';

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'appstats-file-view-'));
  root = join(dir, 'root');
  await mkdir(join(root, 'src'), { recursive: true });
  await mkdir(join(dir, 'outside'));
  await mkdir(join(dir, 'root-evil'));
  await writeFile(
    join(root, 'src', 'app.js'),
    [
      '// app',
      'const a = 1;',
      'await memcache.get("user:1"); // the call',
      'const b = "</script><script>alert(1)</script>";',
      '',
    ].join('\n'),
  );
  await writeFile(join(dir, 'outside', 'secret.txt'), SECRET);
  await writeFile(join(dir, 'root-evil', 'secret.txt'), SECRET);
  await symlink(join(dir, 'outside', 'secret.txt'), join(root, 'link-out'));
  await symlink(join(dir, 'outside'), join(root, 'dir-out'));
  await symlink(join(root, 'src', 'app.js'), join(root, 'alias.js'));
  await symlink(root, join(dir, 'root-link'));
  viewer = createViewer({
    store: new MemoryStore(),
    remoteAddress: loopback,
    sourceRoot: join(dir, 'root-link'),
  });
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function file(f: string, n = 3) {
  const res = await viewer.request(`/file?f=${encodeURIComponent(f)}&n=${n}`);
  return { status: res.status, html: await res.text() };
}

test('a file under the root: numbered lines, the line highlighted, content escaped', async () => {
  for (const f of [
    join(root, 'src', 'app.js'),
    'src/app.js',
    'src/../src/app.js',
    join(dir, 'root-link', 'src', 'app.js'),
    'alias.js',
  ]) {
    const { status, html } = await file(f);
    assert.equal(status, 200, f);
    assert.match(
      html,
      /<tr id="L3" class="hl"><td class="ln">3<\/td><td>await memcache\.get\(&quot;user:1&quot;\); \/\/ the call<\/td><\/tr>/,
    );
    assert.equal((html.match(/class="hl"/g) ?? []).length, 1);
    assert.ok(!html.includes('<script>alert(1)'));
    assert.match(textOf(html), /src\/app\.js:3/, 'named relative to the root');
  }
});

test('outside the root: ../, absolute, symlinks out, a sibling with the same prefix, directories, junk', async () => {
  for (const f of [
    '../outside/secret.txt',
    'src/../../outside/secret.txt',
    join(dir, 'outside', 'secret.txt'),
    join(dir, 'root-evil', 'secret.txt'),
    '/etc/passwd',
    'link-out',
    'dir-out/secret.txt',
    'src',
    '.',
    '',
    'nope.js',
    'src/app.js\0.txt',
    `${'a/'.repeat(3000)}x`,
  ]) {
    const { status, html } = await file(f);
    assert.equal(status, 404, JSON.stringify(f));
    assert.ok(!html.includes(SECRET));
    assert.match(textOf(html), /Only files under the configured source root/);
  }
});

test('confinedPath itself resolves real paths', async () => {
  const realRoot = join(dir, 'root');
  assert.equal(await confinedPath(realRoot, 'src/app.js'), join(realRoot, 'src', 'app.js'));
  assert.equal(await confinedPath(realRoot, 'link-out'), undefined);
  assert.equal(await confinedPath(realRoot, realRoot), undefined, 'the root itself is not a file to show');
});

test('off without a source root', async () => {
  const off = createViewer({ store: new MemoryStore(), remoteAddress: loopback });
  const res = await off.request(`/file?f=${encodeURIComponent(join(root, 'src', 'app.js'))}&n=1`);
  assert.equal(res.status, 404);
  assert.match(textOf(await res.text()), /The file view is off/);
});

describe('only source files, nothing hidden, no hard links, bounded lines', () => {
  let hidden: string;
  before(async () => {
    hidden = join(dir, 'hidden-root');
    for (const folder of ['.git', '.config', 'config', 'src', '.hidden', 'certs'])
      await mkdir(join(hidden, folder), { recursive: true });
    const files: Record<string, string> = {
      '.env': `TOKEN=${SECRET}`,
      '.git/config': `url = https://x:${SECRET}@github.com/a/b`,
      '.config/production.js': SECRET,
      '.hidden/app.js': SECRET,
      'src/.secret.js': SECRET,
      'config/secrets.json': SECRET,
      'certs/server.pem': SECRET,
      'certs/server.key': SECRET,
      'src/notes.txt': SECRET,
      'src/app.ts': 'export const ok = 1;\n',
      'src/App.TSX': 'export const ok = 2;\n',
      'src/long.js': Array.from({ length: MAX_SOURCE_LINES + 500 }, (_, i) => `// line ${i + 1}`).join('\n'),
    };
    for (const [name, text] of Object.entries(files)) await writeFile(join(hidden, name), text);
    // A name that looks like source, leading to a hidden file: decided on the real path.
    await symlink(join(hidden, '.env'), join(hidden, 'src', 'env.js'));
    // A hard link inside the root to a file outside it: same inode, no path to tell.
    await writeFile(join(dir, 'outside', 'secret.js'), SECRET);
    await link(join(dir, 'outside', 'secret.js'), join(hidden, 'src', 'hard.js'));
    assert.equal((await stat(join(hidden, 'src', 'hard.js'))).nlink, 2);
  });

  function viewerOf(sourceRoot: string) {
    return createViewer({ store: new MemoryStore(), remoteAddress: loopback, sourceRoot });
  }

  test('dotfiles, dot-folders, non-source extensions and hard links are 404, saying what is shown', async () => {
    const v = viewerOf(hidden);
    for (const f of [
      '.env',
      '.git/config',
      '.config/production.js',
      '.hidden/app.js',
      'src/.secret.js',
      'config/secrets.json',
      'certs/server.pem',
      'certs/server.key',
      'src/notes.txt',
      'src/env.js',
      'src/hard.js',
      join(hidden, '.git', 'config'),
    ]) {
      const res = await v.request(`/file?f=${encodeURIComponent(f)}&n=1`);
      const html = await res.text();
      assert.equal(res.status, 404, f);
      assert.ok(!html.includes(SECRET), f);
      assert.match(textOf(html), /only source files \(\.js.*\.tsx\), none hidden/, f);
    }
    for (const f of ['src/app.ts', 'src/App.TSX']) {
      const res = await v.request(`/file?f=${encodeURIComponent(f)}&n=1`);
      assert.equal(res.status, 200, f);
      assert.match(await res.text(), /export const ok/);
    }
  });

  test('a source root under a dot-folder of its own still works: only the path inside the root counts', async () => {
    const nested = join(dir, '.cache', 'app');
    await mkdir(join(nested, 'src'), { recursive: true });
    await writeFile(join(nested, 'src', 'main.js'), 'ok\n');
    const res = await viewerOf(nested).request('/file?f=src/main.js&n=1');
    assert.equal(res.status, 200);
    await res.text();
  });

  test('lines are bounded as well as bytes, and the page says the file was cut', async () => {
    const res = await viewerOf(hidden).request('/file?f=src/long.js&n=1');
    assert.equal(res.status, 200);
    const html = await res.text();
    assert.ok(html.includes(`id="L${MAX_SOURCE_LINES}"`));
    assert.ok(!html.includes(`id="L${MAX_SOURCE_LINES + 1}"`));
    assert.match(textOf(html), /goes on for 500 more lines, not shown/);
    const short = await viewerOf(hidden).request('/file?f=src/app.ts&n=1');
    assert.doesNotMatch(await short.text(), /more lines, not shown/);
  });
});
