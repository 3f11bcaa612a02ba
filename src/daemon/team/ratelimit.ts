// Requests per token: a token bucket each (refilled continuously, `burst` deep). A client over
// its rate gets 429 with Retry-After instead of an answer; nothing is queued on its behalf.
export interface RateLimit {
  /** sustained requests per second per token */
  perSecond: number;
  burst: number;
}

export class RateLimiter {
  private buckets = new Map<string, { tokens: number; at: number }>();

  constructor(private readonly limit: RateLimit) {}

  /** 0 when the request may go ahead, else the milliseconds until it could. */
  take(key: string, now = Date.now()): number {
    const { perSecond, burst } = this.limit;
    let b = this.buckets.get(key);
    if (!b) {
      b = { tokens: burst, at: now };
      this.buckets.set(key, b);
    }
    b.tokens = Math.min(burst, b.tokens + ((now - b.at) / 1000) * perSecond);
    b.at = now;
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return Math.ceil(((1 - b.tokens) / perSecond) * 1000);
  }
}
