// Bridges the daemon to the optimizer: live offerings from local and ssh, then the plan's
// failover order as placements.

import type { NodeResources } from '../protocol/model.js';
import type { ResourcesSpec, Task } from '../spec/types.js';
import { UserError } from '../util/errors.js';
import type { DaemonContext } from './context.js';
import type { Placement } from './planning.js';
import { infraString } from './planning.js';
import { getProvider } from './providers.js';

function fitsHost(spec: ResourcesSpec, host: NodeResources): string | undefined {
  if (spec.cpus && (spec.cpus.atLeast ? host.cpus < spec.cpus.value : host.cpus < spec.cpus.value)) {
    return `needs ${spec.cpus.value}${spec.cpus.atLeast ? '+' : ''} CPUs, this machine has ${host.cpus}`;
  }
  if (spec.memory && host.memoryGiB < spec.memory.value) {
    return `needs ${spec.memory.value}${spec.memory.atLeast ? '+' : ''} GiB memory, this machine has ${host.memoryGiB}`;
  }
  if (spec.accelerators && spec.accelerators.length > 0) {
    const ok = spec.accelerators.some((a) => {
      const have = Object.entries(host.accelerators).find(([n]) => n.toLowerCase() === a.name.toLowerCase());
      return have !== undefined && have[1] >= a.count;
    });
    if (!ok) {
      const want = spec.accelerators.map((a) => `${a.name}:${a.count}`).join(' or ');
      const have = Object.entries(host.accelerators).map(([n, c]) => `${n}:${c}`).join(', ') || 'no GPUs';
      return `needs ${want}, this machine has ${have}`;
    }
  }
  return undefined;
}

/** Placements for the task in preference order (cheapest first). */
export async function planForDaemon(ctx: DaemonContext, task: Task): Promise<Placement[]> {
  const out: Placement[] = [];
  const reasons: string[] = [];
  for (const spec of task.resources.candidates) {
    const cloud = spec.infra.cloud && spec.infra.cloud !== '*' ? spec.infra.cloud : undefined;
    if (cloud === undefined || cloud === 'local') {
      const local = await getProvider('local', ctx.home);
      const offers = (await local.liveOfferings?.()) ?? [];
      const host = offers[0]?.resources;
      const why = host ? fitsHost(spec, host) : 'local infra unavailable';
      if (why) {
        reasons.push(`local: ${why}`);
        continue;
      }
      out.push({ cloud: 'local', region: 'local', hourlyPrice: 0, useSpot: spec.useSpot, spec, infra: 'local', failover: [] });
    } else if (cloud === 'ssh') {
      if (!spec.infra.region) throw new UserError('infra ssh needs a pool name: --infra ssh/POOL');
      out.push({
        cloud: 'ssh',
        region: spec.infra.region,
        hourlyPrice: 0,
        useSpot: false,
        spec,
        infra: infraString('ssh', spec.infra.region),
        failover: [],
      });
    } else {
      out.push({
        cloud,
        region: spec.infra.region,
        zone: spec.infra.zone,
        instanceType: spec.instanceType,
        hourlyPrice: 0,
        useSpot: spec.useSpot,
        spec,
        infra: infraString(cloud, spec.infra.region, spec.infra.zone),
        failover: [],
      });
    }
    if (task.resources.mode === 'ordered' && out.length > 0) break;
  }
  if (out.length === 0) throw new UserError(`no infra can run this task: ${reasons.join('; ')}`);
  return out;
}
