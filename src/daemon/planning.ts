// OPTIMIZE: turns a task's resource request into a placement on a provisionable infra, using the
// optimizer over the catalog plus the live offerings of local and ssh.

import type { ResourcesSpec, Task } from '../spec/types.js';
import { UserError } from '../util/errors.js';
import type { DaemonContext } from './context.js';
import { getProvider, PROVISIONABLE } from './providers.js';

export interface Placement {
  cloud: string;
  region?: string;
  zone?: string;
  instanceType?: string;
  hourlyPrice: number;
  useSpot: boolean;
  spec: ResourcesSpec;
  /** e.g. "local", "ssh/pool", "aws/us-east-1/us-east-1a" */
  infra: string;
  /** alternatives to try, in failover order, when this one fails to provision */
  failover: Placement[];
}

export function infraString(cloud: string, region?: string, zone?: string): string {
  if (cloud === 'local') return 'local';
  return [cloud, region, zone].filter(Boolean).join('/');
}

export interface PlanPreferences {
  avoidRegions?: string[];
  preferRegion?: string;
}

/** Recovery strategies: avoid lost regions when anything else can run the task, else anywhere. */
export function applyPreferences(placements: Placement[], prefs: PlanPreferences): Placement[] {
  let out = placements;
  const avoid = new Set(prefs.avoidRegions ?? []);
  if (avoid.size > 0) {
    const elsewhere = out.filter((p) => !avoid.has(p.region ?? ''));
    if (elsewhere.length > 0) out = [...elsewhere, ...out.filter((p) => avoid.has(p.region ?? ''))];
  }
  if (prefs.preferRegion) {
    out = [...out.filter((p) => p.region === prefs.preferRegion), ...out.filter((p) => p.region !== prefs.preferRegion)];
  }
  return out;
}

export async function planLaunch(ctx: DaemonContext, task: Task, prefs: PlanPreferences = {}): Promise<Placement> {
  const { planForDaemon } = await import('./optimize.js');
  const placements = applyPreferences(await planForDaemon(ctx, task), prefs);
  const usable = placements.filter((p) => PROVISIONABLE.includes(p.cloud));
  if (usable.length === 0) {
    const first = placements[0];
    throw new UserError(
      first
        ? `the cheapest infra for this task is ${first.infra}, which this aloft cannot provision yet (it can: ${PROVISIONABLE.join(', ')}); pass --infra local or --infra ssh/POOL`
        : 'no infra can run this task',
    );
  }
  const [chosen, ...rest] = usable;
  return { ...chosen!, failover: rest };
}

export { ignoredFieldsNote } from '../optimizer/notes.js';

export async function localUsable(ctx: DaemonContext): Promise<boolean> {
  return (await (await getProvider('local', ctx.home)).check()).ok;
}
