// `plan` (what `launch --dryrun` shows): the optimizer's choice, the offerings it weighed, and
// with --explain why each excluded one was excluded. A chain (multi-document YAML) is solved as
// a pipeline by dynamic programming. The planning itself runs on the optimizer's thread.
import type { ApiMethods } from '../protocol/api.js';
import type { DaemonContext } from './context.js';
import { checkNamedPools, optimizerContext } from './optimize.js';

export async function planText(ctx: DaemonContext, p: ApiMethods['plan']['params']): Promise<ApiMethods['plan']['result']> {
  await checkNamedPools(ctx, p.tasks);
  const octx = await optimizerContext(ctx, { dryrun: true, tasks: p.tasks });
  return (await ctx.planner.run({ op: 'text', tasks: p.tasks, ctx: octx, explain: p.explain ?? false })) as ApiMethods['plan']['result'];
}
