/**
 * Runs every benchmark in turn (each in its own process, so patched modules and heaps don't mix)
 * and prints their reports. `npm run bench`; takes several minutes. Run on a quiet machine: the
 * figures are ratios measured side by side, but a busy second core still adds noise.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const benches = [
  'processor-overhead.ts',
  'http-throughput.ts',
  'peer.ts',
  'multiget.ts',
  'instrumentation-overhead.ts',
  'viewer-dashboard.ts',
];
let failed = 0;
for (const bench of benches) {
  const file = fileURLToPath(new URL(`./${bench}`, import.meta.url));
  if (!existsSync(file)) continue;
  console.log(`\n== ${bench}`);
  const run = spawnSync(process.execPath, ['--import', 'tsx', file], { stdio: 'inherit' });
  if (run.status !== 0) failed++;
}
process.exitCode = failed > 0 ? 1 : 0;
