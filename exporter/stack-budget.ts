/**
 * A token bucket of stack captures: refills at `perSecond`, holds at most one second's worth. A
 * request may overspend (its calls keep their stacks once it started with room); the debt delays
 * the next requests' stacks. `now` is injectable for tests.
 */
export class StackBudget {
  private _tokens: number;
  private _last: number;
  constructor(
    private readonly _perSecond: number,
    private readonly _now: () => number = () => performance.now(),
  ) {
    this._tokens = _perSecond;
    this._last = this._now();
  }
  hasRoom(): boolean {
    if (this._perSecond === Number.POSITIVE_INFINITY) return true;
    const now = this._now();
    this._tokens = Math.min(this._perSecond, this._tokens + ((now - this._last) / 1000) * this._perSecond);
    this._last = now;
    return this._tokens >= 1;
  }
  spend(): void {
    this._tokens -= 1;
  }
}
