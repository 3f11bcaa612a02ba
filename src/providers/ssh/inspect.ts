// What `aloft check`, `aloft gpus list --infra ssh` and the planner want to know about pools:
// each host reachable or why not, its resources, the clusters holding it.
import type { NodeResources } from '../../protocol/model.js';
import type { LiveOffering } from '../types.js';
import type { Pool } from './pools.js';

export interface PoolHostStatus {
  pool: string;
  /** user@ip:port */
  host: string;
  reachable: boolean;
  /** why the host cannot be used (unreachable, auth, host key, Node.js) */
  reason?: string;
  resources?: NodeResources;
  /** clusters holding the host */
  clusters: string[];
}

export interface PoolSummary {
  /** one per pool with a usable host; `available` counts the free ones */
  offerings: LiveOffering[];
  /** per pool: why each host that is not free cannot take a new cluster */
  problems: Map<string, string[]>;
}

export function summarizePools(rows: PoolHostStatus[], pools: Map<string, Pool>): PoolSummary {
  const offerings: LiveOffering[] = [];
  const problems = new Map<string, string[]>();
  for (const [name, pool] of pools) {
    const mine = rows.filter((r) => r.pool === name);
    const usable = mine.filter((r) => r.reachable && r.resources);
    const free = usable.filter((r) => pool.shared || r.clusters.length === 0);
    problems.set(
      name,
      mine
        .filter((r) => !free.includes(r))
        .map((r) => (r.reachable ? `${r.host}: in use by cluster ${r.clusters.join(', ')}` : `${r.host}: ${r.reason}`)),
    );
    if (usable.length === 0) continue;
    offerings.push({ cloud: 'ssh', region: name, resources: (free[0] ?? usable[0])!.resources!, available: free.length });
  }
  return { offerings, problems };
}

/** Probes every pool host once (for `aloft check` / `aloft gpus list --infra ssh`); closes its connections. */
export async function sshPoolReport(home?: string, timeoutMs = 8000): Promise<PoolHostStatus[]> {
  const { SshProvider } = await import('./provider.js');
  const p = new SshProvider({ home });
  try {
    return await p.inspectPools({ timeoutMs });
  } finally {
    p.closeAll();
  }
}

/** Rows for a table: POOL, HOST, STATUS, RESOURCES, CLUSTERS. */
export function poolReportRows(rows: PoolHostStatus[]): string[][] {
  return rows.map((r) => [
    r.pool,
    r.host,
    r.reachable ? 'reachable' : `unreachable: ${r.reason ?? ''}`,
    r.resources
      ? [`${r.resources.cpus} CPU`, `${r.resources.memoryGiB} GiB`, ...Object.entries(r.resources.accelerators).map(([k, v]) => `${k}:${v}`)].join(', ')
      : '-',
    r.clusters.join(', ') || '-',
  ]);
}
