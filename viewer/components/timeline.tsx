import type { FC } from 'hono/jsx';
import type { FindingKind } from '../../core/findings.js';
import type { ContextSpan, RpcCall } from '../../core/record.js';
import { formatMs } from '../format.js';
import { h, type SafeHtml, toJsx } from '../safe-html.js';

/**
 * The original's Gantt chart as inline SVG: one bar per call at its offset with its length, then
 * "RPC Total" (the outermost calls summed), "In flight" (time with a call in flight) and "Grand
 * Total" (the request), on one time axis. Context spans (a route handler, middleware) are grey lanes
 * with the calls made under them indented below; a call made inside another sits under it. Each
 * call row links to its trace below. Fixed coordinates in a viewBox: the chart scales with the page.
 */
export const WIDTH = 1000;
const LABEL_WIDTH = 210;
const RIGHT_PAD = 64;
const CHART_WIDTH = WIDTH - LABEL_WIDTH - RIGHT_PAD;
const ROW = 16;
const AXIS = 20;
const MAX_LABEL_CHARS = 32;
const PALETTE_SIZE = 8;
const INDENT = 8;
/** Rows drawn at most: a crafted record must not make the chart unbounded. */
const MAX_ROWS = 2500;

/** A round step giving about 6 to 10 ticks over `max`. */
export function tickStep(max: number): number {
  if (!(max > 0)) return 1;
  const raw = max / 8;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * magnitude >= raw) return m * magnitude;
  return 10 * magnitude;
}

/** The service of a call name (`datastore.Lookup` -> `datastore`), to colour its bars alike. */
export function serviceOf(name: string): string {
  const dot = name.indexOf('.');
  return dot === -1 ? name : name.slice(0, dot);
}

/** Colour classes by first appearance, so the same service keeps its colour across the page. */
export function serviceClasses(calls: readonly RpcCall[]): Map<string, string> {
  const classes = new Map<string, string>();
  for (const call of calls) {
    const service = serviceOf(call.service_call_name);
    if (!classes.has(service)) classes.set(service, `s${classes.size % PALETTE_SIZE}`);
  }
  return classes;
}

function shorten(label: string): string {
  return label.length > MAX_LABEL_CHARS ? `${label.slice(0, MAX_LABEL_CHARS - 1)}…` : label;
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}

/** A row of the chart: a call (linked to its trace) or a context span (a grey lane). */
export type TimelineRow =
  | { kind: 'call'; call: RpcCall; index: number; depth: number }
  | { kind: 'context'; span: ContextSpan; depth: number };

/**
 * Calls and context spans in tree order: each span followed by what was made under it, siblings
 * by start time. A span whose parent is not in the record hangs from the root. Pure.
 */
export function timelineRows(calls: readonly RpcCall[], context: readonly ContextSpan[] = []): TimelineRow[] {
  type Node = { row: TimelineRow; start: number; id: string; parent?: string };
  const nodes: Node[] = [
    ...context.map((span) => ({
      row: { kind: 'context' as const, span, depth: 0 },
      start: span.start_offset_milliseconds,
      id: span.span_id,
      parent: span.parent_span_id,
    })),
    ...calls.map((call, index) => ({
      row: { kind: 'call' as const, call, index, depth: 0 },
      start: call.start_offset_milliseconds,
      id: call.span_id,
      parent: call.parent_span_id,
    })),
  ].sort((a, b) => a.start - b.start);
  const ids = new Set(nodes.map((node) => node.id));
  const children = new Map<string | undefined, Node[]>();
  for (const node of nodes) {
    const parent =
      node.parent !== undefined && ids.has(node.parent) && node.parent !== node.id ? node.parent : undefined;
    const list = children.get(parent);
    if (list) list.push(node);
    else children.set(parent, [node]);
  }
  const rows: TimelineRow[] = [];
  const seen = new Set<Node>();
  const visit = (parent: string | undefined, depth: number) => {
    for (const node of children.get(parent) ?? []) {
      if (seen.has(node) || rows.length >= MAX_ROWS) continue; // a cycle in a crafted record
      seen.add(node);
      rows.push({ ...node.row, depth: Math.min(depth, 12) });
      visit(node.id, depth + 1);
    }
  };
  visit(undefined, 0);
  // Spans in a cycle of parents never reached from the root: shown at the top level, once.
  for (const node of nodes) if (!seen.has(node) && rows.length < MAX_ROWS) rows.push(node.row);
  return rows;
}

