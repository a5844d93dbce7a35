/**
 * Which memcached server holds a value. memjs hashes the whole key, so with several servers the
 * `:part` and `:full` values of one request would land on different servers and a dead server
 * would leave parts without their full record. We hash the slot instead (the key without its
 * `:part`/`:full` suffix): both values of a request live on one server, a dead server loses whole
 * records. Writer and viewer both route through `serverKeyOf` (stores/memcache-pipeline.ts), so
 * they agree; a user's `client.getServer` override is still honoured (it is given the slot key).
 */
const KIND_SUFFIX = /:(?:part|full)$/;

/** The key a server is chosen by: the slot (`<prefix>:<index>`) for record keys, else the key. */
export function serverKeyOf(key: string): string {
  return key.replace(KIND_SUFFIX, '');
}

/** memjs internals used for routing and failover (memjs 1.x, lib/memjs/memjs.js). */
export interface RoutableServer {
  host: string;
  port: number;
  /** memjs's failover: a server is skipped until this time (ms) once marked down. */
  wakeupAt?: number;
}
export interface RoutableClient<S extends RoutableServer> {
  servers: S[];
  options?: { failover?: boolean; failoverTime?: number };
  server(key: string): S | null;
}

/** Items grouped by the server memjs picks for their slot; items no server takes are returned apart. */
export function groupByServer<S extends RoutableServer, T>(
  client: RoutableClient<S>,
  items: readonly T[],
  keyOf: (item: T) => string,
): { byServer: Map<S, T[]>; unroutable: T[] } {
  const byServer = new Map<S, T[]>();
  const unroutable: T[] = [];
  for (const item of items) {
    const server = client.server(serverKeyOf(keyOf(item)));
    if (!server) {
      unroutable.push(item);
      continue;
    }
    const batch = byServer.get(server);
    if (batch) batch.push(item);
    else byServer.set(server, [item]);
  }
  return { byServer, unroutable };
}

/**
 * With memjs's `failover: true`, a server whose batch failed is marked down for `failoverTime`
 * seconds (60 by default), as memjs's own commands do: until then memjs's `server()` routes its
 * slots to the next live server. Returns whether it was marked.
 */
export function markDown<S extends RoutableServer>(client: RoutableClient<S>, server: S): boolean {
  if (!client.options?.failover) return false;
  server.wakeupAt = Date.now() + (client.options.failoverTime ?? 60) * 1000;
  return true;
}

/** Servers currently marked down by failover, for the viewer to name. */
export function serversDown<S extends RoutableServer>(client: RoutableClient<S>): S[] {
  const now = Date.now();
  return client.servers.filter((server) => server.wakeupAt !== undefined && server.wakeupAt > now);
}
