import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

/** An app run as a child node process (the fixtures, the examples), as a user would run it. */
export interface ChildApp {
  child: ChildProcess;
  /** The first match of `ready` in its standard output. */
  ready: RegExpMatchArray;
  /** Everything it printed so far (stdout and stderr), for failure messages. */
  output(): string;
}

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/**
 * Starts `node <args>` in the repository root and resolves once its output matches `ready` (its
 * "listening" line); rejects, with what it printed, if it exits first.
 */
export async function startChildApp(
  args: string[],
  env: NodeJS.ProcessEnv,
  ready: RegExp,
): Promise<ChildApp> {
  const child = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  child.once('exit', () => running.delete(child));
  let output = '';
  child.stderr?.on('data', (chunk) => {
    output += chunk;
  });
  const match = await new Promise<RegExpMatchArray>((resolve, reject) => {
    let stdout = '';
    child.stdout?.on('data', (chunk) => {
      stdout += chunk;
      output += chunk;
      const found = stdout.match(ready);
      if (found) resolve(found);
    });
    child.once('exit', (code, signal) =>
      reject(new Error(`${args.join(' ')} exited (${code ?? signal}) before it was ready:\n${output}`)),
    );
  });
  return { child, ready: match, output: () => output };
}

/** SIGTERM (the apps write their last records and exit), SIGKILL if that takes over 5 s. */
export async function stopChildApp(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}
