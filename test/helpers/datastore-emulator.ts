import { existsSync } from 'node:fs';
import { freePort } from './memcached.js';
import { startServerProcess } from './server-process.js';

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
  const server = await startServerProcess({
    bin,
    args,
    installHint: INSTALL_HINTS[kind],
    ready: () => healthy(host),
    timeoutMs: 60_000,
    pollMs: 200,
    describe: host,
  });
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
    stop: server.stop,
  };
}
