import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { StackFrame } from '../core/record.js';
import { escapeHtml, h, SafeHtml } from '../viewer/safe-html.js';
import { isLibraryFrame, locateFrameFile, sameStackIndexes, splitStack } from '../viewer/stack.js';

function frame(file: string, line: number, fn = 'f', column?: number): StackFrame {
  return {
    class_or_file_name: file,
    line_number: line,
    function_name: fn,
    ...(column ? { column_number: column } : {}),
  };
}

test('splitStack: app frames first, library frames (node_modules, node:) apart, order kept', () => {
  const frames = [
    frame('/app/node_modules/memjs/lib/memjs.js', 1),
    frame('/app/src/users.js', 2),
    frame('node:internal/timers', 3),
    frame('/app/src/server.js', 4),
  ];
  const split = splitStack(frames);
  assert.deepEqual(
    split.app.map((f) => f.index),
    [1, 3],
  );
  assert.deepEqual(
    split.library.map((f) => f.index),
    [0, 2],
  );
  assert.equal(isLibraryFrame('/x/node_modules/y.js'), true);
  assert.equal(isLibraryFrame('/x/src/node_modules_not.js'), false);
});

test('locateFrameFile: relative to the root when under it, never for ../ or outside', () => {
  assert.deepEqual(locateFrameFile('/srv/app/src/a.js', '/srv/app'), {
    display: 'src/a.js',
    underRoot: true,
  });
  assert.deepEqual(locateFrameFile('/srv/app2/a.js', '/srv/app'), {
    display: '/srv/app2/a.js',
    underRoot: false,
  });
  assert.deepEqual(locateFrameFile('/srv/app/../etc/passwd', '/srv/app'), {
    display: '/srv/app/../etc/passwd',
    underRoot: false,
  });
  assert.deepEqual(locateFrameFile('src/a.js', '/srv/app'), { display: 'src/a.js', underRoot: false });
  assert.deepEqual(locateFrameFile('/srv/app/a.js', undefined), {
    display: '/srv/app/a.js',
    underRoot: false,
  });
});

test('sameStackIndexes: each call points at the first call with the very same stack', () => {
  const a = [frame('/a.js', 1), frame('/b.js', 2)];
  const b = [frame('/a.js', 1), frame('/b.js', 3)];
  const c = [frame('/a.js', 1, 'f', 7), frame('/b.js', 2)];
  const stacks = [a, b, structuredClone(a), [], undefined, structuredClone(b), c, [frame('/a.js', 1)]];
  assert.deepEqual(sameStackIndexes(stacks), [
    undefined,
    undefined,
    0,
    undefined,
    undefined,
    1,
    undefined,
    undefined,
  ]);
});

test('h escapes every interpolation; only its own results pass as markup', () => {
  const evil = `"><script>alert('x')</script>&`;
  assert.equal(escapeHtml(evil), '&quot;&gt;&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;');
  assert.equal(
    String(h`<a title="${evil}">${evil}</a>`),
    `<a title="${escapeHtml(evil)}">${escapeHtml(evil)}</a>`,
  );
  assert.equal(
    String(h`<ul>${[evil, h`<li>${evil}</li>`, 3]}</ul>`),
    `<ul>${escapeHtml(evil)}<li>${escapeHtml(evil)}</li>3</ul>`,
  );
  assert.equal(String(h`${null}${undefined}${false}${true}${0}`), '0');
  // Objects that only look like markup are escaped: there is no way in but `h`.
  const impostor = { toString: () => '<b>x</b>', isEscaped: true };
  assert.equal(String(h`${impostor}`), '&lt;b&gt;x&lt;/b&gt;');
  assert.ok(h`x` instanceof SafeHtml);
});
