// Bridges the daemon to the optimizer: live offerings from local (and ssh pools), the catalog for
// clouds, and the plan's failover order turned into placements the pipeline can try in turn.

import { existsSync } from 'node:fs';
import type { LiveOffering } from '../providers/types.js';
import type { PoolSummary } from '../providers/ssh/inspect.js';
import type { Task } from '../spec/types.js';
import type { Candidate, OptimizeContext } from '../optimizer/index.js';
import { homePaths } from '../util/paths.js';
import { TimeoutError, withTimeout } from '../util/timeout.js';
import type { DaemonContext } from './context.js';
import type { Placement } from './planning.js';
import { getProvider, PROVISIONABLE } from './providers.js';

interface Live {
  offerings: LiveOffering[];
  /** 'ssh/POOL' → why the pool offers no free host */
  problems: Record<string, string>;
}

/** Contexts (kubernetes) or pools (ssh) the tasks name explicitly. */
function namedTargets(tasks: Task[], cloud: string): string[] {
  const out = new Set<string>();
  for (const t of tasks) {
    for (const c of t.resources.candidates) {
      const named = c.infra.cloud === cloud || (cloud === 'kubernetes' && c.infra.cloud === 'k8s');
      if (named && c.infra.region && !c.infra.region.includes('*')) out.add(c.infra.region);
    }
  }
  return [...out];
}

/** Each kubernetes context's free capacity; a slow or unreachable API server never blocks planning. */
async function kubernetesOfferings(ctx: DaemonContext, tasks: Task[], out: Live): Promise<void> {
  const { hasKubeconfig } = await import('../providers/kubernetes/files.js');
  if (!hasKubeconfig()) return;
  try {
    const k8s = await getProvider('kubernetes', ctx.home);
    const probe = k8s.liveOfferingsWithProblems?.({ named: namedTargets(tasks, 'kubernetes') }) ?? Promise.resolve({ offerings: [], problems: new Map() });
    const summary = await withTimeout(probe, 5000, 'kubernetes API servers did not answer in time').catch((err: unknown) => {
      if (!(err instanceof TimeoutError)) throw err;
      return { offerings: [], problems: new Map([['*', [err.message]]]) };
    });
    out.offerings.push(...summary.offerings);
    for (const [context, why] of summary.problems) {
      if (why.length) out.problems[context === '*' ? 'kubernetes' : `kubernetes/${context}`] = why.join('; ');
    }
  } catch (err) {
    ctx.log.warn({ err: String(err) }, 'kubernetes unavailable for planning');
    out.problems.kubernetes = `kubernetes unavailable: ${(err as Error).message ?? String(err)}`;
  }
}

/** Live offerings of the providers that have no catalog; a slow or broken pool never blocks planning. */
async function liveOfferings(ctx: DaemonContext, tasks: Task[] = []): Promise<Live> {
  const out: Live = { offerings: [], problems: {} };
  const local = await getProvider('local', ctx.home);
  out.offerings.push(...((await local.liveOfferings?.()) ?? []));
  if (existsSync(`${ctx.home}/ssh_node_pools.yaml`)) {
    try {
      const ssh = await getProvider('ssh', ctx.home);
      const probe = ssh.liveOfferingsWithProblems?.() ?? Promise.resolve<PoolSummary>({ offerings: [], problems: new Map() });
      const summary = await withTimeout(probe, 5000, 'pool probe timed out').catch((err: unknown): PoolSummary => {
        if (!(err instanceof TimeoutError)) throw err;
        return { offerings: [], problems: new Map([['*', [err.message]]]) };
      });
      out.offerings.push(...summary.offerings);
      for (const [pool, why] of summary.problems) {
        // "u@h:22: cannot reach u@h:22: connection refused" → "u@h:22: unreachable: connection refused"
        const lines = why.map((w) => w.replace(/^(\S+): cannot reach \1: /, '$1: unreachable: '));
        if (lines.length) out.problems[pool === '*' ? 'ssh' : `ssh/${pool}`] = lines.join('; ');
      }
    } catch (err) {
      ctx.log.warn({ err: String(err) }, 'ssh pools unavailable for planning');
      out.problems.ssh = `ssh pools unavailable: ${(err as Error).message ?? String(err)}`;
    }
  }
  await kubernetesOfferings(ctx, tasks, out);
  return out;
}

