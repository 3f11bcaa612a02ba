// Services (SkyServe) → rows: each service, then its replicas beneath it (↳), as `aloft serve
// status` lists them; the QPS and p50 latency the load balancer measures; one detail line.
import type { ReplicaRecord, ReplicaStatus, ServiceRecord } from '../../protocol/model.js';
import { statusColour } from './colors.js';
import { formatAge } from './format.js';
import type { SortKey } from './sort.js';
import type { Column, Row } from './table.js';

export const SERVICE_COLUMNS: Column[] = [
  { title: 'NAME', max: 32, keep: true },
  { title: 'ENDPOINT', max: 30, priority: 4 },
  { title: 'VERSION', priority: 2 },
  { title: 'STATUS', keep: true },
  { title: 'REPLICAS', max: 36, flex: true, priority: 5 },
  { title: 'QPS', align: 'right', priority: 3 },
  { title: 'P50', align: 'right', priority: 3 },
  { title: 'AGE', align: 'right', priority: 1 },
];

export const serviceKey = (s: Pick<ServiceRecord, 'name'>) => `svc:${s.name}`;
export const replicaKey = (s: Pick<ServiceRecord, 'name'>, r: Pick<ReplicaRecord, 'id'>) => `rep:${s.name}:${r.id}`;

/** "2 READY · 1 STARTING", "-" with none. */
export function replicasByState(s: ServiceRecord): string {
  const c = replicaCounts(s.replicas);
  return c.length ? c.map(([st, n]) => `${n} ${st}`).join(' · ') : '-';
}

export function serviceRow(s: ServiceRecord, now: number): Row {
  const m = s.metrics;
  const fresh = m && now - m.at < 60_000;
  return {
    key: serviceKey(s),
    cells: [
      s.name,
      s.endpoint ?? '-',
      s.activeVersions.length ? s.activeVersions.join(',') : String(s.version),
      s.status,
      replicasByState(s),
      fresh ? m!.qps.toFixed(1) : '-',
      fresh && m!.p50Ms !== undefined ? `${m!.p50Ms < 10 ? m!.p50Ms.toFixed(1) : Math.round(m!.p50Ms)}ms` : '-',
      formatAge(s.createdAt, now),
    ],
    colour: statusColour(s.status),
    colourCol: 3,
  };
}

export function replicaRow(s: ServiceRecord, r: ReplicaRecord, now: number): Row {
  return {
    key: replicaKey(s, r),
    cells: [
      `  ↳ replica ${r.id}`,
      r.url ?? '-',
      String(r.version),
      r.status,
      [r.infra, r.useSpot ? 'spot' : undefined].filter(Boolean).join(' ') || '-',
      '',
      '',
      formatAge(r.launchedAt, now),
    ],
    colour: statusColour(r.status),
    colourCol: 3,
    dim: r.endedAt !== undefined,
  };
}

/** Services in `order`, each followed by its replicas (by id). */
export function serviceRows(services: readonly ServiceRecord[], now: number): Row[] {
  const rows: Row[] = [];
  for (const s of services) {
    rows.push(serviceRow(s, now));
    for (const r of [...s.replicas].sort((a, b) => a.id - b.id)) rows.push(replicaRow(s, r, now));
  }
  return rows;
}

const SERVICE_RANK: Record<string, number> = {
  FAILED: 0, CONTROLLER_FAILED: 1, FAILED_CLEANUP: 2, REPLICA_INIT: 3, CONTROLLER_INIT: 4, NO_REPLICA: 5, SHUTTING_DOWN: 6, READY: 7,
};

export function serviceComparator(key: SortKey): (a: ServiceRecord, b: ServiceRecord) => number {
  const name = (a: ServiceRecord, b: ServiceRecord) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  switch (key) {
    case 'age':
      return (a, b) => b.createdAt - a.createdAt || name(a, b);
    case 'status':
      return (a, b) => (SERVICE_RANK[a.status] ?? 9) - (SERVICE_RANK[b.status] ?? 9) || name(a, b);
    default:
      return name;
  }
}

/** The selected row in one line: how the service is run, or where the replica is and why. */
export function serviceDetail(s: ServiceRecord, r?: ReplicaRecord): string {
  if (r) {
    const parts = [`replica ${r.id} of ${s.name}`, r.statusReason ? `${r.status}: ${r.statusReason}` : r.status, `cluster ${r.cluster}`];
    if (r.resources) parts.push(`${r.resources}${r.useSpot ? ' [spot]' : ''}`);
    return parts.join(' · ');
  }
  const parts = [s.name, s.statusReason ? `${s.status}: ${s.statusReason}` : s.status, s.policy, s.loadBalancingPolicy, `replicas on :${s.replicaPort}`];
  if (s.versions.length > 1) parts.push(`versions ${s.versions.map((v) => `${v.version}${v.mode ? ` (${v.mode})` : ''}`).join(', ')}`);
  if (s.metrics?.p99Ms !== undefined) parts.push(`p99 ${s.metrics.p99Ms}ms`);
  return parts.join(' · ');
}

/** `2 READY · 1 STARTING`: replicas by state, the order a user reads them in. */
export function replicaCounts(replicas: readonly ReplicaRecord[]): Array<[ReplicaStatus, number]> {
  const order: ReplicaStatus[] = ['READY', 'NOT_READY', 'STARTING', 'PROVISIONING', 'PENDING', 'SHUTTING_DOWN', 'PREEMPTED', 'FAILED', 'FAILED_INITIAL_DELAY', 'FAILED_PROBING', 'FAILED_PROVISION', 'FAILED_CLEANUP', 'UNKNOWN'];
  const counts = new Map<ReplicaStatus, number>();
  for (const r of replicas) counts.set(r.status, (counts.get(r.status) ?? 0) + 1);
  return order.filter((s) => counts.has(s)).map((s) => [s, counts.get(s)!]);
}
