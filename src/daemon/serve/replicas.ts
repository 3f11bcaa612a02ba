// A replica's state machine as record edits (pure: record in, record out). The controller writes
// each edit before it acts on it — PROVISIONING before the launch, SHUTTING_DOWN before the
// teardown — so a daemon killed in between finds the replica where it left it:
//
//   PENDING → PROVISIONING → STARTING → READY ⇄ NOT_READY
//                  │             │          │
//                  ▼             ▼          ▼
//          FAILED_PROVISION   SHUTTING_DOWN / PREEMPTED → (removed) | FAILED | FAILED_INITIAL_DELAY
//                                                                   | FAILED_PROBING | FAILED_CLEANUP
import { FAILED_REPLICA_STATUSES, type ReplicaRecord, type ReplicaStatus, type ServiceRecord, type ServiceStatus } from '../../protocol/model.js';
import type { ReadinessProbe } from '../../spec/types.js';

/** How many ended-badly replicas a service keeps listed. */
const KEPT_FAILED = 5;

export const replicaCluster = (service: string, id: number) => `${service}-${id}`;

export function newReplica(service: string, id: number, version: number, useSpot: boolean, now: number): ReplicaRecord {
  return { id, version, status: 'PENDING', cluster: replicaCluster(service, id), useSpot, launchedAt: now };
}

/** Replicas whose record changes through `fn` (by id). */
export function editReplica(svc: ServiceRecord, id: number, fn: (r: ReplicaRecord) => ReplicaRecord | undefined): ServiceRecord {
  let changed = false;
  const replicas: ReplicaRecord[] = [];
  for (const r of svc.replicas) {
    if (r.id !== id) {
      replicas.push(r);
      continue;
    }
    const next = fn(r);
    if (next !== r) changed = true;
    if (next) replicas.push(next);
  }
  return changed ? { ...svc, replicas } : svc;
}

/** Being torn down (or about to be), not yet ended. */
export const ending = (r: ReplicaRecord) => (r.status === 'SHUTTING_DOWN' || r.status === 'PREEMPTED') && r.endedAt === undefined;

/** Serves (or is about to): probed, watched, counted. */
export const live = (r: ReplicaRecord) => r.status === 'STARTING' || r.status === 'READY' || r.status === 'NOT_READY';

/**
 * Marks a replica for teardown. `endAs`: what it ends as once its nodes are gone (a failure stays
 * listed; nothing — a scale-down — and PREEMPTED are removed). `drainMs`: keep its requests in
 * flight going that long (it gets no new ones) before the teardown.
 */
export function shutDown(r: ReplicaRecord, now: number, o: { endAs?: ReplicaStatus; reason?: string; drainMs?: number; preempted?: boolean }): ReplicaRecord {
  if (ending(r) || r.endedAt !== undefined) return r;
  const next: ReplicaRecord = { ...r, status: o.preempted ? 'PREEMPTED' : 'SHUTTING_DOWN' };
  if (o.endAs) next.endAs = o.endAs;
  if (o.reason) next.statusReason = o.reason;
  if (o.drainMs && r.status === 'READY') next.drainUntil = now + o.drainMs;
  return next;
}

/** The teardown is done: a failure stays listed (the latest few), anything else goes. */
export function ended(svc: ServiceRecord, id: number, now: number, cleanupError?: string): ServiceRecord {
  const out = editReplica(svc, id, (r) => {
    if (cleanupError) return { ...r, status: 'FAILED_CLEANUP', statusReason: `teardown failed: ${cleanupError}`, endedAt: now };
    if (r.endAs && FAILED_REPLICA_STATUSES.has(r.endAs)) {
      const { drainUntil: _d, ...rest } = r;
      return { ...rest, status: r.endAs, endedAt: now };
    }
    return undefined;
  });
  const failed = out.replicas.filter((r) => r.endedAt !== undefined);
  if (failed.length <= KEPT_FAILED) return out;
  const drop = new Set(failed.sort((a, b) => a.endedAt! - b.endedAt!).slice(0, failed.length - KEPT_FAILED).map((r) => r.id));
  return { ...out, replicas: out.replicas.filter((r) => !drop.has(r.id)) };
}

/** A probe's answer, applied (SkyServe's _probe_all_replicas). */
export function probed(r: ReplicaRecord, ok: boolean, detail: string | undefined, p: ReadinessProbe, now: number): ReplicaRecord {
  if (!live(r)) return r;
  if (ok) {
    if (r.status === 'READY' && r.statusReason === undefined && r.notReadySince === undefined) return r;
    const { notReadySince: _n, statusReason: _s, ...rest } = r;
    return { ...rest, status: 'READY', readyAt: r.readyAt ?? now };
  }
  if (r.readyAt === undefined) {
    const since = r.startingAt ?? r.launchedAt;
    if (now - since > p.initialDelaySeconds * 1000) {
      return shutDown(r, now, { endAs: 'FAILED_INITIAL_DELAY', reason: `not ready within initial_delay_seconds (${p.initialDelaySeconds}s): ${detail ?? 'probe failed'}` });
    }
    return r.statusReason === detail ? r : { ...r, statusReason: detail };
  }
  const since = r.notReadySince ?? now;
  if (now - since >= p.failureThresholdSeconds * 1000) {
    return shutDown(r, now, { endAs: 'FAILED_PROBING', reason: `failed its probe for ${Math.round((now - since) / 1000)}s: ${detail ?? 'probe failed'}` });
  }
  return { ...r, status: 'NOT_READY', notReadySince: since, statusReason: detail };
}

/** SkyServe's ServiceStatus.from_replica_statuses. */
export function serviceStatusOf(replicas: readonly ReplicaRecord[]): ServiceStatus {
  if (replicas.some((r) => r.status === 'READY')) return 'READY';
  if (replicas.some((r) => FAILED_REPLICA_STATUSES.has(r.status))) return 'FAILED';
  if (replicas.length === 0) return 'NO_REPLICA';
  return 'REPLICA_INIT';
}
