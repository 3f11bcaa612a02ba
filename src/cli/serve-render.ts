// `serve up` / `serve status` output as SkyServe prints it, and the waits behind `up` and `down`.
import type { DaemonClient } from '../client/client.js';
import { FAILED_REPLICA_STATUSES, type ReplicaStatus, type ServiceRecord, type ServiceStatus } from '../protocol/model.js';
import { ago, color, duration, table } from './table.js';

export const paint = color;

const SERVICE_COLOURS: Record<ServiceStatus, string> = {
  CONTROLLER_INIT: 'blue',
  REPLICA_INIT: 'blue',
  CONTROLLER_FAILED: 'red',
  READY: 'green',
  SHUTTING_DOWN: 'yellow',
  FAILED: 'red',
  FAILED_CLEANUP: 'red',
  NO_REPLICA: 'yellow',
};

function replicaColour(s: ReplicaStatus): string {
  if (s === 'READY') return 'green';
  if (s === 'STARTING') return 'cyan';
  if (s === 'PROVISIONING') return 'blue';
  if (s === 'PENDING' || s === 'NOT_READY' || s === 'SHUTTING_DOWN' || s === 'PREEMPTED') return 'yellow';
  return 'red';
}

/** SkyServe's REPLICAS column: READY / all but the failed ones. */
export function replicasText(s: ServiceRecord): string {
  const ready = s.replicas.filter((r) => r.status === 'READY').length;
  const total = s.replicas.filter((r) => !FAILED_REPLICA_STATUSES.has(r.status)).length;
  return `${ready}/${total}`;
}

export function statusTables(services: ServiceRecord[], verbose = false, now = Date.now()): string {
  if (services.length === 0) return `${paint('Services', 'cyan')}\nNo existing services.`;
  const headers = ['NAME', 'USER', 'VERSION', 'UPTIME', 'STATUS', 'REPLICAS', 'ENDPOINT'];
  if (verbose) headers.push('QPS', 'P50', 'AUTOSCALING_POLICY', 'LOAD_BALANCING_POLICY', 'REQUESTED_RESOURCES');
  const rows = services.map((s) => {
    const row = [
      s.name,
      s.user ?? '-',
      s.activeVersions.length ? s.activeVersions.join(',') : '-',
      s.uptimeSince ? duration(now - s.uptimeSince) : '-',
      paint(s.status, SERVICE_COLOURS[s.status]),
      replicasText(s),
      s.endpoint ?? '-',
    ];
    if (verbose) {
      row.push(
        s.metrics ? s.metrics.qps.toFixed(2) : '-',
        s.metrics?.p50Ms !== undefined ? `${s.metrics.p50Ms}ms` : '-',
        s.policy,
        s.loadBalancingPolicy,
        s.requestedResources,
      );
    }
    return row;
  });
  const replicaHeaders = ['SERVICE_NAME', 'ID', 'VERSION', 'ENDPOINT', 'LAUNCHED', 'INFRA', 'RESOURCES', 'STATUS'];
  const replicaRows = services.flatMap((s) =>
    s.replicas.map((r) => [
      s.name,
      String(r.id),
      String(r.version),
      r.url ?? '-',
      ago(r.launchedAt, now),
      r.infra ?? '-',
      r.resources ? `${r.resources}${r.useSpot ? ' [spot]' : ''}` : '-',
      paint(r.status, replicaColour(r.status)) + (verbose && r.statusReason ? ` (${r.statusReason})` : ''),
    ]),
  );
  const reasons = services.filter((s) => s.statusReason && s.status !== 'READY').map((s) => `${s.name}: ${s.statusReason}`);
  return [
    paint('Services', 'cyan'),
    table(headers, rows),
    ...(reasons.length ? ['', ...reasons] : []),
    '',
    paint('Service Replicas', 'cyan'),
    replicaRows.length ? table(replicaHeaders, replicaRows) : 'No existing replicas.',
  ].join('\n');
}

/** SkyServe's closing block of `serve up`. */
export function upSummary(s: ServiceRecord): string {
  const ep = s.endpoint ?? '-';
  const n = s.name;
  return [
    `${paint('Service name:', 'cyan')} ${n}`,
    `${paint('Endpoint URL:', 'cyan')} ${ep}`,
    '📋 Useful Commands',
    `├── To check service status:\taloft serve status ${n} [--endpoint]`,
    `├── To teardown the service:\taloft serve down ${n}`,
    `├── To see replica logs:\taloft serve logs ${n} [REPLICA_ID]`,
    `├── To see load balancer logs:\taloft serve logs --load-balancer ${n}`,
    `├── To see controller logs:\taloft serve logs --controller ${n}`,
    `├── To monitor the status:\twatch -n10 aloft serve status ${n}`,
    `└── To send a test request:\tcurl ${ep}`,
    '',
    paint('✓ Service is spinning up and replicas will be ready shortly.', 'green'),
  ].join('\n');
}

/** Polls a service until `ok` says so (or it is gone); undefined after `timeoutMs`. */
export async function waitFor(client: DaemonClient, name: string, ok: (s: ServiceRecord) => boolean, timeoutMs: number): Promise<ServiceRecord | undefined> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const { services } = await client.call('serveStatus', {});
    const s = services.find((x) => x.name === name);
    if (!s || ok(s)) return s;
    await new Promise((r) => setTimeout(r, 100));
  }
  return undefined;
}

/** Waits for services to be torn down; answers the ones whose teardown failed, with why. */
export async function waitGone(client: DaemonClient, names: string[]): Promise<Array<[string, string]>> {
  const left = new Set(names);
  const failed: Array<[string, string]> = [];
  let shown = false;
  while (left.size > 0) {
    const { services } = await client.call('serveStatus', {});
    for (const n of [...left]) {
      const s = services.find((x) => x.name === n);
      if (!s) {
        left.delete(n);
        process.stderr.write(`Service '${n}' is shut down.\n`);
      } else if (s.status === 'FAILED_CLEANUP') {
        left.delete(n);
        failed.push([n, s.statusReason ?? 'a replica could not be torn down']);
      }
    }
    if (left.size && !shown) {
      shown = true;
      process.stderr.write(`Tearing down ${[...left].map((n) => `'${n}'`).join(', ')}…\n`);
    }
    if (left.size) await new Promise((r) => setTimeout(r, 200));
  }
  return failed;
}
