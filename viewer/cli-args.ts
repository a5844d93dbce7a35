import { parseArgs } from 'node:util';
import type { ViewerAuth } from './auth.js';

/** What `appstats-viewer` runs with, from flags first, then the environment. */
export interface CliSettings {
  memcache: string;
  port: number;
  host: string;
  keyPrefix?: string;
  keyDistance?: number;
  keyModulus?: number;
  sourceRoot?: string;
  title?: string;
  basePath: string;
  auth?: ViewerAuth;
  authLabel: string;
}

export const USAGE = `Usage: appstats-viewer --memcache host:port[,host:port] [options]

Serves the appstats viewer (dashboard, request details, source files) over HTTP.

  --memcache <servers>   memcached servers          env APPSTATS_MEMCACHE or MEMCACHE_SERVERS (required)
  --port <n>             port to listen on, 0 = any  env APPSTATS_VIEWER_PORT   default 8080
  --host <addr>          address to listen on        env APPSTATS_VIEWER_HOST   default 127.0.0.1
  --prefix <p>           key prefix of the records   env APPSTATS_KEY_PREFIX    default __appstats__
  --key-distance <ms>    milliseconds per key slot   env APPSTATS_KEY_DISTANCE  default 100
  --key-modulus <n>      number of key slots         env APPSTATS_KEY_MODULUS   default 1000
  --source-root <dir>    show source files under dir env APPSTATS_SOURCE_ROOT  default off
  --title <text>         app name in the header      env APPSTATS_VIEWER_TITLE
  --base-path <path>     serve under this path       env APPSTATS_VIEWER_BASE_PATH default /
  --token <t>            require Authorization: Bearer <t>        env APPSTATS_VIEWER_TOKEN
  --user <u> --password <p>  require HTTP basic auth  env APPSTATS_VIEWER_USER, APPSTATS_VIEWER_PASSWORD
  -h, --help             this text
  -v, --version          the otel-appstats version

With no --token or --user, only clients on this machine (loopback) are answered.
Prefer the environment for secrets: command lines are visible to other users.
`;

export type CliParse =
  | { kind: 'run'; settings: CliSettings }
  | { kind: 'help' }
  | { kind: 'error'; message: string };

/** argv (without node and script) and an environment -> settings, help, or what is wrong. Pure. */
export function parseCliArgs(argv: readonly string[], env: Record<string, string | undefined>): CliParse {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        memcache: { type: 'string' },
        port: { type: 'string' },
        host: { type: 'string' },
        prefix: { type: 'string' },
        'key-distance': { type: 'string' },
        'key-modulus': { type: 'string' },
        'source-root': { type: 'string' },
        title: { type: 'string' },
        'base-path': { type: 'string' },
        token: { type: 'string' },
        user: { type: 'string' },
        password: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    return { kind: 'error', message: (error as Error).message };
  }
  if (values.help) return { kind: 'help' };
  const pick = (flag: string, ...names: string[]): string | undefined => {
    const value = values[flag];
    if (typeof value === 'string' && value !== '') return value;
    for (const name of names) if (env[name]) return env[name];
    return undefined;
  };
  const memcache = pick('memcache', 'APPSTATS_MEMCACHE', 'MEMCACHE_SERVERS');
  if (!memcache)
    return { kind: 'error', message: 'no memcache: pass --memcache host:port or set APPSTATS_MEMCACHE' };
  const portText = pick('port', 'APPSTATS_VIEWER_PORT') ?? '8080';
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port > 65535) return { kind: 'error', message: `bad --port ${portText}` };
  // The recorder's key options, which the viewer must share to find its records.
  const keyNumbers: { keyDistance?: number; keyModulus?: number } = {};
  for (const [flag, variable, field] of [
    ['key-distance', 'APPSTATS_KEY_DISTANCE', 'keyDistance'],
    ['key-modulus', 'APPSTATS_KEY_MODULUS', 'keyModulus'],
  ] as const) {
    const text = pick(flag, variable);
    if (text === undefined) continue;
    if (!/^\d{1,15}$/.test(text) || Number(text) < 1)
      return { kind: 'error', message: `bad --${flag} ${text}: a positive whole number` };
    keyNumbers[field] = Number(text);
  }
  const token = pick('token', 'APPSTATS_VIEWER_TOKEN');
  const user = pick('user', 'APPSTATS_VIEWER_USER');
  const password = pick('password', 'APPSTATS_VIEWER_PASSWORD');
  if (token && user)
    return { kind: 'error', message: 'give either a token or a user and password, not both' };
  if ((user === undefined) !== (password === undefined))
    return { kind: 'error', message: '--user and --password go together' };
  let auth: ViewerAuth | undefined;
  let authLabel = 'none: loopback clients only';
  if (token) {
    auth = { token };
    authLabel = 'bearer token';
  } else if (user && password) {
    auth = { username: user, password };
    authLabel = `basic (user ${user})`;
  }
  return {
    kind: 'run',
    settings: {
      memcache,
      port,
      host: pick('host', 'APPSTATS_VIEWER_HOST') ?? '127.0.0.1',
      keyPrefix: pick('prefix', 'APPSTATS_KEY_PREFIX'),
      ...keyNumbers,
      sourceRoot: pick('source-root', 'APPSTATS_SOURCE_ROOT'),
      title: pick('title', 'APPSTATS_VIEWER_TITLE'),
      basePath: pick('base-path', 'APPSTATS_VIEWER_BASE_PATH') ?? '/',
      auth,
      authLabel,
    },
  };
}
