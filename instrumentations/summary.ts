import { clip } from '../core/units.js';

/*
 * What both instrumentations' summaries share: the original's bound on a summary's length, and the
 * summary of a call that failed.
 */

/** The original's `MAX_REPR`: summaries are cut to this many characters. */
export const DEFAULT_MAX_REPR = 100;

/** `error: <message>` (`error: 12 UNIMPLEMENTED: ...`), bounded. */
export function errorSummary(error: unknown, maxRepr: number = DEFAULT_MAX_REPR): string {
  const message = error instanceof Error ? error.message : String(error);
  return clip(`error: ${message}`, maxRepr);
}
