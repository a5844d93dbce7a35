import { constants, realpathSync } from 'node:fs';
import { open, realpath } from 'node:fs/promises';
import { extname, isAbsolute, relative, resolve, sep } from 'node:path';

/**
 * The file view shows the source of a call site, nothing else. Decided on real paths, so `../`,
 * absolute paths elsewhere and symlinks that lead out of the root are all refused (the original let
 * an admin read any file: a known hazard); and within the root:
 * - source files only, by extension: `.env`, `*.pem`, `config/secrets.json` are under many roots;
 * - nothing hidden: no dotfile, nothing under a dot-folder (`.git/config` holds remote URLs with
 *   tokens, `.env/` is a common folder too);
 * - no file with more than one hard link: a hard link has no "real path" elsewhere to check, so a
 *   link inside the root to a file outside it looks like any file (pnpm's store links node_modules
 *   files this way; the app's own sources are not).
 */

/** What a call site's file can be: JavaScript and TypeScript in all their module flavours. */
export const SOURCE_EXTENSIONS: ReadonlySet<string> = new Set([
  '.js',
  '.mjs',
  '.cjs',
  '.jsx',
  '.ts',
  '.mts',
  '.cts',
  '.tsx',
]);

/** Larger files are not shown: a source view, not a download service. */
export const MAX_SOURCE_BYTES = 2 * 1024 * 1024;
/** Lines shown at most: 2 MiB of empty lines would be 2 million table rows (24 s, 116 MiB). */
export const MAX_SOURCE_LINES = 20_000;

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

/** True when the path, relative to the root, is a source file and nothing on the way is hidden. */
export function isShowablePath(realRoot: string, real: string): boolean {
  const inside = realRoot.endsWith(sep) ? realRoot : realRoot + sep;
  if (!real.startsWith(inside)) return false;
  if (
    relative(realRoot, real)
      .split(sep)
      .some((segment) => segment.startsWith('.'))
  )
    return false;
  return SOURCE_EXTENSIONS.has(extname(real).toLowerCase());
}

/** The real path of `requested` when it is a showable file under `realRoot`, else undefined. */
export async function confinedPath(realRoot: string, requested: string): Promise<string | undefined> {
  if (requested === '' || requested.length > 4096 || requested.includes('\0')) return undefined;
  const candidate = isAbsolute(requested) ? requested : resolve(realRoot, requested);
  let real: string;
  try {
    real = await realpath(candidate);
  } catch {
    return undefined;
  }
  // Decided on the real path only: what is read is the file there, whatever name led to it.
  return isShowablePath(realRoot, real) ? real : undefined;
}

export interface SourceLines {
  path: string;
  lines: string[];
  /** Lines not shown past `MAX_SOURCE_LINES`; 0 when the whole file is shown. */
  linesCut: number;
}

/** A confined file's lines, or undefined when it is not a regular, singly linked file of a sensible size. */
export async function readSourceLines(realRoot: string, requested: string): Promise<SourceLines | undefined> {
  const path = await confinedPath(realRoot, requested);
  if (!path) return undefined;
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  try {
    // O_NONBLOCK: opening a FIFO (or a device) under the root must not wait for a writer; the
    // type check just below then refuses it. For regular files the flag changes nothing.
    handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
    // The opened file's own stat: what is read is what was checked, even if the path changes meanwhile.
    const stat = await handle.stat();
    if (!stat.isFile() || stat.nlink > 1 || stat.size > MAX_SOURCE_BYTES) return undefined;
    const text = await handle.readFile('utf8');
    // split's limit stops at the bound: the rest of the file is never cut into strings.
    const lines = text.split(/\r?\n/, MAX_SOURCE_LINES + 1);
    if (lines.length <= MAX_SOURCE_LINES) return { path, lines, linesCut: 0 };
    lines.length = MAX_SOURCE_LINES;
    return { path, lines, linesCut: countLines(text) - MAX_SOURCE_LINES };
  } catch {
    return undefined;
  } finally {
    await handle?.close();
  }
}

/** Lines in a text as `split(/\r?\n/)` would count them, without making the strings. */
function countLines(text: string): number {
  let count = 1;
  for (let at = text.indexOf('\n'); at !== -1; at = text.indexOf('\n', at + 1)) count++;
  return count;
}
