import { diag } from '@opentelemetry/api';
import { MemcacheStore } from './memcache-store.js';
import type { MemjsClient } from './memjs-client.js';
import { MemoryStore } from './memory-store.js';
import type { RecordStore } from './record-store.js';

let embeddedStore: MemoryStore | undefined;

/**
 * The embedded default: ONE MemoryStore per process, so an exporter and a viewer mounted in the same
 * app, both left unconfigured, meet in it. Nobody owns it; nothing closes it.
 */
export function embeddedMemoryStore(): MemoryStore {
  if (!embeddedStore) {
    diag.info(
      'appstats: no memcache configured (options.memcache, APPSTATS_MEMCACHE or MEMCACHE_SERVERS): ' +
        'records are kept in this process only (the embedded MemoryStore); a viewer in another process will not see them',
    );
    embeddedStore = new MemoryStore();
  }
  return embeddedStore;
}

/**
 * The store an exporter (or the viewer) uses: `store`, else memcache from the option or the
 * environment, else the embedded MemoryStore. `owned` says whether the caller made it (and closes it).
 */
export function resolveStore(options: { memcache?: string | MemjsClient; store?: RecordStore }): {
  store: RecordStore;
  owned: boolean;
} {
  if (options.store) return { store: options.store, owned: false };
  const servers =
    options.memcache ?? (process.env.APPSTATS_MEMCACHE || process.env.MEMCACHE_SERVERS || undefined);
  // A memjs client passed in stays its owner's: MemcacheStore does not close a client it was given.
  if (servers) {
    diag.info(`appstats: records in memcache ${typeof servers === 'string' ? servers : '(a memjs client)'}`);
    return { store: new MemcacheStore(servers), owned: true };
  }
  return { store: embeddedMemoryStore(), owned: false };
}

/** `resolveStore(options).store`, for callers that keep it for the life of the process. */
export function storeFromOptions(options: {
  memcache?: string | MemjsClient;
  store?: RecordStore;
}): RecordStore {
  return resolveStore(options).store;
}
