// stop / start / down / autostop, and what the daemon does when a head agent autostops.

import type { AutostopMarker } from '../../agent/protocol.js';
import type { ClusterRecord, NodeResources } from '../../protocol/model.js';
import { isTerminalJob } from '../../protocol/model.js';
import { errorMessage, UserError } from '../../util/errors.js';
import type { DaemonContext } from '../context.js';
import { getProvider } from '../providers.js';
import { startAgents } from './agents.js';
import { releaseStorage, remountStorage, unmountStorage } from './storage.js';

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

/**
 * down: every process killed, nodes removed, the record gone (job rows and logs stay). It is
 * recorded as pending before it acts and the record goes with the cluster's row at the end, so a
 * teardown cut short by a daemon crash is finished by the next daemon (recover.ts).
 */
export async function teardown(
  ctx: DaemonContext,
  name: string,
  opts: { archive?: boolean; purge?: boolean; requestId?: string; reason?: string } = {},
): Promise<void> {
  const rec = requireCluster(ctx, name);
  const pending = ctx.store.getInternal(name).teardown;
  ctx.store.setInternal(name, {
    teardown: {
      reason: opts.reason ?? pending?.reason ?? 'down',
      archive: opts.archive !== false,
      purge: opts.purge ?? false,
      ...((opts.requestId ?? pending?.requestId) ? { requestId: opts.requestId ?? pending?.requestId } : {}),
      at: pending?.at ?? Date.now(),
    },
  });
  const provider = await getProvider(rec.cloud, ctx.home);
  try {
    if (opts.archive !== false) await archiveRemaining(ctx, rec);
    await shutdownAgent(ctx, name);
    // buckets first: a MOUNT_CACHED cache is flushed, and no removal reaches into a mount
    await unmountStorage(ctx, provider, name);
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
  await releaseStorage(ctx, name).catch((err) => ctx.log.error({ cluster: name, err: errorMessage(err) }, 'releasing buckets failed'));
}

export async function stopCluster(ctx: DaemonContext, name: string): Promise<void> {
  const rec = requireCluster(ctx, name);
  const provider = await getProvider(rec.cloud, ctx.home);
  if (!provider.capabilities.stop) {
    throw new UserError(
      rec.cloud === 'kubernetes'
        ? `cluster '${name}' runs on ${rec.infra}: kubernetes pods cannot be stopped (use \`aloft down ${name}\`; autostop there tears down)`
        : `${rec.infra} clusters cannot be stopped; use \`aloft down ${name}\``,
      'CANNOT_STOP',
    );
  }
  // Refused before the agent is shut down (AWS one-time spot instances cannot stop).
  await provider.checkStop?.(name);
  await archiveRemaining(ctx, rec);
  await shutdownAgent(ctx, name);
  await unmountStorage(ctx, provider, name);
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
  // A broken cluster (an agent killed) is repaired, not swept: its nodes' agents are started
  // again where they are gone (or hung), a new head agent takes over the journal and re-adopts
  // the jobs whose processes still run, and ranks no live job owns are stopped (reconcileRanks).
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
  await remountStorage(ctx, provider, name, info.nodes, onProgress);
  ctx.store.updateCluster(name, { status: 'UP', statusReason: undefined });
}

export async function setAutostop(
  ctx: DaemonContext,
  name: string,
  opts: { idleMinutes?: number; down?: boolean; cancel?: boolean },
): Promise<ClusterRecord> {
  const rec = requireCluster(ctx, name);
  // Kubernetes pods cannot be stopped: autostop there is autodown.
  const canStop = (await getProvider(rec.cloud, ctx.home)).capabilities.stop;
  const setting = opts.cancel ? undefined : { idleMinutes: opts.idleMinutes ?? 5, down: (opts.down ?? false) || !canStop };
  // A stopped cluster has no agent: the setting is kept and handed to its agents when it starts.
  if (rec.status === 'STOPPED') return ctx.store.updateCluster(name, { autostop: setting })!;
  if (rec.status !== 'UP') throw new UserError(`cluster '${name}' is ${rec.status}; autostop needs it UP or STOPPED`);
  const client = await ctx.links.get(name);
  const provider = await getProvider(rec.cloud, ctx.home);
  if (opts.cancel) {
    await client.call('setAutostop', { cancel: true });
    await provider.setAutostop?.(name, undefined);
    return ctx.store.updateCluster(name, { autostop: undefined })!;
  }
  await client.call('setAutostop', setting!);
  // On a cloud, what the head's power-off does when autostop fires: stop, or terminate for --down.
  await provider.setAutostop?.(name, setting);
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
        await unmountStorage(ctx, provider, name);
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

/**
 * A spot cluster whose nodes the provider reclaimed (not a managed job's concern alone): the
 * cluster says so as its reason (STOPPED: `start` brings it back, `down` removes it), and the
 * jobs that were running end FAILED_DRIVER at once with the reason — nobody would ever report
 * their end otherwise. Returns whether the cluster was found preempted.
 */
export async function notePreemption(ctx: DaemonContext, name: string): Promise<boolean> {
  const rec = ctx.store.getCluster(name);
  if (!rec || !rec.useSpot || (rec.status !== 'UP' && rec.status !== 'INIT')) return false;
  const provider = await getProvider(rec.cloud, ctx.home);
  const info = await provider.queryInstances(name).catch(() => undefined);
  if (info && info.nodes.length > 0 && info.nodes.every((n) => n.status !== 'terminated')) return false;
  const at = new Date().toTimeString().slice(0, 8);
  const why = `spot node(s) preempted at ${at}`;
  ctx.links.drop(name);
  ctx.links.flushNow();
  for (const j of ctx.store.activeJobsOf(rec.uid)) {
    ctx.store.putJob({ ...j, status: 'FAILED_DRIVER', endedAt: Date.now(), endReason: `the cluster's spot node(s) were preempted at ${at}` });
  }
  ctx.store.updateCluster(name, { status: 'STOPPED', statusReason: `${why}; \`aloft start ${name}\` brings it back, \`aloft down ${name}\` removes it` });
  ctx.store.notice(`cluster ${name}: ${why}`, 'warn', name);
  return true;
}

export function jobFinished(status: string): boolean {
  return isTerminalJob(status as never);
}
