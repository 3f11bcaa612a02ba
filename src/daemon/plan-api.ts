// `plan` (what `launch --dryrun` shows): the optimizer's choice, the offerings it weighed, and
// with --explain why each excluded one was excluded. A chain (multi-document YAML) is solved as
// a pipeline by dynamic programming.
import type { ApiMethods } from '../protocol/api.js';
import type { DaemonContext } from './context.js';
import { checkNamedPools, optimizerContext } from './optimize.js';

export async function planText(ctx: DaemonContext, p: ApiMethods['plan']['params']): Promise<ApiMethods['plan']['result']> {
  const opt = await import('../optimizer/index.js');
  await checkNamedPools(ctx, p.tasks);
  const octx = await optimizerContext(ctx, { dryrun: true, tasks: p.tasks });
  if (p.tasks.length === 1) {
    const plan = opt.planTask(p.tasks[0]!, octx);
    return { plans: [opt.planToJson(plan)], text: opt.renderPlan(plan, { explain: p.explain ?? false }) };
  }
  const pipeline = opt.planChain(p.tasks, octx);
  const text = pipeline.plans
    .map((plan, i) => `Task ${i + 1}/${pipeline.plans.length}${plan.task ? ` (${plan.task})` : ''}:\n${opt.renderPlan(plan, { explain: p.explain ?? false })}`)
    .join('\n\n');
  return {
    plans: pipeline.plans.map((x) => opt.planToJson(x)),
    text: `${text}\n\nPipeline (${pipeline.method}): compute + egress ≈ $${pipeline.totalCost.toFixed(2)} (egress $${pipeline.egressCost.toFixed(2)})`,
  };
}
