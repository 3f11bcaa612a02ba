// What the provider says about clusters, for providers that report their nodes' states (the VM
// clouds: `queryClusters`). A cluster whose agent is lost is explained by its nodes: a reclaimed
// spot node makes it INIT with the cloud's own reason; nodes all stopped (autostop powered them
// off while the daemon was away, or someone stopped them in the console) make it STOPPED; nodes
// all gone after an autostop `--down` remove it, as the daemon would have. `status -r` asks each
// provider once for all its clusters (one API call per region), then the agents of the healthy ones.
import type { ClusterRecord } from '../protocol/model.js';
import type { ClusterInfo, Provider } from '../providers/types.js';
import { errorMessage } from '../util/errors.js';
import type { DaemonContext } from './context.js';
import { getProvider } from './providers.js';

export type NodeVerdict = 'running' | 'stopped' | 'lost' | 'gone';

/** The clouds' words for "the guest powered itself off" (EC2's state reason, GCE's operation). */
const GUEST_SHUTDOWN = /InstanceInitiatedShutdown|guestTerminate/;

/** running: every node runs; stopped: every node stopped; gone: every node terminated; lost: some nodes gone. */
export function verdictOf(info: ClusterInfo | undefined): NodeVerdict {
  const nodes = info?.nodes ?? [];
  if (nodes.length === 0 || nodes.every((n) => n.status === 'terminated')) return 'gone';
  if (nodes.every((n) => n.status === 'running' || n.status === 'pending')) return 'running';
  if (nodes.every((n) => n.status === 'stopped')) return 'stopped';
  return 'lost';
}

function reasons(info: ClusterInfo | undefined, status: 'stopped' | 'terminated'): string {
  return (info?.nodes ?? [])
    .filter((n) => n.status === status)
    .map((n) => `node ${n.rank} (${n.instanceId}) ${status}${n.reason ? `: ${n.reason}` : ''}`)
    .join('; ');
}

function endActiveJobs(ctx: DaemonContext, rec: ClusterRecord): void {
  ctx.links.flushNow();
  for (const j of ctx.store.activeJobsOf(rec.uid)) ctx.store.putJob({ ...j, status: 'FAILED_DRIVER', endedAt: Date.now() });
}

/**
 * Brings a cluster's record in line with its nodes as the provider reports them. Returns true when
 * the record was changed (the caller then leaves the agent alone).
 */
export async function applyNodeStates(ctx: DaemonContext, rec: ClusterRecord, info: ClusterInfo | undefined): Promise<boolean> {
  const v = verdictOf(info);
  if (v === 'running') return false;
  const { store } = ctx;
  const name = rec.name;
  if (v === 'stopped') {
    if (rec.status === 'STOPPED') return true;
    const autostopped = GUEST_SHUTDOWN.test(reasons(info, 'stopped'));
    ctx.links.drop(name);
    endActiveJobs(ctx, rec);
    store.updateCluster(name, { status: 'STOPPED', statusReason: autostopped ? 'autostopped' : `stopped outside aloft: ${reasons(info, 'stopped')}` });
    store.notice(`cluster ${name}: ${autostopped ? 'autostop stopped its nodes' : 'its nodes were stopped outside aloft'}`, 'info', name);
    return true;
  }
  if (v === 'gone' && rec.autostop?.down && GUEST_SHUTDOWN.test(reasons(info, 'terminated'))) {
    // The head powered itself off for an autostop --down while the daemon was away: finish the down.
    ctx.links.drop(name);
    store.notice(`cluster ${name}: autostop terminated its nodes; removing it`, 'info', name);
    const { teardown } = await import('./pipeline/lifecycle.js');
    void ctx.locks
      .with(name, () => teardown(ctx, name, { archive: false }))
      .catch((err) => ctx.log.error({ cluster: name, err: errorMessage(err) }, 'removing an autostopped cluster failed'));
    return true;
  }
  const why = reasons(info, 'terminated') || reasons(info, 'stopped') || 'no nodes left';
  const statusReason = `${why}; run \`aloft start ${name}\` to bring the nodes back or \`aloft down ${name}\``;
  if (rec.status !== 'INIT' || rec.statusReason !== statusReason) {
    ctx.links.drop(name);
    store.updateCluster(name, { status: 'INIT', statusReason });
    store.notice(`cluster ${name}: ${why}`, 'warn', name);
  }
  return true;
}

/** The provider's view of one cluster, when the provider reports node states; undefined otherwise. */
export async function nodeStatesOf(ctx: DaemonContext, rec: ClusterRecord): Promise<{ provider: Provider; info: ClusterInfo | undefined } | undefined> {
  const provider = await getProvider(rec.cloud, ctx.home);
  if (!provider.queryClusters) return undefined;
  return { provider, info: await provider.queryInstances(rec.name) };
}

/**
 * `status -r`: every cluster's nodes from its provider, batched (one queryClusters per provider),
 * then the agents of the clusters whose nodes all run.
 */
export async function refreshClusters(ctx: DaemonContext, clusters: ClusterRecord[]): Promise<void> {
  const live = clusters.filter((c) => c.status === 'UP' || c.status === 'INIT');
  const byCloud = new Map<string, ClusterRecord[]>();
  for (const c of live) byCloud.set(c.cloud, [...(byCloud.get(c.cloud) ?? []), c]);
  await Promise.all(
    [...byCloud].map(async ([cloud, recs]) => {
      let states: Map<string, ClusterInfo | undefined> | undefined;
      try {
        const provider = await getProvider(cloud, ctx.home);
        states = await provider.queryClusters?.(recs.map((r) => r.name));
      } catch (err) {
        ctx.log.warn({ cloud, err: errorMessage(err) }, 'status refresh: provider query failed');
      }
      await Promise.all(
        recs.map(async (rec) => {
          // A launch, start or down in progress owns the record (a launch has no nodes yet).
          if (ctx.locks.busy(rec.name)) return;
          if (states?.has(rec.name) && (await applyNodeStates(ctx, rec, states.get(rec.name)))) return;
          await ctx.links.check(rec.name);
        }),
      );
    }),
  );
}