/**
 * One row per call or context span. With hono's escaping `h` template rather than JSX: a record may
 * hold 1000+ calls (see history-rows.ts); every string interpolated is escaped, no `raw()`.
 */
function chartRows(
  rows: readonly TimelineRow[],
  chart: { end: number; scale: number; flagged: Map<number, Set<FindingKind>>; colors: Map<string, string> },
): SafeHtml {
  return h`${rows.map(function chartRow(row, position) {
    const y = AXIS + position * ROW;
    const labelX = String(8 + row.depth * INDENT);
    if (row.kind === 'context') {
      const span = row.span;
      const x = round(LABEL_WIDTH + span.start_offset_milliseconds * chart.scale);
      const length = span.pending
        ? Math.max(0, chart.end - span.start_offset_milliseconds)
        : span.duration_milliseconds;
      const width = Math.max(1, round(length * chart.scale));
      const note = span.pending ? 'pending' : `${formatMs(span.duration_milliseconds)}ms`;
      return h`<g class="context"><title>${span.name} (${span.span_kind.toLowerCase()}, not a call) @${formatMs(span.start_offset_milliseconds)}ms ${note}</title><text class="ctx-label" x="${labelX}" y="${String(y + 12)}">${shorten(span.name)}</text><rect class="ctx" x="${String(x)}" y="${String(y + 5)}" width="${String(width)}" height="${String(ROW - 10)}"></rect></g>`;
    }
    const { call, index: i } = row;
    const x = round(LABEL_WIDTH + call.start_offset_milliseconds * chart.scale);
    const length = call.pending
      ? Math.max(0, chart.end - call.start_offset_milliseconds)
      : call.duration_milliseconds;
    const width = Math.max(1, round(length * chart.scale));
    const kinds = chart.flagged.get(i);
    const state = call.pending ? ' pending' : !call.was_successful ? ' failed' : '';
    const note = call.pending ? 'pending' : `${formatMs(call.duration_milliseconds)}ms`;
    const title = `#${i} ${call.service_call_name} @${formatMs(call.start_offset_milliseconds)}ms ${note}${
      call.was_successful ? '' : ' FAILED'
    }${kinds ? ` (${[...kinds].join(', ')})` : ''}`;
    const color = chart.colors.get(serviceOf(call.service_call_name)) ?? 's0';
    return h`<a href="#call-${String(i)}" data-call="${String(i)}"><title>${title}</title><rect class="band" y="${String(y + 1)}" width="${String(WIDTH - RIGHT_PAD)}" height="${String(ROW - 2)}"></rect>${
      kinds ? h`<rect class="flag" y="${String(y + 2)}" width="4" height="${String(ROW - 4)}"></rect>` : ''
    }<text class="label" x="${labelX}" y="${String(y + 12)}">${shorten(call.service_call_name)}</text><rect class="bar ${color}${state}" x="${String(x)}" y="${String(y + 3)}" width="${String(width)}" height="${String(ROW - 6)}"></rect><text class="dur" x="${String(Math.min(x + width + 3, WIDTH - RIGHT_PAD + 2))}" y="${String(y + 12)}">${note}</text></a>`;
  })}`;
}

export interface TimelineProps {
  rows: readonly TimelineRow[];
  durationMs: number;
  /** "RPC Total": the outermost calls summed. */
  rpcTotalMs: number;
  /** Time with at least one call in flight. */
  inFlightMs: number;
  flagged: Map<number, Set<FindingKind>>;
  colors: Map<string, string>;
}

