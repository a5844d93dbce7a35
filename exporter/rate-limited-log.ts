import { diag } from '@opentelemetry/api';
import { errorMessage } from '../core/error-message.js';

/** A warning's detail, or the function that writes it: evaluated when the line is logged. */
export type WarningDetail = string | (() => string);

/**
 * A diag warning for hot paths: the first occurrence is logged at once, later ones are counted and
 * summarised at most once per interval, so a dead memcache under load costs one line a minute.
 *
 * The summary does not wait for a next occurrence: it is logged when the interval ends, with the
 * latest detail (a function is called then, so a running total is the total at that moment). A
 * burst of losses that stops is thus reported whole within one interval, rather than hidden behind
 * the rate limit until the next loss, which may never come.
 */
export class RateLimitedWarning {
  private _suppressed = 0;
  private _lastLoggedAt = Number.NEGATIVE_INFINITY;
  private _latest: WarningDetail = '';
  private _timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly _what: string,
    private readonly _intervalMs = 60_000,
    private readonly _now: () => number = Date.now,
  ) {}

  warn(detail: WarningDetail): void {
    const now = this._now();
    if (now - this._lastLoggedAt >= this._intervalMs) {
      this._log(detail, now);
      return;
    }
    this._suppressed++;
    this._latest = detail;
    if (this._timer === undefined) {
      // Unref'd: a pending summary never keeps the app's process alive.
      this._timer = setTimeout(
        () => {
          this._timer = undefined;
          if (this._suppressed > 0) this._log(this._latest, this._now());
        },
        Math.max(0, this._lastLoggedAt + this._intervalMs - now),
      );
      this._timer.unref();
    }
  }

  /** Drops a pending summary unlogged: its owner is about to log a final line of its own. */
  cancel(): void {
    clearTimeout(this._timer);
    this._timer = undefined;
    this._suppressed = 0;
  }

  private _log(detail: WarningDetail, now: number): void {
    const more = this._suppressed > 0 ? ` (${this._suppressed} more since the last report)` : '';
    this._suppressed = 0;
    this._lastLoggedAt = now;
    clearTimeout(this._timer);
    this._timer = undefined;
    let text: string;
    try {
      text = typeof detail === 'function' ? detail() : detail;
    } catch (error) {
      text = `(the detail threw: ${errorMessage(error)})`;
    }
    diag.warn(`appstats: ${this._what}: ${text}${more}`);
  }
}
