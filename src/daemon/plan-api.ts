// `plan` (what `launch --dryrun` shows): the optimizer's choice, the offerings it weighed, and
// with --explain why each excluded one was excluded. A chain (multi-document YAML) is solved as
// a pipeline by dynamic programming.
import type { ApiMethods } from '../protocol/api.js';
import type { Task } from '../spec/types.js';
import type { DaemonContext } from './context.js';
import { checkNamedPools, optimizerContext } from './optimize.js';
import { ignoredFieldsNote } from './planning.js';
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
  const opt = await import('../optimizer/index.js');
  await checkNamedPools(ctx, p.tasks);
  const octx = await optimizerContext(ctx, { dryrun: true });
  const render = (plan: ReturnType<typeof opt.planTask>) => {
    const note = ignoredFieldsNote(plan.chosen.cloud, plan.chosen.resources);
    return opt.renderPlan(plan, { explain: p.explain ?? false }) + (note ? `\n\n${note}` : '');
  };
  if (p.tasks.length === 1) {
    const plan = opt.planTask(p.tasks[0]!, octx);
    await checkLikeLaunch(ctx, p.tasks[0]!, plan.chosen.cloud);
    return { plans: [opt.planToJson(plan)], text: render(plan) };
  }
  const pipeline = opt.planChain(p.tasks, octx);
  for (const [i, plan] of pipeline.plans.entries()) await checkLikeLaunch(ctx, p.tasks[i]!, plan.chosen.cloud);
  const text = pipeline.plans
    .map((plan, i) => `Task ${i + 1}/${pipeline.plans.length}${plan.task ? ` (${plan.task})` : ''}:\n${render(plan)}`)
    .join('\n\n');
  return {
    plans: pipeline.plans.map((x) => opt.planToJson(x)),
    text: `${text}\n\nPipeline (${pipeline.method}): compute + egress ≈ $${pipeline.totalCost.toFixed(2)} (egress $${pipeline.egressCost.toFixed(2)})`,
  };
}
