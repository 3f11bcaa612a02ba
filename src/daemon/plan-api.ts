// `plan` (what `launch --dryrun` shows): the optimizer's choice, the offerings it weighed, and
// with --explain why each excluded one was excluded. A chain (multi-document YAML) is solved as
// a pipeline by dynamic programming. The planning itself runs on the optimizer's thread.
import type { ApiMethods } from '../protocol/api.js';
import type { Task } from '../spec/types.js';
import type { DaemonContext } from './context.js';
import { checkNamedPools, optimizerContext } from './optimize.js';
import { mountDestination } from './pipeline/sync.js';
import { getProvider, PROVISIONABLE } from './providers.js';

/**
 * What a launch would refuse after planning, a dry run refuses too (the same line): file-mount
 * destinations the chosen infra cannot honour.
 */
async function checkLikeLaunch(ctx: DaemonContext, task: Task, cloud: string): Promise<void> {
  if (!PROVISIONABLE.includes(cloud)) return;
  const provider = await getProvider(cloud, ctx.home);
  for (const m of task.fileMounts) await mountDestination(provider, m.dest);
}

export async function planText(ctx: DaemonContext, p: ApiMethods['plan']['params']): Promise<ApiMethods['plan']['result']> {
  await checkNamedPools(ctx, p.tasks);
  const octx = await optimizerContext(ctx, { dryrun: true, tasks: p.tasks });
  const r = (await ctx.planner.run({ op: 'text', tasks: p.tasks, ctx: octx, explain: p.explain ?? false })) as ApiMethods['plan']['result'] & {
    chosenClouds: string[];
  };
  for (const [i, cloud] of r.chosenClouds.entries()) await checkLikeLaunch(ctx, p.tasks[i]!, cloud);
  return { plans: r.plans, text: r.text };
}
