/**
 * `npm test` in two halves, each named as it starts: `fast` (unit tests, in memory) and
 * `components` (real memcached, Datastore emulator, postgres, redis, browsers, child processes).
 * A test file belongs to the components half when it imports what starts one of those, so a new
 * test lands in the right half without a list to keep: `node --import tsx test/run-tests.ts fast`.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const TEST_DIR = fileURLToPath(new URL('.', import.meta.url));

/** Imports that start a real server, a browser or another process. */
const COMPONENT_IMPORT =
  /from '(node:child_process|playwright-core|\.\/helpers\/(memcached|datastore-emulator|postgres|redis|child-app|server-process|hostile-endpoint|otel-app-records|chromium)\.js)'/;

export function isComponentTest(source: string): boolean {
  return COMPONENT_IMPORT.test(source);
}

function testFiles(half: 'fast' | 'components'): string[] {
  return readdirSync(TEST_DIR)
    .filter((name) => name.endsWith('.test.ts'))
    .sort()
    .filter((name) => isComponentTest(readFileSync(`${TEST_DIR}${name}`, 'utf8')) === (half === 'components'))
    .map((name) => `test/${name}`);
}

const half = process.argv[2];
if (half !== 'fast' && half !== 'components') {
  process.stderr.write('usage: node --import tsx test/run-tests.ts fast|components\n');
  process.exit(2);
}
const files = testFiles(half);
process.stdout.write(
  half === 'fast'
    ? `\n== npm test, fast half: ${files.length} unit test files, in memory ==\n`
    : `\n== npm test, components half: ${files.length} test files with real memcached, Datastore emulator, postgres, redis, browsers, child processes ==\n`,
);
process.stdout.write(`${files.join(' ')}\n\n`);
const run = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=1', ...files], {
  stdio: 'inherit',
  cwd: fileURLToPath(new URL('..', import.meta.url)),
});
process.exit(run.status ?? 1);