/** `allowed_infra` (or SkyPilot's `allowed_clouds`) from ALOFT_HOME/config.yaml (checked: a broken file is one line). */
async function allowedInfra(home: string): Promise<string[] | undefined> {
  const { loadConfig } = await import('../spec/config.js');
  return loadConfig(homePaths(home).config).allowedInfra;
}

/**
 * Infra with credentials, detected again only when what detection reads changed (its key: the
 * credential files' and kubeconfig's mtimes, the relevant environment): detection parses files
 * (5–70 ms on a busy machine) and planning runs on every launch and dry run.
 */
let usableCache: { key: string; value: Promise<string[]> } | undefined;
async function usableClouds(home: string): Promise<string[]> {
  const { detectInfra, detectionKey, usableInfra } = await import('../catalog/detect.js');
  const key = detectionKey({ aloftHome: home });
  if (!usableCache || usableCache.key !== key) {
    const value = detectInfra({ aloftHome: home }).then(usableInfra);
    usableCache = { key, value };
    value.catch(() => (usableCache = undefined));
  }
  return usableCache.value;
}

export async function optimizerContext(ctx: DaemonContext, opts: { dryrun: boolean; tasks?: Task[] }): Promise<OptimizeContext> {
  const { contextFromMachine } = await import('../optimizer/index.js');
  const [live, usable] = await Promise.all([liveOfferings(ctx, opts.tasks ?? []), usableClouds(ctx.home)]);
  const octx = await contextFromMachine({
    usableClouds: usable,
    liveOfferings: live.offerings,
    allowedInfra: await allowedInfra(ctx.home),
    dryrun: opts.dryrun,
  });
  // A dry run and a launch plan alike: only infra this aloft can provision (with credentials, or
  // pools, or this machine) may be chosen; a dry run also lists the rest for price comparison.
  octx.provisionable = PROVISIONABLE;
  octx.liveProblems = live.problems;
  return octx;
}

function toPlacement(c: Candidate): Placement {
  return {
    cloud: c.cloud,
    region: c.region,
    zone: c.zone,
    instanceType: c.instanceType,
    hourlyPrice: c.hourlyPrice,
    useSpot: c.useSpot,
    spec: c.resources,
    infra: c.cloud === 'local' ? 'local' : [c.cloud, c.region, c.zone].filter(Boolean).join('/'),
    failover: [],
  };
}

/** A task that names `ssh/POOL` for a pool the pool file does not define fails with that, not "no offerings". */
export async function checkNamedPools(ctx: DaemonContext, tasks: Task[]): Promise<void> {
  const named = tasks.flatMap((t) =>
    t.resources.candidates.filter((c) => c.infra.cloud === 'ssh' && c.infra.region && !c.infra.region.includes('*')).map((c) => c.infra.region!),
  );
  if (!named.length) return;
  const { getPool } = await import('../providers/ssh/pools.js');
  for (const pool of new Set(named)) getPool(pool, ctx.home);
}

/** Placements for the task in failover order (cheapest first), planned on the optimizer's thread. */
export async function planForDaemon(ctx: DaemonContext, task: Task): Promise<Placement[]> {
  await checkNamedPools(ctx, [task]);
  // Why a pool cannot be used (unreachable, Node missing, in use) reaches the error through liveProblems.
  const octx = await optimizerContext(ctx, { dryrun: false, tasks: [task] });
  const candidates = (await ctx.planner.run({ op: 'placements', task, ctx: octx })) as Candidate[];
  return inTargetOrder(ctx, candidates.map(toPlacement));
}

/**
 * Kubernetes contexts all cost 0, so the optimizer's tie-break (names) would decide their order;
 * the user's allowed_contexts order decides instead (SkyPilot's failover order). Only the
 * kubernetes entries move, among the positions they already hold.
 */
async function inTargetOrder(ctx: DaemonContext, placements: Placement[]): Promise<Placement[]> {
  const slots = placements.flatMap((p, i) => (p.cloud === 'kubernetes' ? [i] : []));
  if (slots.length < 2) return placements;
  const order = (await getProvider('kubernetes', ctx.home)).targetOrder?.() ?? [];
  const rank = (p: Placement) => {
    const i = order.indexOf(p.region ?? '');
    return i < 0 ? order.length : i;
  };
  const sorted = slots.map((i) => placements[i]!).sort((a, b) => rank(a) - rank(b));
  const out = placements.slice();
  slots.forEach((slot, k) => (out[slot] = sorted[k]!));
  return out;
}
