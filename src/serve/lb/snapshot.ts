// What one balancer worker tells the primary, and how the primary adds the workers up into the
// control API's answers: one service seen as one balancer however many processes serve its port.
import type { LbReplicaState, LbStats } from './protocol.js';
import type { Balancer } from './proxy.js';
import { percentilesOf } from './stats.js';

/** Latency percentiles are over this much of the recent past. */
export const LATENCY_WINDOW_MS = 60_000;

export interface WorkerSnapshot {
  /** arrivals in each second of the window asked for, oldest first, ending with `now`'s second */
  perSecond: number[];
  /** time to response headers (ms) of the last LATENCY_WINDOW_MS, unordered */
  latencies: number[];
  replicas: LbReplicaState[];
  waiting: number;
  errors: number;
  retries: number;
}

export function snapshotOf(b: Balancer, now: number, window: number): WorkerSnapshot {
  return {
    perSecond: b.stats.perSecond(window, now),
    latencies: b.stats.recent(LATENCY_WINDOW_MS, now),
    replicas: b.replicaStates(),
    waiting: b.waiting,
    errors: b.stats.errors,
    retries: b.stats.retries,
  };
}

/** A worker not serving yet. */
export const emptySnapshot = (window: number): WorkerSnapshot => ({ perSecond: new Array<number>(window).fill(0), latencies: [], replicas: [], waiting: 0, errors: 0, retries: 0 });

/** The replicas as one balancer would list them: in-flight counts added, ejected where any worker ejected it. */
export function mergeReplicas(snaps: WorkerSnapshot[]): LbReplicaState[] {
  const byKey = new Map<string, LbReplicaState>();
  for (const s of snaps)
    for (const r of s.replicas) {
      const key = `${r.draining ? 'draining' : 'listed'} ${r.url}`;
      const seen = byKey.get(key);
      if (!seen) byKey.set(key, { ...r });
      else {
        seen.inflight += r.inflight;
        seen.ejected ||= r.ejected;
      }
    }
  return [...byKey.values()];
}

export function mergeStats(snaps: WorkerSnapshot[], now: number, window: number): LbStats {
  const perSecond = new Array<number>(window).fill(0);
  for (const s of snaps) s.perSecond.forEach((n, i) => (perSecond[i] = (perSecond[i] ?? 0) + n));
  const [p50, p99] = percentilesOf(
    snaps.flatMap((s) => s.latencies),
    [0.5, 0.99],
  );
  const inflightByUrl: Record<string, number> = {};
  for (const r of mergeReplicas(snaps)) if (r.inflight > 0) inflightByUrl[r.url] = (inflightByUrl[r.url] ?? 0) + r.inflight;
  return {
    now,
    perSecond,
    requests: perSecond.reduce((a, b) => a + b, 0),
    window,
    ...(p50 !== undefined ? { p50Ms: p50 } : {}),
    ...(p99 !== undefined ? { p99Ms: p99 } : {}),
    inflight: Object.values(inflightByUrl).reduce((a, b) => a + b, 0),
    inflightByUrl,
    errors: snaps.reduce((a, s) => a + s.errors, 0),
    retries: snaps.reduce((a, s) => a + s.retries, 0),
    perWorker: snaps.map((s) => s.perSecond.reduce((a, b) => a + b, 0)),
  };
}
