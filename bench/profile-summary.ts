/**
 * Where a process's CPU went, from a V8 .cpuprofile (node --cpu-prof): self time summed by function
 * (name, file, line) and by area (this project's folders, each package under node_modules, node's
 * internals, GC), as shares of the time not idle. Self time is the time a sample landed in the
 * function itself, callees excluded; sums over functions are exact, unlike inclusive times.
 * Run: node --import tsx bench/profile-summary.ts <file.cpuprofile> [top=25] [fromUs toUs]
 * (a window in the profile's clock, monotonic microseconds: process.hrtime in the profiled process)
 * (bench/peer.ts --profile=DIR records one of the appstats variant and prints this.)
 */
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface CpuProfile {
  startTime: number;
  endTime: number;
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const root = fileURLToPath(new URL('..', import.meta.url));

/** The area a script belongs to: `exporter/`, `node_modules/@opentelemetry/core`, `node:internal`, ... */
export function areaOf(url: string, functionName: string): string {
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  if (url.startsWith('node:')) return 'node:internal';
  const path = url.startsWith('file://') ? fileURLToPath(url) : url;
  const modules = path.lastIndexOf('/node_modules/');
  if (modules >= 0) {
    const [scopeOrName, name] = path.slice(modules + '/node_modules/'.length).split('/');
    return `node_modules/${scopeOrName.startsWith('@') ? `${scopeOrName}/${name}` : scopeOrName}`;
  }
  const inProject = relative(root, path);
  if (!inProject.startsWith('..')) return `${inProject.split('/')[0]}/`;
  return path;
}

function label(node: ProfileNode): string {
  const { functionName, url, lineNumber } = node.callFrame;
  if (!url) return functionName || '(anonymous)';
  const path = url.startsWith('file://') ? fileURLToPath(url) : url;
  const shown = path.includes('/node_modules/')
    ? path.slice(path.lastIndexOf('/node_modules/') + 1)
    : relative(root, path).startsWith('..')
      ? path
      : relative(root, path);
  // Under tsx, TypeScript runs transpiled without source maps in the profile: its lines mean nothing.
  return `${functionName || '(anonymous)'} ${shown}${path.endsWith('.ts') ? '' : `:${lineNumber + 1}`}`;
}

/** A part of a profile: monotonic microseconds, the clock of its samples (process.hrtime). */
export interface ProfileWindow {
  fromUs: number;
  toUs: number;
}

/** Self time in ms per function and per area, and the totals, of one profile (or of a window of it). */
export function summarize(profile: CpuProfile, window?: ProfileWindow) {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfUs = new Map<number, number>();
  // timeDeltas[i] is the time between samples i-1 and i: a sample lasts until the next one (as
  // DevTools counts), the last one for no time.
  let at = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    at += profile.timeDeltas[i] ?? 0;
    if (window && (at < window.fromUs || at > window.toUs)) continue;
    const id = profile.samples[i];
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i + 1] ?? 0));
  }
  const parentOf = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id);
  /** The nearest frame of the project or of a package: who asked for a native's or node's work. */
  const callerArea = (id: number): string => {
    for (let at: number | undefined = id; at !== undefined; at = parentOf.get(at)) {
      const area = areaOf(byId.get(at)?.callFrame.url ?? '', byId.get(at)?.callFrame.functionName ?? '');
      if (area.endsWith('/') || area.startsWith('node_modules/')) return area;
    }
    return areaOf(byId.get(id)?.callFrame.url ?? '', byId.get(id)?.callFrame.functionName ?? '');
  };
  const byFunction = new Map<string, number>();
  const byArea = new Map<string, number>();
  const byCaller = new Map<string, number>();
  let idleUs = 0;
  let totalUs = 0;
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    if (!node) continue;
    totalUs += us;
    if (node.callFrame.functionName === '(idle)') {
      idleUs += us;
      continue;
    }
    const name = label(node);
    byFunction.set(name, (byFunction.get(name) ?? 0) + us);
    const area = areaOf(node.callFrame.url, node.callFrame.functionName);
    byArea.set(area, (byArea.get(area) ?? 0) + us);
    const caller = callerArea(id);
    byCaller.set(caller, (byCaller.get(caller) ?? 0) + us);
  }
  const sorted = (map: Map<string, number>) => [...map].sort((a, b) => b[1] - a[1]);
  return {
    busyUs: totalUs - idleUs,
    idleUs,
    byFunction: sorted(byFunction),
    byArea: sorted(byArea),
    byCaller: sorted(byCaller),
  };
}

export function printProfileSummary(file: string, top = 25, window?: ProfileWindow): void {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  if (window && (window.fromUs < profile.startTime || window.toUs > profile.endTime))
    throw new Error(
      `window ${JSON.stringify(window)} is not within the profile's ${profile.startTime}..${profile.endTime}`,
    );
  const { busyUs, idleUs, byFunction, byArea, byCaller } = summarize(profile, window);
  const pct = (us: number) => `${((100 * us) / busyUs).toFixed(1).padStart(5)}%`;
  const ms = (us: number) => `${(us / 1000).toFixed(0).padStart(7)} ms`;
  const part = window ? ` (${((window.toUs - window.fromUs) / 1e6).toFixed(1)} s window)` : '';
  console.log(`\n${file}${part}: ${ms(busyUs).trim()} busy, ${ms(idleUs).trim()} idle`);
  console.log('self time by area (share of busy time):');
  for (const [area, us] of byArea.slice(0, 20)) console.log(`  ${pct(us)} ${ms(us)}  ${area}`);
  console.log(
    'the same, node internals and natives charged to their nearest caller in the project or a package:',
  );
  for (const [area, us] of byCaller.slice(0, 20)) console.log(`  ${pct(us)} ${ms(us)}  ${area}`);
  console.log(`top ${top} functions by self time:`);
  for (const [name, us] of byFunction.slice(0, top)) console.log(`  ${pct(us)} ${ms(us)}  ${name}`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const [file, top, fromUs, toUs] = process.argv.slice(2);
  if (!file)
    throw new Error(
      'usage: node --import tsx bench/profile-summary.ts <file.cpuprofile> [top] [fromUs toUs]',
    );
  const window = fromUs && toUs ? { fromUs: Number(fromUs), toUs: Number(toUs) } : undefined;
  printProfileSummary(file, Number(top ?? 25), window);
}