/** A tick's label: as many decimals as the step needs, no more (`0`, `2.5`, `0.25`). */
export function formatTick(value: number, step: number): string {
  const text = String(Number(step.toFixed(6)));
  const dot = text.indexOf('.');
  return value.toFixed(dot === -1 ? 0 : Math.min(6, text.length - dot - 1));
}

const Axis: FC<{ y: number; max: number; step: number; scale: number; height: number; lines: boolean }> =
  function Axis({ y, max, step, scale, height, lines }) {
    const ticks: number[] = [];
    for (let t = 0; t <= max + step / 1000; t += step) ticks.push(round(t));
    return (
      <g class="axis">
        {ticks.map((t) => {
          const x = round(LABEL_WIDTH + t * scale);
          return (
            <>
              {lines ? <line x1={x} x2={x} y1={AXIS} y2={height - AXIS} /> : null}
              <text x={x + 2} y={y}>
                {formatTick(t, step)}
              </text>
            </>
          );
        })}
      </g>
    );
  };

export const Timeline: FC<TimelineProps> = function Timeline({
  rows,
  durationMs,
  rpcTotalMs,
  inFlightMs,
  flagged,
  colors,
}) {
  let maxEnd = 0;
  for (const row of rows) {
    const span = row.kind === 'call' ? row.call : row.span;
    maxEnd = Math.max(maxEnd, span.start_offset_milliseconds + span.duration_milliseconds);
  }
  const max = Math.max(durationMs, rpcTotalMs, maxEnd, 0.001);
  const step = tickStep(max);
  const axisMax = Math.ceil(max / step - 1e-9) * step;
  const scale = CHART_WIDTH / axisMax;
  const totals = [
    { label: 'RPC Total', ms: rpcTotalMs, cls: 'bar', title: 'the outermost calls summed' },
    { label: 'In flight', ms: inFlightMs, cls: 'bar', title: 'time with at least one call in flight' },
    { label: 'Grand Total', ms: durationMs, cls: 'bar grand', title: 'the request' },
  ];
  const height = AXIS * 2 + ROW * (rows.length + totals.length);
  const end = durationMs > 0 ? durationMs : maxEnd;
  const callCount = rows.filter((row) => row.kind === 'call').length;
  return (
    <svg
      class="timeline"
      viewBox={`0 0 ${WIDTH} ${height}`}
      width={WIDTH}
      height={height}
      role="img"
      aria-label={`Timeline of ${callCount} calls over ${formatMs(durationMs)} ms`}
    >
      <defs>
        <pattern
          id="pending"
          width="6"
          height="6"
          patternUnits="userSpaceOnUse"
          patternTransform="rotate(45)"
        >
          <rect width="3" height="6" class="s0" />
        </pattern>
      </defs>
      <Axis y={14} max={axisMax} step={step} scale={scale} height={height} lines />
      {toJsx(chartRows(rows, { end, scale, flagged, colors }))}
      {totals.map((total, j) => {
        const y = AXIS + (rows.length + j) * ROW;
        const width = Math.max(1, round(total.ms * scale));
        return (
          <g class="total">
            <title>{`${total.label}: ${total.title}`}</title>
            <rect class="band" x="0" y={y + 1} width={WIDTH - RIGHT_PAD} height={ROW - 2} />
            <text x="8" y={y + 12}>
              {total.label}
            </text>
            <rect class={total.cls} x={LABEL_WIDTH} y={y + 3} width={width} height={ROW - 6} />
            <text class="dur" x={Math.min(LABEL_WIDTH + width + 3, WIDTH - RIGHT_PAD + 2)} y={y + 12}>
              {`${formatMs(total.ms)}ms`}
            </text>
          </g>
        );
      })}
      <Axis y={height - 6} max={axisMax} step={step} scale={scale} height={height} lines={false} />
    </svg>
  );
};
