import type { FC } from 'hono/jsx';
import type { RpcCall } from '../../core/record.js';
import type { FindingKind } from '../findings.js';
import { formatMs } from '../format.js';
import { h, type SafeHtml, toJsx } from '../safe-html.js';

/**
 * The original's Gantt chart as inline SVG: one bar per call at its offset with its length, then
 * "RPC Total" (sum of call durations) and "Grand Total" (the request), on one time axis. Each row
 * links to its call's trace below. Fixed coordinates in a viewBox: the chart scales with the page.
 */
export const WIDTH = 1000;
const LABEL_WIDTH = 210;
const RIGHT_PAD = 64;
const CHART_WIDTH = WIDTH - LABEL_WIDTH - RIGHT_PAD;
const ROW = 16;
const AXIS = 20;
const MAX_LABEL_CHARS = 32;
const PALETTE_SIZE = 8;

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

/**
 * One linked row per call. With hono's escaping `h` template rather than JSX: a record may
 * hold 1000+ calls (see history-rows.ts); every string interpolated is escaped, no `raw()`.
 */
function callRows(
  calls: readonly RpcCall[],
  chart: { end: number; scale: number; flagged: Map<number, Set<FindingKind>>; colors: Map<string, string> },
): SafeHtml {
  return h`${calls.map(function callRow(call, i) {
    const y = AXIS + i * ROW;
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
    }<text class="label" x="8" y="${String(y + 12)}">${shorten(call.service_call_name)}</text><rect class="bar ${color}${state}" x="${String(x)}" y="${String(y + 3)}" width="${String(width)}" height="${String(ROW - 6)}"></rect><text class="dur" x="${String(Math.min(x + width + 3, WIDTH - RIGHT_PAD + 2))}" y="${String(y + 12)}">${note}</text></a>`;
  })}`;
}

export interface TimelineProps {
  calls: readonly RpcCall[];
  durationMs: number;
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

export const Timeline: FC<TimelineProps> = function Timeline({ calls, durationMs, flagged, colors }) {
  let rpcTotal = 0;
  let maxEnd = 0;
  for (const call of calls) {
    rpcTotal += call.duration_milliseconds;
    maxEnd = Math.max(maxEnd, call.start_offset_milliseconds + call.duration_milliseconds);
  }
  const max = Math.max(durationMs, rpcTotal, maxEnd, 0.001);
  const step = tickStep(max);
  const axisMax = Math.ceil(max / step - 1e-9) * step;
  const scale = CHART_WIDTH / axisMax;
  const height = AXIS * 2 + ROW * (calls.length + 2);
  const end = durationMs > 0 ? durationMs : maxEnd;
  return (
    <svg
      class="timeline"
      viewBox={`0 0 ${WIDTH} ${height}`}
      width={WIDTH}
      height={height}
      role="img"
      aria-label={`Timeline of ${calls.length} calls over ${formatMs(durationMs)} ms`}
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
      {toJsx(callRows(calls, { end, scale, flagged, colors }))}
      {[
        { label: 'RPC Total', ms: rpcTotal, cls: 'bar' },
        { label: 'Grand Total', ms: durationMs, cls: 'bar grand' },
      ].map((total, j) => {
        const y = AXIS + (calls.length + j) * ROW;
        const width = Math.max(1, round(total.ms * scale));
        return (
          <g class="total">
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
