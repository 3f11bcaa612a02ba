// Which replica takes the next request (SkyServe's load_balancing_policies, same names):
//   round_robin                each in turn;
//   least_load                 the fewest requests in flight (the default, see spec/service.ts);
//   instance_aware_least_load  in flight divided by the replica's accelerator's target QPS.
// Ties go round the replicas in turn: SkyServe's least_load takes the first replica with the
// minimum, so at low concurrency (every count 0) all traffic lands on one replica; here it spreads.
import type { LbConfig, LbReplica } from './protocol.js';

export class Picker {
  private replicas: LbReplica[] = [];
  private next = 0;
  private policy: LbConfig['policy'] = 'least_load';
  private weights = new Map<string, number>();

  constructor(private readonly inflight: (url: string) => number) {}

  configure(cfg: Pick<LbConfig, 'replicas' | 'policy' | 'targetQps'>): void {
    this.replicas = cfg.replicas;
    this.policy = cfg.policy;
    this.weights.clear();
    if (cfg.policy === 'instance_aware_least_load') {
      for (const r of cfg.replicas) this.weights.set(r.url, targetFor(r.accelerator, cfg.targetQps ?? {}));
    }
    if (this.next >= this.replicas.length) this.next = 0;
  }

  get size(): number {
    return this.replicas.length;
  }

  /** The replica for the next request, among those `usable` says yes to; undefined when none is. */
  pick(usable: (r: LbReplica) => boolean): LbReplica | undefined {
    const n = this.replicas.length;
    if (n === 0) return undefined;
    const start = this.next % n;
    let best: LbReplica | undefined;
    let bestLoad = Infinity;
    let bestAt = 0;
    for (let k = 0; k < n; k++) {
      const i = (start + k) % n;
      const r = this.replicas[i]!;
      if (!usable(r)) continue;
      if (this.policy === 'round_robin') {
        best = r;
        bestAt = i;
        break;
      }
      const load = this.inflight(r.url) / (this.weights.get(r.url) ?? 1);
      // strictly less: among equal loads the first from `start` wins, and `start` moves on
      if (load < bestLoad) {
        best = r;
        bestLoad = load;
        bestAt = i;
        if (load === 0) break;
      }
    }
    if (best) this.next = bestAt + 1;
    return best;
  }
}

/** A replica's target QPS by its accelerator: "A100:1", then "A100"; unknown: the smallest target. */
export function targetFor(accelerator: string | undefined, targets: Record<string, number>): number {
  const values = Object.values(targets);
  if (values.length === 0) return 1;
  if (accelerator) {
    if (targets[accelerator] !== undefined) return positive(targets[accelerator]!);
    const base = accelerator.split(':')[0]!;
    for (const [k, v] of Object.entries(targets)) if (k.split(':')[0] === base) return positive(v);
  }
  return positive(Math.min(...values));
}

const positive = (v: number) => (v > 0 ? v : 1);
