import { findSourceMap } from 'node:module';
import { dirname, join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { StackFrame } from '../exporter/record.js';

/**
 * Call sites are captured when a CLIENT span starts (cheap: V8 hands over its frames without
 * formatting them) and formatted only when the record is built, off the span's start.
 */
export type CapturedCallSites = readonly NodeJS.CallSite[];

/** The original kept 10 frames: too few under a framework. */
export const DEFAULT_MAX_STACK = 20;

/** Frames of our own library code: the package root as installed (source or dist/). */
const PACKAGE_ROOT = dirname(dirname(fileURLToPath(import.meta.url)));
const OWN_DIRS = ['exporter', 'instrumentations', 'viewer'].map((dir) => join(PACKAGE_ROOT, dir) + sep);
const OWN_FILES = ['index', 'register'].map((name) => join(PACKAGE_ROOT, name));

/** Frames of the tracing machinery: they say how a span was made, not which app line asked. */
const MACHINERY = [
  `${sep}node_modules${sep}@opentelemetry${sep}`,
  `${sep}node_modules${sep}require-in-the-middle${sep}`,
  `${sep}node_modules${sep}import-in-the-middle${sep}`,
  `${sep}node_modules${sep}shimmer${sep}`,
];

function fileOf(site: NodeJS.CallSite): string {
  const name = site.getFileName() ?? site.getScriptNameOrSourceURL?.() ?? '';
  return name.startsWith('file://') ? safeFileUrlToPath(name) : name;
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
 * The current stack as V8 call sites, unformatted. Extra frames are taken because the skipped ones
 * (instrumentation wrappers, the SDK) come first.
 */
export function captureCallSites(maxStack: number = DEFAULT_MAX_STACK): CapturedCallSites {
  const savedPrepare = Error.prepareStackTrace;
  const savedLimit = Error.stackTraceLimit;
  try {
    Error.prepareStackTrace = returnCallSites;
    Error.stackTraceLimit = maxStack + 40;
    const holder: { stack?: unknown } = {};
    Error.captureStackTrace(holder, captureCallSites);
    return Array.isArray(holder.stack) ? (holder.stack as NodeJS.CallSite[]) : [];
  } catch {
    return [];
  } finally {
    Error.prepareStackTrace = savedPrepare;
    Error.stackTraceLimit = savedLimit;
  }
}

/** Maps a generated position to its source when the app runs with source maps; else unchanged. */
function sourceMapped(
  file: string,
  line: number,
  column: number,
): { file: string; line: number; column: number } {
  try {
    const map = findSourceMap(file);
    if (!map) return { file, line, column };
    const entry = map.findEntry(line - 1, column - 1) as {
      originalSource?: string;
      originalLine?: number;
      originalColumn?: number;
    };
    if (entry?.originalSource === undefined || entry.originalLine === undefined)
      return { file, line, column };
    const source = entry.originalSource.startsWith('file://')
      ? safeFileUrlToPath(entry.originalSource)
      : entry.originalSource;
    return { file: source, line: entry.originalLine + 1, column: (entry.originalColumn ?? 0) + 1 };
  } catch {
    return { file, line, column };
  }
}

function functionNameOf(site: NodeJS.CallSite): string {
  const fn = site.getFunctionName();
  const type = site.isToplevel() ? null : site.getTypeName();
  const method = site.getMethodName();
  if (fn) return type && !fn.includes('.') && type !== 'Object' ? `${type}.${fn}` : fn;
  if (method) return type ? `${type}.${method}` : method;
  return site.isToplevel() ? '<module>' : '<anonymous>';
}

/** Formats captured call sites, skipping the machinery's frames, at most `maxStack` frames. */
export function formatCallSites(
  sites: CapturedCallSites,
  maxStack: number = DEFAULT_MAX_STACK,
): StackFrame[] {
  const frames: StackFrame[] = [];
  for (const site of sites) {
    if (frames.length >= maxStack) break;
    const file = fileOf(site);
    if (isSkippedFrame(file)) continue;
    const mapped = sourceMapped(file, site.getLineNumber() ?? 0, site.getColumnNumber() ?? 0);
    frames.push({
      class_or_file_name: mapped.file,
      line_number: mapped.line,
      column_number: mapped.column,
      function_name: functionNameOf(site),
    });
  }
  return frames;
}
