// `plan` (what `launch --dryrun` shows): the optimizer's choice and the offerings it weighed.
import type { ApiMethods } from '../protocol/api.js';
import type { DaemonContext } from './context.js';
import { planForDaemon } from './optimize.js';

export async function planText(ctx: DaemonContext, p: ApiMethods['plan']['params']): Promise<ApiMethods['plan']['result']> {
  const plans: unknown[] = [];
  const lines: string[] = [];
  for (const task of p.tasks) {
    const placements = await planForDaemon(ctx, task);
    const chosen = placements[0]!;
    plans.push({ task: task.name ?? null, chosen: { cloud: chosen.cloud, region: chosen.region ?? null, zone: chosen.zone ?? null, instance_type: chosen.instanceType ?? null, use_spot: chosen.useSpot, hourly_price: chosen.hourlyPrice * task.numNodes } });
    lines.push(`${task.name ?? 'task'}: ${chosen.infra}${chosen.instanceType ? ` ${chosen.instanceType}` : ''}, ${task.numNodes} node(s), $${(chosen.hourlyPrice * task.numNodes).toFixed(2)}/hr`);
  }
  return { plans, text: lines.join('\n') };
}
