import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from './memcached.js';

/** A Datastore emulator started by a test, on a free loopback port. */
export interface DatastoreEmulator {
  /** `127.0.0.1:port`: the value of DATASTORE_EMULATOR_HOST. */
  host: string;
  port: number;
  kind: EmulatorKind;
  /** Environment for a child process (the fixtures) to reach this emulator offline. */
  env: Record<string, string>;
  stop(): Promise<void>;
}

/**
 * `datastore`: Google's Cloud Datastore emulator (`--testing`: in memory, strongly consistent).
 * `firestore`: the Firestore emulator in Datastore mode, which also answers aggregation queries
 * (the Datastore emulator says UNIMPLEMENTED).
 */
export type EmulatorKind = 'datastore' | 'firestore';

const SDK = process.env.CLOUD_SDK_ROOT || '/usr/lib/google-cloud-sdk';
const BINARIES: Record<EmulatorKind, string> = {
  datastore: `${SDK}/platform/cloud-datastore-emulator/cloud_datastore_emulator`,
  firestore: `${SDK}/platform/cloud-firestore-emulator/cloud_firestore_emulator`,
};
const INSTALL_HINTS: Record<EmulatorKind, string> = {
  datastore:
    'The Cloud Datastore emulator is needed by this test and could not be started. Install it with ' +
    '`gcloud components install cloud-datastore-emulator` (or apt-get install google-cloud-cli-datastore-emulator); ' +
    'it needs Java 11+ on PATH. Set CLOUD_SDK_ROOT if the SDK is not in /usr/lib/google-cloud-sdk.',
  firestore:
    'The Firestore emulator is needed by this test (aggregation queries) and could not be started. Install it with ' +
    '`gcloud components install cloud-firestore-emulator` (or apt-get install google-cloud-cli-firestore-emulator); ' +
    'it needs Java 11+ on PATH. Set CLOUD_SDK_ROOT if the SDK is not in /usr/lib/google-cloud-sdk.',
};

const running = new Set<ChildProcess>();
/** The emulators are Java processes behind a shell script: kill the whole process group. */
function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    if (child.pid) process.kill(-child.pid, signal);
  } catch {
    // Already gone.
  }
}
function groupAlive(child: ChildProcess): boolean {
  try {
    if (child.pid) process.kill(-child.pid, 0);
    return child.pid !== undefined;
  } catch {
    return false;
  }
}
process.on('exit', () => {
  for (const child of running) killGroup(child, 'SIGKILL');
});
// A test runner that stops a file with a signal skips 'exit' handlers: the emulators (a JVM each,
// in their own process group) would outlive it. Kill them, then let the signal do what it does.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.once(signal, () => {
    for (const child of running) killGroup(child, 'SIGKILL');
    process.kill(process.pid, signal);
  });
}

async function healthy(host: string): Promise<boolean> {
  try {
    const response = await fetch(`http://${host}/`, { signal: AbortSignal.timeout(1000) });
    await response.text();
    return response.ok;
  } catch {
    return false;
  }
}

/**
 * Starts an emulator on a free loopback port and waits for its health check; fails loudly, with the
 * install command, when it cannot. Start one per test file and reuse it: Java takes a few seconds.
 * Sets nothing in this process's environment; pass `env` to clients and children.
 */
export async function startDatastoreEmulator(kind: EmulatorKind = 'datastore'): Promise<DatastoreEmulator> {
  const bin = BINARIES[kind];
  if (!existsSync(bin)) throw new Error(`${INSTALL_HINTS[kind]} (missing ${bin})`);
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  const args =
    kind === 'datastore'
      ? ['start', '--testing', '--host=127.0.0.1', `--port=${port}`]
      : ['--host=127.0.0.1', `--port=${port}`, '--database-mode=datastore-mode'];
  const child = spawn(bin, args, { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
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
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const failed = await Promise.race([spawnError, sleep(200).then(() => undefined)]);
    if (failed) throw new Error(`${INSTALL_HINTS[kind]} (${failed.message})`);
    if (exited) throw new Error(`${INSTALL_HINTS[kind]} It exited at once:\n${stderr.trim()}`);
    if (await healthy(host)) {
      return {
        host,
        port,
        kind,
        env: {
          DATASTORE_EMULATOR_HOST: host,
          DATASTORE_PROJECT_ID: 'appstats-test',
          GOOGLE_CLOUD_PROJECT: 'appstats-test',
          METADATA_SERVER_DETECTION: 'none',
        },
        async stop() {
          if (!exited) {
            const done = once(child, 'exit');
            killGroup(child, 'SIGTERM');
            const timer = setTimeout(() => killGroup(child, 'SIGKILL'), 5000);
            await done;
            clearTimeout(timer);
          }
          // The shell script exits before its Java child: wait for the whole group to be gone.
          const deadline = Date.now() + 5000;
          while (groupAlive(child) && Date.now() < deadline) await sleep(50);
          if (groupAlive(child)) killGroup(child, 'SIGKILL');
        },
      };
    }
  }
  killGroup(child, 'SIGKILL');
  throw new Error(`${INSTALL_HINTS[kind]} (no answer on ${host} within 60 s)\n${stderr.trim()}`);
}
