import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Starting a real server (memcached, the Datastore emulator) for a test or the demo: spawn it, wait
 * until it answers, fail loudly with the install hint when it cannot start, and make sure it never
 * outlives this process.
 */
export interface ServerProcess {
  child: ChildProcess;
  /** Stops it (`stopSignal`, then SIGKILL after 5 s) and waits until its whole process group is gone. */
  stop(): Promise<void>;
}

export interface ServerProcessOptions {
  bin: string;
  args: string[];
  /** How to install it: the first words of every failure. */
  installHint: string;
  /** True once the server answers. */
  ready: () => Promise<boolean>;
  timeoutMs: number;
  pollMs?: number;
  /** What the server is, for messages ("no answer on 127.0.0.1:1234"). */
  describe: string;
  /** Run as another user, or in another directory (PostgreSQL refuses to run as root). */
  spawnAs?: { uid?: number; gid?: number; cwd?: string };
  /** What stops it at once. Default SIGTERM; PostgreSQL's immediate shutdown is SIGQUIT. */
  stopSignal?: NodeJS.Signals;
}

const running = new Set<ChildProcess>();

/** Each server runs in its own process group: a wrapper script's children (a JVM) go with it. */
function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    if (child.pid) process.kill(-child.pid, signal);
  } catch {
    // Already gone.
  }
}

function groupAlive(child: ChildProcess): boolean {
  try {
    if (!child.pid) return false;
    process.kill(-child.pid, 0);
    return true;
  } catch {
    return false;
  }
}

process.on('exit', () => {
  for (const child of running) killGroup(child, 'SIGKILL');
});
// A test runner that stops a file with a signal skips 'exit' handlers. When nobody else handles
// the signal (a program like the demo launcher does, and stops its servers itself), kill the
// servers, then let the signal do what it would have done.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(signal, function killServersOnSignal() {
    if (process.listenerCount(signal) > 1) return;
    for (const child of running) killGroup(child, 'SIGKILL');
    process.removeListener(signal, killServersOnSignal);
    process.kill(process.pid, signal);
  });
}

export async function startServerProcess(options: ServerProcessOptions): Promise<ServerProcess> {
  const child = spawn(options.bin, options.args, {
    ...options.spawnAs,
    stdio: ['ignore', 'ignore', 'pipe'],
    detached: true,
  });
  let stderr = '';
  child.stderr?.on('data', (chunk) => {
    stderr = (stderr + chunk).slice(-4000);
  });
  const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));
  let exited = false;
  child.once('exit', () => {
    exited = true;
    running.delete(child);
  });
  running.add(child);
  const stop = async () => {
    if (!exited) {
      const done = once(child, 'exit');
      killGroup(child, options.stopSignal ?? 'SIGTERM');
      const timer = setTimeout(() => killGroup(child, 'SIGKILL'), 5000);
      await done;
      clearTimeout(timer);
    }
    // A wrapper script exits before its children: wait for the whole group to be gone.
    const deadline = Date.now() + 5000;
    while (groupAlive(child) && Date.now() < deadline) await sleep(50);
    if (groupAlive(child)) killGroup(child, 'SIGKILL');
  };
  const deadline = Date.now() + options.timeoutMs;
  while (Date.now() < deadline) {
    const failed = await Promise.race([spawnError, sleep(options.pollMs ?? 50).then(() => undefined)]);
    if (failed) throw new Error(`${options.installHint} (${failed.message})`);
    if (exited) throw new Error(`${options.installHint} It exited at once:\n${stderr.trim()}`);
    if (await options.ready()) return { child, stop };
  }
  await stop();
  throw new Error(
    `${options.installHint} (no answer from ${options.describe} within ${options.timeoutMs / 1000} s)\n${stderr.trim()}`,
  );
}
