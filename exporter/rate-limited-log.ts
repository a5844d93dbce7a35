import { diag } from '@opentelemetry/api';

/**
 * A diag warning for hot paths: the first occurrence is logged at once, later ones are counted and
 * summarised at most once per interval, so a dead memcache under load costs one line a minute.
 */
export class RateLimitedWarning {
  private _suppressed = 0;
  private _lastLoggedAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly _what: string,
    private readonly _intervalMs = 60_000,
    private readonly _now: () => number = Date.now,
  ) {}

  warn(detail: string): void {
    const now = this._now();
    if (now - this._lastLoggedAt < this._intervalMs) {
      this._suppressed++;
      return;
    }
    const more = this._suppressed > 0 ? ` (${this._suppressed} more since the last report)` : '';
    this._suppressed = 0;
    this._lastLoggedAt = now;
    diag.warn(`appstats: ${this._what}: ${detail}${more}`);
  }
}
