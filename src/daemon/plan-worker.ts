// The optimizer's thread. Planning is CPU work that grows with the catalog and with what a task
// asks for (candidates, pipeline tasks); run on the daemon's event loop it would stall every other
// client. This worker keeps the parsed catalog and answers one plan at a time (plan-runner.ts).
import { parentPort } from 'node:worker_threads';
import { loadCatalog } from '../catalog/catalog.js';
import type { Candidate, OptimizeContext } from '../optimizer/index.js';
import type { Task } from '../spec/types.js';
import { UserError, errorMessage } from '../util/errors.js';

export type PlanJob =
  | { op: 'warm' }
  | { op: 'placements'; task: Task; ctx: OptimizeContext }
  | { op: 'text'; tasks: Task[]; ctx: OptimizeContext; explain: boolean };

export type PlanAnswer =
  | { ok: true; value: unknown }
  | { ok: false; error: { message: string; code?: string; user: boolean } };

async function run(job: PlanJob): Promise<unknown> {
  if (job.op === 'warm') return void loadCatalog();
  const opt = await import('../optimizer/index.js');
  if (job.op === 'placements') {
    const plan = opt.planTask(job.task, job.ctx);
    return [plan.chosen, ...plan.failover] satisfies Candidate[];
  }
  const { ignoredFieldsNote } = await import('../optimizer/notes.js');
  const render = (plan: ReturnType<typeof opt.planTask>) => {
    const note = ignoredFieldsNote(plan.chosen.cloud, plan.chosen.resources);
    return opt.renderPlan(plan, { explain: job.explain }) + (note ? `\n\n${note}` : '');
  };
  if (job.tasks.length === 1) {
    const plan = opt.planTask(job.tasks[0]!, job.ctx);
    return { plans: [opt.planToJson(plan)], text: render(plan), chosenClouds: [plan.chosen.cloud] };
  }
  const pipeline = opt.planChain(job.tasks, job.ctx);
  const text = pipeline.plans
    .map((plan, i) => `Task ${i + 1}/${pipeline.plans.length}${plan.task ? ` (${plan.task})` : ''}:\n${render(plan)}`)
    .join('\n\n');
  return {
    plans: pipeline.plans.map((x) => opt.planToJson(x)),
    chosenClouds: pipeline.plans.map((x) => x.chosen.cloud),
    text: `${text}\n\nPipeline (${pipeline.method}): compute + egress ≈ $${pipeline.totalCost.toFixed(2)} (egress $${pipeline.egressCost.toFixed(2)})`,
  };
}

parentPort?.on('message', (job: PlanJob) => {
  run(job).then(
    (value) => parentPort!.postMessage({ ok: true, value } satisfies PlanAnswer),
    (err: unknown) => {
      // UserErrors (nothing can run the task, a bad catalog) cross as what they are: one line.
      const user = err instanceof UserError;
      const error = { message: errorMessage(err), ...(user ? { code: err.code } : {}), user };
      parentPort!.postMessage({ ok: false, error } satisfies PlanAnswer);
    },
  );
});
