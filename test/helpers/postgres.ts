import { type ChildProcess, execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort } from './memcached.js';
import { type ServerProcess, startServerProcess } from './server-process.js';

/** A real PostgreSQL started by a test: its own cluster in a temp dir, on a free loopback port. */
export interface PostgresServer {
  host: string;
  port: number;
  user: string;
  /** The database `startPostgres` created (empty). */
  database: string;
  /** `postgresql://user@host:port/database`, as `pg.Pool({ connectionString })` takes it. */
  connectionString: string;
  process: ChildProcess;
  /** Stops it at once (immediate shutdown: a throwaway cluster needs no checkpoint) and removes its files. */
  stop(): Promise<void>;
}

const INSTALL_HINT =
  'PostgreSQL is needed by this test and could not be started. Install it: `apt-get install -y postgresql` ' +
  '(Debian/Ubuntu; the server binaries land in /usr/lib/postgresql/<version>/bin) or `brew install postgresql` ' +
  '(macOS), or point PG_BIN at the directory holding initdb and postgres.';

/** Where initdb, postgres and pg_ctl are: PG_BIN, Debian's newest /usr/lib/postgresql/<v>/bin, else PATH. */
function binDir(): string | undefined {
  if (process.env.PG_BIN) return process.env.PG_BIN;
  const root = '/usr/lib/postgresql';
  if (existsSync(root)) {
    const versions = readdirSync(root)
      .filter((v) => existsSync(join(root, v, 'bin', 'initdb')))
      .sort((a, b) => Number(b) - Number(a));
    if (versions.length > 0) return join(root, versions[0], 'bin');
  }
  return undefined;
}

/**
 * initdb and postgres refuse to run as root. Run as root (CI), the cluster belongs to the `postgres`
 * system user the Debian package creates; run as anyone else, to that user.
 */
function serverUser(): { uid: number; gid: number; name: string } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  try {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    return { uid, gid, name: 'postgres' };
  } catch {
    throw new Error(`${INSTALL_HINT} (running as root, and there is no \`postgres\` user to run it as)`);
  }
}

async function answers(connection: pg.ClientConfig): Promise<boolean> {
  const client = new pg.Client(connection);
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    // Refused, or "the database system is starting up".
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

/**
 * Creates a cluster in a temp dir (initdb, trust auth, no fsync), starts `postgres` on a free
 * loopback port with its unix socket in that dir, waits (bounded) until it answers a query and
 * creates `database`. Fails loudly, with the install command, when it cannot.
 */
export async function startPostgres(
  options: { database?: string; timeoutMs?: number } = {},
): Promise<PostgresServer> {
  const bin = binDir();
  const initdb = bin ? join(bin, 'initdb') : 'initdb';
  if (bin && !existsSync(initdb)) throw new Error(`${INSTALL_HINT} (no initdb in ${bin})`);
  const owner = serverUser();
  const spawnAs = owner ? { uid: owner.uid, gid: owner.gid } : {};
  const dir = mkdtempSync(join(tmpdir(), 'appstats-pg-'));
  if (owner) chownSync(dir, owner.uid, owner.gid);
  const data = join(dir, 'data');
  const user = 'appstats';
  try {
    // --no-sync and --no-instructions: a throwaway cluster; trust: loopback and our own socket only.
    execFileSync(
      initdb,
      [
        '-D',
        data,
        '-U',
        user,
        '--auth=trust',
        '--encoding=UTF8',
        '--no-locale',
        '--no-sync',
        '--no-instructions',
      ],
      { ...spawnAs, stdio: ['ignore', 'ignore', 'pipe'], cwd: dir },
    );
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    const stderr = (error as { stderr?: Buffer }).stderr?.toString().trim() ?? '';
    throw new Error(`${INSTALL_HINT} (initdb failed: ${(error as Error).message})\n${stderr}`);
  }
  const host = '127.0.0.1';
  const port = await freePort();
  const connection = { host, port, user, database: 'postgres' };
  let server: ServerProcess;
  try {
    server = await startServerProcess({
      bin: bin ? join(bin, 'postgres') : 'postgres',
      args: [
        '-D',
        data,
        '-p',
        String(port),
        '-k',
        dir,
        '-c',
        `listen_addresses=${host}`,
        '-c',
        'fsync=off',
        '-c',
        'synchronous_commit=off',
        '-c',
        'full_page_writes=off',
        '-c',
        'max_connections=30',
        '-c',
        'shared_buffers=16MB',
      ],
      spawnAs: { ...spawnAs, cwd: dir },
      // SIGQUIT is the postmaster's immediate shutdown: a throwaway cluster needs no checkpoint.
      stopSignal: 'SIGQUIT',
      installHint: INSTALL_HINT,
      ready: () => answers(connection),
      timeoutMs: options.timeoutMs ?? 20_000,
      describe: `${host}:${port}`,
    });
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  const stop = async () => {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  const database = options.database ?? 'appstats_test';
  const admin = new pg.Client(connection);
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${pg.escapeIdentifier(database)}`);
  } finally {
    await admin.end();
  }
  return {
    host,
    port,
    user,
    database,
    connectionString: `postgresql://${user}@${host}:${port}/${database}`,
    process: server.child,
    stop,
  };
}
