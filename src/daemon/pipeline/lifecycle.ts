// stop / start / down / autostop, and what the daemon does when a head agent autostops.

import type { AutostopMarker } from '../../agent/protocol.js';
import type { ClusterRecord, NodeResources } from '../../protocol/model.js';
import { isTerminalJob } from '../../protocol/model.js';
import { errorMessage, UserError } from '../../util/errors.js';
import type { DaemonContext } from '../context.js';
import { getProvider } from '../providers.js';
import { startAgents } from './agents.js';

export function describeResources(numNodes: number, r: NodeResources, instanceType?: string): string {
  const parts = [`cpus=${r.cpus}`, `mem=${r.memoryGiB}GiB`];
  for (const [n, c] of Object.entries(r.accelerators)) parts.push(`${n}:${c}`);
  return `${numNodes}x(${instanceType ? instanceType + ', ' : ''}${parts.join(', ')})`;
}

export function requireCluster(ctx: DaemonContext, name: string): ClusterRecord {
  const rec = ctx.store.getCluster(name);
  if (!rec) throw new UserError(`cluster '${name}' does not exist (see \`aloft status\`)`, 'NO_CLUSTER');
  return rec;
}

/** Copies the logs of jobs not archived yet (before nodes go away). */
async function archiveRemaining(ctx: DaemonContext, rec: ClusterRecord): Promise<void> {
  // The fetcher reads through the agent, or straight off the head node when the agent is gone.
  ctx.links.flushNow();
  const jobs = ctx.store.jobsOf(rec.uid).filter((j) => !ctx.store.jobLog(j.clusterUid, j.id));
  await ctx.archive.archiveNow(jobs);
}

async function shutdownAgent(ctx: DaemonContext, name: string): Promise<void> {
  if (!ctx.links.has(name)) return;
  try {
    const client = await ctx.links.get(name);
    await client.call('shutdown', { reason: 'stop' });
  } catch {
    /* already gone; the provider's sweep makes sure */
  }
  ctx.links.drop(name);
}

/** down: every process killed, nodes removed, the record gone (job rows and logs stay). */
export async function teardown(ctx: DaemonContext, name: string, opts: { archive?: boolean; purge?: boolean } = {}): Promise<void> {
  const rec = requireCluster(ctx, name);
  const provider = await getProvider(rec.cloud, ctx.home);
  try {
    if (opts.archive !== false) await archiveRemaining(ctx, rec);
    await shutdownAgent(ctx, name);
    await provider.terminateInstances(name);
  } catch (err) {
    if (!opts.purge) throw err;
    await provider.forgetInstances?.(name);
    // --purge: the user accepts that nodes may be left behind; say so once, then forget it.
    ctx.store.notice(`${name}: teardown failed (${errorMessage(err)}); removed from aloft anyway (--purge): check ${rec.infra} for leftover nodes`, 'warn', name);
  }
  // Jobs still active on the agent when it died are over now.
  ctx.links.flushNow();
  for (const j of ctx.store.activeJobsOf(rec.uid)) {
    ctx.store.putJob({ ...j, status: 'CANCELLED', endedAt: Date.now() });
  }
  ctx.store.removeCluster(name, `cluster ${name} terminated`);
}

export async function stopCluster(ctx: DaemonContext, name: string): Promise<void> {
  const rec = requireCluster(ctx, name);
  const provider = await getProvider(rec.cloud, ctx.home);
  if (!provider.capabilities.stop) throw new UserError(`${rec.infra} clusters cannot be stopped; use \`aloft down ${name}\``);
  await archiveRemaining(ctx, rec);
  await shutdownAgent(ctx, name);
  await provider.stopInstances(name);
  ctx.links.flushNow();
  for (const j of ctx.store.activeJobsOf(rec.uid)) {
    ctx.store.putJob({ ...j, status: 'CANCELLED', endedAt: Date.now() });
  }
  ctx.store.updateCluster(name, { status: 'STOPPED', statusReason: undefined });
}

export async function startCluster(ctx: DaemonContext, name: string, onProgress: (m: string) => void): Promise<void> {
  let rec = requireCluster(ctx, name);
  const provider = await getProvider(rec.cloud, ctx.home);
  ctx.links.drop(name);
  // Whatever is left of a broken cluster (an agent killed, jobs orphaned) is swept first.
  if (rec.status === 'INIT') await provider.stopInstances(name);
  rec = ctx.store.updateCluster(name, { status: 'INIT', statusReason: 'starting' })!;
  await ctx.store.durable();
  const info = await provider.runInstances({
    cluster: name,
    clusterUid: rec.uid,
    numNodes: rec.numNodes,
    resources: { infra: { cloud: rec.cloud }, useSpot: rec.useSpot, ports: [], labels: {} },
    region: rec.region,
    zone: rec.zone,
    instanceType: rec.instanceType,
    onProgress,
  });
  await provider.waitInstances(name, 'running');
  ctx.store.setInternal(name, { nodes: info.nodes });
  await ctx.store.durable();
  // A marker left by an earlier autostop would make the next restart think it fired again.
  await provider.transport(name, info.nodes[0]!).exec('rm -f autostopped.json');
  await startAgents(ctx, rec, provider, info, onProgress);
  ctx.store.updateCluster(name, { status: 'UP', statusReason: undefined });
}

export async function setAutostop(
  ctx: DaemonContext,
  name: string,
  opts: { idleMinutes?: number; down?: boolean; cancel?: boolean },
): Promise<ClusterRecord> {
  const rec = requireCluster(ctx, name);
  const setting = opts.cancel ? undefined : { idleMinutes: opts.idleMinutes ?? 5, down: opts.down ?? false };
  // A stopped cluster has no agent: the setting is kept and handed to its agents when it starts.
  if (rec.status === 'STOPPED') return ctx.store.updateCluster(name, { autostop: setting })!;
  if (rec.status !== 'UP') throw new UserError(`cluster '${name}' is ${rec.status}; autostop needs it UP or STOPPED`);
  const client = await ctx.links.get(name);
  if (opts.cancel) {
    await client.call('setAutostop', { cancel: true });
    return ctx.store.updateCluster(name, { autostop: undefined })!;
  }
  await client.call('setAutostop', setting!);
  return ctx.store.updateCluster(name, { autostop: setting })!;
}

/** The head agent stopped its cluster for idleness: finish the job it started. */
export async function onAutostop(ctx: DaemonContext, name: string, marker: AutostopMarker): Promise<void> {
  const rec = ctx.store.getCluster(name);
  if (!rec || rec.status === 'STOPPED') return;
  ctx.store.notice(`cluster ${name}: autostop fired after ${marker.idleMinutes} idle minute(s) → ${marker.down ? 'down' : 'stop'}`, 'info', name);
  const req = ctx.requests.create(marker.down ? 'down' : 'stop', name);
  try {
    await ctx.locks.with(name, async () => {
      ctx.links.drop(name);
      if (marker.down) {
        await teardown(ctx, name, { archive: true });
      } else {
        const provider = await getProvider(rec.cloud, ctx.home);
        await provider.stopInstances(name);
        ctx.store.updateCluster(name, { status: 'STOPPED', statusReason: 'autostopped' });
      }
    });
    ctx.requests.finish(req.id, {});
  } catch (err) {
    ctx.log.error({ cluster: name, err: errorMessage(err) }, 'autostop bookkeeping failed');
    ctx.requests.finish(req.id, { error: err });
  }
}

export function jobFinished(status: string): boolean {
  return isTerminalJob(status as never);
}
