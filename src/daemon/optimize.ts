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

/** Live offerings of the providers that have no catalog; a slow or broken pool never blocks planning. */
async function liveOfferings(ctx: DaemonContext): Promise<Live> {
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
  return out;
}

/** `allowed_infra` (or SkyPilot's `allowed_clouds`) from ALOFT_HOME/config.yaml (checked: a broken file is one line). */
async function allowedInfra(home: string): Promise<string[] | undefined> {
  const { loadConfig } = await import('../spec/config.js');
  return loadConfig(homePaths(home).config).allowedInfra;
}

export async function optimizerContext(ctx: DaemonContext, opts: { dryrun: boolean }): Promise<OptimizeContext> {
  const { contextFromMachine } = await import('../optimizer/index.js');
  const live = await liveOfferings(ctx);
  const octx = await contextFromMachine({
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
  const octx = await optimizerContext(ctx, { dryrun: false });
  const candidates = (await ctx.planner.run({ op: 'placements', task, ctx: octx })) as Candidate[];
  return candidates.map(toPlacement);
}
