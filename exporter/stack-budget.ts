/**
 * The stack budget: how much of the app's main thread stack captures may take. Two token buckets,
 * each holding at most one second's worth: main-thread time (a share of the time passing: the
 * capture when a call starts, the formatting when its record is built) and, optionally, a count of
 * captures per second. A request gets stacks when both have room as it starts; it may overspend
 * (its calls keep their stacks once it started), and the debt delays the next requests' stacks.
 * `now` is injectable for tests.
 */
export class StackBudget {
  private _captures: number;
  private _timeMs: number;
  private _last: number;
  private readonly _perSecond: number;
  private readonly _share: number;
  constructor(
    limits: { perSecond?: number; share?: number },
    private readonly _now: () => number = () => performance.now(),
  ) {
    this._perSecond = limits.perSecond ?? Number.POSITIVE_INFINITY;
    this._share = limits.share ?? 1;
    this._captures = this._perSecond;
    this._timeMs = this._share * 1000;
    this._last = this._now();
  }

  hasRoom(): boolean {
    if (this._perSecond === Number.POSITIVE_INFINITY && this._share >= 1) return true;
    const now = this._now();
    const elapsedMs = Math.max(0, now - this._last);
    this._last = now;
    // An infinite rate would make 0 * Infinity = NaN of a quiet spell: no count bucket then.
    if (this._perSecond !== Number.POSITIVE_INFINITY)
      this._captures = Math.min(this._perSecond, this._captures + (elapsedMs / 1000) * this._perSecond);
    this._timeMs = Math.min(this._share * 1000, this._timeMs + elapsedMs * this._share);
    return this._captures >= 1 && this._timeMs > 0;
  }

  /** One capture made, `ms` of main thread spent on it. */
  spendCapture(ms: number): void {
    this._captures -= 1;
    this._timeMs -= ms;
  }

  /** Main-thread time spent formatting captured stacks. */
  spendTime(ms: number): void {
    this._timeMs -= ms;
  }
}
