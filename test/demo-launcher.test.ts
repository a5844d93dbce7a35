import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

/** Runs `npm start`'s launcher with args until it exits; its exit code and what it printed. */
async function launch(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'demo/launcher.ts', '--no-memcache', '--no-datastore', '--no-traffic', ...args],
    { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => {
    stdout += chunk;
  });
  child.stderr.on('data', (chunk) => {
    stderr += chunk;
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  const [code] = await once(child, 'exit');
  clearTimeout(timer);
  return { code, stdout, stderr };
}

describe('npm start (demo/launcher.ts)', () => {
  it('on a taken port: one clear line on stderr, exit code 1, nothing started', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as { port: number }).port;
    try {
      const { code, stdout, stderr } = await launch(['--port', String(port)]);
      assert.equal(code, 1);
      assert.equal(
        stderr,
        `demo: port ${port} on 127.0.0.1 is already in use; stop what listens there or choose another with --port <n>\n`,
      );
      assert.equal(stdout, '', 'nothing was started');
    } finally {
      taken.close();
    }
  });

  it('a --port that is not a number: one line, exit code 1', async () => {
    const { code, stderr } = await launch(['--port', 'http']);
    assert.equal(code, 1);
    assert.equal(stderr, 'demo: --port http is not a port number (0-65535)\n');
  });
});
