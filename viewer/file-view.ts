import { constants, realpathSync } from 'node:fs';
import { open, realpath } from 'node:fs/promises';
import { isAbsolute, resolve, sep } from 'node:path';

/**
 * The file view reads only files under the configured source root, decided on real paths: `../`,
 * absolute paths elsewhere, and symlinks that lead out of the root all resolve outside and are
 * refused (the original let an admin read any file: a known hazard).
 */

/** Larger files are not shown: a source view, not a download service. */
export const MAX_SOURCE_BYTES = 2 * 1024 * 1024;

/** The root's real path, once at set-up; a root that does not exist is a set-up mistake. */
export function resolveSourceRoot(sourceRoot: string): string {
  try {
    return realpathSync(resolve(sourceRoot));
  } catch (error) {
    throw new TypeError(
      `appstats viewer: sourceRoot ${JSON.stringify(sourceRoot)} is not readable: ${(error as Error).message}`,
    );
  }
}

/** The real path of `requested` when it is a file under `realRoot`, else undefined. */
export async function confinedPath(realRoot: string, requested: string): Promise<string | undefined> {
  if (requested === '' || requested.length > 4096 || requested.includes('\0')) return undefined;
  const candidate = isAbsolute(requested) ? requested : resolve(realRoot, requested);
  let real: string;
  try {
    real = await realpath(candidate);
  } catch {
    return undefined;
  }
  const inside = realRoot.endsWith(sep) ? realRoot : realRoot + sep;
  return real.startsWith(inside) ? real : undefined;
}

/** A confined file's lines, or undefined when it is not a regular file of a sensible size. */
export async function readSourceLines(
  realRoot: string,
  requested: string,
): Promise<{ path: string; lines: string[] } | undefined> {
  const path = await confinedPath(realRoot, requested);
  if (!path) return undefined;
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  try {
    // O_NONBLOCK: opening a FIFO (or a device) under the root must not wait for a writer; the
    // type check just below then refuses it. For regular files the flag changes nothing.
    handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
    const stat = await handle.stat();
    if (!stat.isFile() || stat.size > MAX_SOURCE_BYTES) return undefined;
    const text = await handle.readFile('utf8');
    return { path, lines: text.split(/\r?\n/) };
  } catch {
    return undefined;
  } finally {
    await handle?.close();
  }
}
