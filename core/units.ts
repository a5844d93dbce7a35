import type { HrTime } from '@opentelemetry/api';

/** Milliseconds rounded to the microsecond: the record's unit. */
export function roundMs(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

export function hrTimeToMs(time: HrTime): number {
  return time[0] * 1e3 + time[1] / 1e6;
}

/** b - a in milliseconds, computed on the parts so the large epoch seconds don't eat the precision. */
export function hrDiffMs(a: HrTime, b: HrTime): number {
  return (b[0] - a[0]) * 1e3 + (b[1] - a[1]) / 1e6;
}

/** Cuts a string to `max` characters, saying how much was cut. */
export function clip(text: string, max: number): string {
  if (text.length <= max) return text;
  const note = `…(+${text.length - max} chars)`;
  return text.slice(0, Math.max(0, max - note.length)) + note;
}

/** An attribute value as text, or undefined when it is not a scalar. */
export function str(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return undefined;
}

/** An attribute value as a finite number (numeric strings too), or undefined. */
export function num(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value)))
    return Number(value);
  return undefined;
}
