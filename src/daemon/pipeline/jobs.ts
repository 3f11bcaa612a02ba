// Turns a task into the agent's job submission.
import type { JobSubmission } from '../../agent/protocol.js';
import type { JobDemand } from '../../protocol/model.js';
import type { Task } from '../../spec/types.js';
import { WORKDIR_ON_NODE } from './sync.js';

/** SkyPilot's default demand for a job that asks for nothing: half a CPU, so several share a node. */
export const DEFAULT_JOB_CPUS = 0.5;

export function demandOf(task: Task): JobDemand {
  const spec = task.resources.candidates[0];
  const acc = spec?.accelerators?.[0];
  return {
    cpus: spec?.cpus ? spec.cpus.value : DEFAULT_JOB_CPUS,
    gpus: acc ? acc.count : 0,
    ...(acc ? { accelerator: acc.name } : {}),
  };
}

export function describeDemand(numNodes: number, d: JobDemand): string {
  const parts = [`CPU:${d.cpus}`];
  if (d.gpus > 0) parts.push(`${d.accelerator ?? 'GPU'}:${d.gpus}`);
  return `${numNodes}x[${parts.join(', ')}]`;
}

export function submissionOf(
  task: Task,
  opts: { withSetup: boolean; extraEnv?: Record<string, string>; taskId?: string; requestId?: string; user?: string },
): JobSubmission | undefined {
  const setup = opts.withSetup ? task.setup : undefined;
  if (!task.run && !setup) return undefined;
  return {
    name: task.name,
    run: task.run ?? '',
    ...(setup ? { setup } : {}),
    envs: task.envs,
    secrets: task.secrets,
    numNodes: task.numNodes,
    demand: demandOf(task),
    workdir: WORKDIR_ON_NODE,
    ...(opts.taskId ? { taskId: opts.taskId } : {}),
    ...(opts.extraEnv ? { extraEnv: opts.extraEnv } : {}),
    ...(opts.user ? { user: opts.user } : {}),
    ...(opts.requestId ? { requestId: opts.requestId } : {}),
  };
}
