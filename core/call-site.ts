import { findSourceMap } from 'node:module';
import { dirname, join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { context } from '@opentelemetry/api';
import { type CapturedCallSites, getCallerCallSites } from './caller-call-sites.js';
import type { StackFrame } from './record.js';

export type { CapturedCallSites };

/** The original kept 10 frames: too few under a framework. */
export const DEFAULT_MAX_STACK = 20;

/** Frames of our own library code: the package root as installed (source or dist/). */
const PACKAGE_ROOT = dirname(dirname(fileURLToPath(import.meta.url)));
const OWN_DIRS = ['core', 'stores', 'exporter', 'instrumentations', 'viewer'].map(
  (dir) => join(PACKAGE_ROOT, dir) + sep,
);
const OWN_FILES = ['index', 'register'].map((name) => join(PACKAGE_ROOT, name));

/** Frames of the tracing machinery: they say how a span was made, not which app line asked. */
const MACHINERY = [
  `${sep}node_modules${sep}@opentelemetry${sep}`,
  `${sep}node_modules${sep}require-in-the-middle${sep}`,
  `${sep}node_modules${sep}import-in-the-middle${sep}`,
  `${sep}node_modules${sep}shimmer${sep}`,
];

/**
 * Per-script facts, computed once: the same few hundred files appear in every stack, and URL
 * parsing, prefix tests and source-map lookups per frame were most of the formatting cost.
 * Bounded: cleared when it grows past the limit (an app with more scripts only pays again).
 */
interface ScriptInfo {
  path: string;
  skipped: boolean;
  sourceMap: ReturnType<typeof findSourceMap> | undefined;
}
const scriptCache = new Map<string, ScriptInfo>();
const MAX_CACHED_SCRIPTS = 5000;

function scriptInfo(name: string): ScriptInfo {
  let info = scriptCache.get(name);
  if (info) return info;
  const path = name.startsWith('file://') ? safeFileUrlToPath(name) : name;
  const skipped = isSkippedFrame(path);
  let sourceMap: ScriptInfo['sourceMap'];
  if (!skipped) {
    try {
      sourceMap = findSourceMap(path) ?? (name !== path ? findSourceMap(name) : undefined);
    } catch {
      sourceMap = undefined;
    }
  }
  info = { path, skipped, sourceMap };
  if (scriptCache.size >= MAX_CACHED_SCRIPTS) scriptCache.clear();
  scriptCache.set(name, info);
  return info;
}

function safeFileUrlToPath(url: string): string {
  try {
    return fileURLToPath(url);
  } catch {
    return url;
  }
}

/** True for frames to skip: node internals, OpenTelemetry, the hooks, and otel-appstats itself. */
export function isSkippedFrame(file: string): boolean {
  if (file === '' || file.startsWith('node:') || !file.includes(sep)) return true;
  if (MACHINERY.some((part) => file.includes(part))) return true;
  if (OWN_DIRS.some((dir) => file.startsWith(dir))) return true;
  return OWN_FILES.some((own) => file.startsWith(own) && /^\.[cm]?[jt]s$/.test(file.slice(own.length)));
}

function returnCallSites(_error: Error, sites: NodeJS.CallSite[]): NodeJS.CallSite[] {
  return sites;
}

/**
 * Frames taken beyond `maxStack`: the skipped ones come first (processor hook, SDK tracer and span,
 * the instrumentation wrapper: six to eight).
 */
const SKIPPED_FRAMES_ALLOWANCE = 10;

/** The current stack, unformatted (see `CapturedCallSites`). */
export function captureCallSites(maxStack: number = DEFAULT_MAX_STACK): CapturedCallSites {
  const savedLimit = Error.stackTraceLimit;
  const holder: { stack?: unknown } = {};
  try {
    Error.stackTraceLimit = maxStack + SKIPPED_FRAMES_ALLOWANCE;
    Error.captureStackTrace(holder, captureCallSites);
  } catch {
    // A frozen Error or an exotic runtime: no stack for this call, never an error for the app.
  } finally {
    Error.stackTraceLimit = savedLimit;
  }
  // A library call made on the app's behalf after the app's own call returned (see
  // caller-call-sites.ts): keep that call's sites beside, unread; formatting picks one.
  const caller = getCallerCallSites(context.active());
  if (caller) (holder as { caller?: CapturedCallSites }).caller = caller;
  return holder;
}

/** Reads the frames of a capture as CallSite objects: V8 formats lazily, with our prepareStackTrace. */
function callSitesOf(captured: CapturedCallSites): readonly NodeJS.CallSite[] {
  const savedPrepare = Error.prepareStackTrace;
  try {
    Error.prepareStackTrace = returnCallSites;
    const sites = captured.stack;
    return Array.isArray(sites) ? (sites as NodeJS.CallSite[]) : [];
  } catch {
    return [];
  } finally {
    Error.prepareStackTrace = savedPrepare;
  }
}

/** Source-map sources are file URLs, the same few per app: converted once each. */
const sourcePaths = new Map<string, string>();
function sourcePathOf(source: string): string {
  let path = sourcePaths.get(source);
  if (path === undefined) {
    path = source.startsWith('file://') ? safeFileUrlToPath(source) : source;
    if (sourcePaths.size >= MAX_CACHED_SCRIPTS) sourcePaths.clear();
    sourcePaths.set(source, path);
  }
  return path;
}

/** Maps a generated position to its source when the app runs with source maps; else unchanged. */
function sourceMapped(
  file: string,
  map: ScriptInfo['sourceMap'],
  line: number,
  column: number,
): { file: string; line: number; column: number } {
  try {
    if (!map) return { file, line, column };
    const entry = map.findEntry(line - 1, column - 1) as {
      originalSource?: string;
      originalLine?: number;
      originalColumn?: number;
    };
    if (entry?.originalSource === undefined || entry.originalLine === undefined)
      return { file, line, column };
    const source = sourcePathOf(entry.originalSource);
    return { file: source, line: entry.originalLine + 1, column: (entry.originalColumn ?? 0) + 1 };
  } catch {
    return { file, line, column };
  }
}

/** Receivers V8 names by a base class: a library's method on them says nothing of its own class. */
const GENERIC_TYPES = new Set(['EventEmitter', 'Object', 'Function', 'Promise']);

function fileStem(file: string): string {
  const base = file.slice(file.lastIndexOf(sep) + 1);
  const dot = base.indexOf('.');
  return dot > 0 ? base.slice(0, dot) : base;
}

/**
 * A frame's function name. A function with no name of its own (ioredis generates one per command)
 * is named by V8 after the receiver's property and class, which depend on the call, not on the
 * position: it must never be cached by position alone (every ioredis command was shown as the first
 * one called). A library's generic receiver class (EventEmitter) is replaced by the file's name.
 */
function functionNameOf(site: NodeJS.CallSite, file: string): string {
  const fn = site.getFunctionName();
  let type = site.isToplevel() ? null : site.getTypeName();
  const method = site.getMethodName();
  if (type && GENERIC_TYPES.has(type) && file.includes(NODE_MODULES)) type = fileStem(file);
  if (fn) return type && !fn.includes('.') && type !== 'Object' ? `${type}.${fn}` : fn;
  if (method) return type ? `${type}.${method}` : method;
  // V8 reports an anonymous arrow function at module level as "top level" too: no better name.
  return '<anonymous>';
}

/**
 * Formats captured call sites, skipping the machinery's frames, at most `maxStack` frames. When no
 * frame of the app is on the captured stack (a library sent the call from its own callback) and the
 * app's call of the library was noted (`setCallerCallSites`), that call's frames are shown instead.
 */
export function formatCallSites(
  captured: CapturedCallSites,
  maxStack: number = DEFAULT_MAX_STACK,
): StackFrame[] {
  const frames = formatOwnCallSites(captured, maxStack);
  const caller = (captured as { caller?: CapturedCallSites }).caller;
  if (caller && !frames.some(isAppFrame)) {
    const callerFrames = formatCallSites(caller, maxStack);
    // The caller capture was made in a library's wrapper: frames above the app's first are the
    // library calling itself (pg-pool's query calling its connect), not news to the reader.
    const first = callerFrames.findIndex(isAppFrame);
    if (first > 0) return callerFrames.slice(first);
    if (callerFrames.length > 0) return callerFrames;
  }
  return frames;
}

const NODE_MODULES = `${sep}node_modules${sep}`;

function isAppFrame(frame: StackFrame): boolean {
  return !frame.class_or_file_name.includes(NODE_MODULES);
}

/**
 * Formatted frames by script, position and name: a loop's calls, and every request of a page, share
 * their frames, and the source-map lookup was most of a frame's cost.
 */
const frameCache = new Map<string, StackFrame>();
const MAX_CACHED_FRAMES = 20_000;

function formatOwnCallSites(captured: CapturedCallSites, maxStack: number): StackFrame[] {
  const frames: StackFrame[] = [];
  for (const site of callSitesOf(captured)) {
    if (frames.length >= maxStack) break;
    const script = site.getFileName() ?? site.getScriptNameOrSourceURL?.() ?? '';
    const info = scriptInfo(script);
    if (info.skipped) continue;
    const line = site.getLineNumber() ?? 0;
    const column = site.getColumnNumber() ?? 0;
    const name = functionNameOf(site, info.path);
    const key = `${line}:${column}:${script}:${name}`;
    let frame = frameCache.get(key);
    if (!frame) {
      const mapped = sourceMapped(info.path, info.sourceMap, line, column);
      frame = Object.freeze({
        class_or_file_name: mapped.file,
        line_number: mapped.line,
        column_number: mapped.column,
        function_name: name,
      });
      if (frameCache.size >= MAX_CACHED_FRAMES) frameCache.clear();
      frameCache.set(key, frame);
    }
    frames.push(frame);
  }
  return frames;
}
