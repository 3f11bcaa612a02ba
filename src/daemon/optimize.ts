// Bridges the daemon to the optimizer: live offerings from local (and ssh pools), the catalog for
// clouds, and the plan's failover order turned into placements the pipeline can try in turn.

import { existsSync, readFileSync } from 'node:fs';
import type { LiveOffering } from '../providers/types.js';
import type { Task } from '../spec/types.js';
import type { Candidate, OptimizeContext, Plan } from '../optimizer/index.js';
import { homePaths } from '../util/paths.js';
import { UserError } from '../util/errors.js';
import type { DaemonContext } from './context.js';
import type { Placement } from './planning.js';
import { getProvider, PROVISIONABLE } from './providers.js';
import { importYaml } from '../util/yaml-lazy.js';

/** Live offerings of the providers that have no catalog; a slow or broken pool never blocks planning. */
async function liveOfferings(ctx: DaemonContext): Promise<LiveOffering[]> {
  const out: LiveOffering[] = [];
  const local = await getProvider('local', ctx.home);
  out.push(...((await local.liveOfferings?.()) ?? []));
  if (existsSync(`${ctx.home}/ssh_node_pools.yaml`)) {
    try {
      const ssh = await getProvider('ssh', ctx.home);
      const offers = await Promise.race([
        ssh.liveOfferings?.() ?? Promise.resolve([]),
        new Promise<LiveOffering[]>((r) => setTimeout(() => r([]), 5000)),
      ]);
      out.push(...offers);
    } catch (err) {
      ctx.log.warn({ err: String(err) }, 'ssh pools unavailable for planning');
    }
  }
  return out;
}

/** `allowed_infra` (or SkyPilot's `allowed_clouds`) from ALOFT_HOME/config.yaml. */
async function allowedInfra(home: string): Promise<string[] | undefined> {
  const path = homePaths(home).config;
  if (!existsSync(path)) return undefined;
  const { parse } = await importYaml();
  const cfg = parse(readFileSync(path, 'utf8')) as { allowed_infra?: string[]; allowed_clouds?: string[] } | null;
  return cfg?.allowed_infra ?? cfg?.allowed_clouds;
}

export async function optimizerContext(ctx: DaemonContext, opts: { dryrun: boolean }): Promise<OptimizeContext> {
  const { contextFromMachine } = await import('../optimizer/index.js');
  const octx = await contextFromMachine({
    liveOfferings: await liveOfferings(ctx),
    allowedInfra: await allowedInfra(ctx.home),
    dryrun: opts.dryrun,
  });
  // A launch can only use infra this aloft can provision; a dry run compares prices everywhere.
  if (!opts.dryrun) octx.usableClouds = octx.usableClouds.filter((c) => PROVISIONABLE.includes(c));
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

export async function planTaskFor(ctx: DaemonContext, task: Task, dryrun: boolean): Promise<Plan> {
  const { planTask } = await import('../optimizer/index.js');
  const octx = await optimizerContext(ctx, { dryrun });
  try {
    return planTask(task, octx);
  } catch (err) {
    // A named ssh pool that cannot be used: say why per host (Node missing, unreachable, in use).
    const pool = task.resources.candidates.find((c) => c.infra.cloud === 'ssh' && c.infra.region)?.infra.region;
    if (pool && existsSync(`${ctx.home}/ssh_node_pools.yaml`)) {
      const ssh = await getProvider('ssh', ctx.home);
      const why = await ssh.poolProblems?.(pool).catch(() => undefined);
      if (why) throw new UserError(why);
    }
    throw err;
  }
}

/** Placements for the task in failover order (cheapest first). */
export async function planForDaemon(ctx: DaemonContext, task: Task): Promise<Placement[]> {
  const plan = await planTaskFor(ctx, task, false);
  return [plan.chosen, ...plan.failover].map(toPlacement);
}
