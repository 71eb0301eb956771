/**
 * Pacing for `simulate`: tokens accrue at `ratePerSecond` up to `burst`; each tick takes the
 * whole tokens available, so events go out in small batches per tick rather than one timer
 * per event, and a late tick catches up (up to the burst) instead of drifting below the rate.
 */
export class TokenBucket {
  private tokens = 0;
  private last: number;

  constructor(
    private readonly ratePerSecond: number,
    private readonly burst: number,
    startMs: number,
  ) {
    this.last = startMs;
  }

  /** Whole tokens available at `nowMs` (at most `limit`), removed from the bucket. */
  take(nowMs: number, limit = Number.POSITIVE_INFINITY): number {
    const elapsed = Math.max(0, nowMs - this.last);
    this.last = nowMs;
    this.tokens = Math.min(this.burst, this.tokens + (elapsed * this.ratePerSecond) / 1000);
    const n = Math.max(0, Math.min(Math.floor(this.tokens), Math.floor(limit)));
    this.tokens -= n;
    return n;
  }
}
