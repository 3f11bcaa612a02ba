// What the balancer measures, cheaply enough to do on every request: arrivals per second (a ring
// of one counter per second, an hour long — the autoscaler's QPS window lives here, in the process
// that survives a daemon restart) and time to response headers (a ring of the latest samples).
export class RequestStats {
  private readonly counts: Uint32Array;
  /** the second `counts[i]` is about */
  private readonly seconds: Float64Array;
  private readonly lat: Float64Array;
  private readonly latAt: Float64Array;
  private latNext = 0;
  errors = 0;
  retries = 0;

  constructor(
    private readonly horizonSeconds = 3600,
    latencySamples = 8192,
  ) {
    this.counts = new Uint32Array(horizonSeconds);
    this.seconds = new Float64Array(horizonSeconds).fill(-1);
    this.lat = new Float64Array(latencySamples);
    this.latAt = new Float64Array(latencySamples).fill(-Infinity);
  }

  arrive(now = Date.now()): void {
    const s = Math.floor(now / 1000);
    const i = s % this.horizonSeconds;
    if (this.seconds[i] !== s) {
      this.seconds[i] = s;
      this.counts[i] = 0;
    }
    this.counts[i]!++;
  }

  /** A response's headers went out `ms` after its request arrived. */
  latency(ms: number, now = Date.now()): void {
    const i = this.latNext;
    this.lat[i] = ms;
    this.latAt[i] = now;
    this.latNext = (i + 1) % this.lat.length;
  }

  /** Arrivals in each of the last `window` whole seconds before now, oldest first (the current one last). */
  perSecond(window: number, now = Date.now()): number[] {
    const w = Math.max(1, Math.min(Math.floor(window), this.horizonSeconds));
    const cur = Math.floor(now / 1000);
    const out: number[] = [];
    for (let s = cur - w + 1; s <= cur; s++) {
      const i = ((s % this.horizonSeconds) + this.horizonSeconds) % this.horizonSeconds;
      out.push(this.seconds[i] === s ? this.counts[i]! : 0);
    }
    return out;
  }

  /** The latency samples of the last `windowMs`, unordered. */
  recent(windowMs: number, now = Date.now()): number[] {
    const since = now - windowMs;
    const xs: number[] = [];
    for (let i = 0; i < this.lat.length; i++) if (this.latAt[i]! >= since) xs.push(this.lat[i]!);
    return xs;
  }
}

/** Percentiles (0..1) of samples (sorted in place); undefined each when there are none. */
export function percentilesOf(xs: number[], qs: number[]): Array<number | undefined> {
  if (xs.length === 0) return qs.map(() => undefined);
  xs.sort((a, b) => a - b);
  return qs.map((q) => xs[Math.min(xs.length - 1, Math.max(0, Math.ceil(q * xs.length) - 1))]);
}
