import { isAbsolute, relative, resolve, sep } from 'node:path';
import type { StackFrame } from '../exporter/record.js';

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
export function sameStackIndexes(
  stacks: readonly (readonly StackFrame[] | undefined)[],
): (number | undefined)[] {
  const firstBySignature = new Map<string, number>();
  return stacks.map(function firstWithSameStack(frames, index) {
    if (!frames || frames.length === 0) return undefined;
    let signature = '';
    for (const f of frames)
      signature += `${f.class_or_file_name}\u0000${f.line_number}\u0000${f.column_number ?? ''}\u0000${f.function_name}\u0001`;
    const first = firstBySignature.get(signature);
    if (first !== undefined) return first;
    firstBySignature.set(signature, index);
    return undefined;
  });
}
