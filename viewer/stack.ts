import { isAbsolute, relative, resolve, sep } from 'node:path';
import type { StackFrame } from '../core/record.js';

/**
 * The originals' stacks were mostly SDK frames with the app's own line buried among them; the
 * details page shows the app's frames first and folds the library ones.
 */
export interface SplitStack {
  app: { frame: StackFrame; index: number }[];
  library: { frame: StackFrame; index: number }[];
}

const NODE_MODULES = `${sep}node_modules${sep}`;

/** A library frame: installed code, or Node's own. */
export function isLibraryFrame(file: string): boolean {
  return file.includes(NODE_MODULES) || file.includes('/node_modules/') || file.startsWith('node:');
}

export function splitStack(frames: readonly StackFrame[]): SplitStack {
  const split: SplitStack = { app: [], library: [] };
  frames.forEach(function place(frame, index) {
    (isLibraryFrame(frame.class_or_file_name) ? split.library : split.app).push({ frame, index });
  });
  return split;
}

/**
 * The file as the page names it and whether the file view may open it. Lexical only: it runs for
 * every frame of every call, so no file system calls; the file view itself checks real paths.
 */
export function locateFrameFile(
  file: string,
  sourceRoot: string | undefined,
): { display: string; underRoot: boolean } {
  if (!sourceRoot || !isAbsolute(file)) return { display: file, underRoot: false };
  const rel = relative(sourceRoot, resolve(file));
  const underRoot = rel !== '' && !rel.startsWith('..') && !isAbsolute(rel);
  return { display: underRoot ? rel : file, underRoot };
}

/**
 * For each call, the first earlier call with an identical stack, if any: the calls of a loop share
 * one, and the page shows it once instead of a thousand times.
 */
function sameFrames(a: readonly StackFrame[], b: readonly StackFrame[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    const y = b[i];
    if (
      x.line_number !== y.line_number ||
      x.class_or_file_name !== y.class_or_file_name ||
      x.function_name !== y.function_name ||
      x.column_number !== y.column_number
    )
      return false;
  }
  return true;
}

export function sameStackIndexes(
  stacks: readonly (readonly StackFrame[] | undefined)[],
): (number | undefined)[] {
  // Candidates by a short key (innermost frame and depth), then compared frame by frame: no long
  // signature strings for 1000 calls of 20 frames.
  const candidates = new Map<string, number[]>();
  return stacks.map(function firstWithSameStack(frames, index) {
    if (!frames || frames.length === 0) return undefined;
    const top = frames[0];
    const key = `${frames.length}\u0000${top.line_number}\u0000${top.class_or_file_name}`;
    const list = candidates.get(key);
    if (!list) {
      candidates.set(key, [index]);
      return undefined;
    }
    for (const candidate of list) if (sameFrames(stacks[candidate] ?? [], frames)) return candidate;
    list.push(index);
    return undefined;
  });
}
