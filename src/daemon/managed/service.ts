// Managed jobs as the daemon serves them: submit, queue, cancel, logs across recoveries, and the
// controller's own log. A job's task is stored without secret values; the values are kept in a
// 0600 file under ALOFT_HOME/managed/ while the job is active (a relaunch after a preemption or a
// daemon restart needs them) and deleted when it ends.

import { appendFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LogStreamItem } from '../../protocol/api.js';
import type { ManagedJobRecord } from '../../protocol/model.js';
import { TERMINAL_MANAGED_STATUSES } from '../../protocol/model.js';
import type { Task } from '../../spec/types.js';
import { redactSecrets } from '../../spec/redact.js';
import { UserError } from '../../util/errors.js';
import { shortId } from '../../util/names.js';
import type { DaemonContext } from '../context.js';
import { describeDemand, demandOf } from '../pipeline/jobs.js';
import { DaemonBackend } from './backend.js';
import { ManagedJobController } from './controller.js';

export interface ManagedSubmit {
  task: Task;
  /** a pipeline: these tasks run in order, each on its own cluster (`task` is the first) */
  tasks?: Task[];
  name?: string;
  strategy?: 'EAGER_NEXT_REGION' | 'FAILOVER';
}

export class ManagedJobs {
  readonly controller: ManagedJobController;
  private readonly dir: string;

  constructor(private readonly ctx: DaemonContext) {
    this.dir = join(ctx.home, 'managed');
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const retryBaseMs = Number(process.env.ALOFT_MANAGED_RETRY_BASE_MS ?? '2000');
    this.controller = new ManagedJobController(ctx.store, new DaemonBackend(ctx), {
      retryBaseMs,
      maxLaunchFailures: Number(process.env.ALOFT_MANAGED_MAX_LAUNCH_FAILURES ?? '6'),
      unhealthyGraceMs: 3000,
      recheckMs: 5000,
      log: (id, line) => this.log(id, line),
      loadTask: (id, index) => this.loadTask(id, index),
      forgetTask: (id) => rmSync(this.secretsPath(id), { force: true }),
    });
  }

  private secretsPath(id: number): string {
    return join(this.dir, `${id}.secrets.json`);
  }

  controllerLogPath(id: number): string {
    return join(this.dir, `${id}.controller.log`);
  }

  private log(id: number, line: string): void {
    appendFileSync(this.controllerLogPath(id), `${new Date().toISOString()} ${line}\n`, { mode: 0o600 });
  }

  private loadTask(id: number, index: number): Task {
    const stored = this.ctx.store.managedTask(id) as Task | { pipeline: Task[] };
    const task = 'pipeline' in stored ? stored.pipeline[index]! : stored;
    const path = this.secretsPath(id);
    const all = existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as Record<string, string>[] | Record<string, string>) : {};
    const secrets = Array.isArray(all) ? (all[index] ?? {}) : all;
    return { ...task, secrets };
  }

  submit(p: ManagedSubmit, user?: string): ManagedJobRecord {
    const tasks = p.tasks && p.tasks.length > 0 ? p.tasks : [p.task];
    const task = tasks[0]!;
    const spec = task.resources.candidates[0];
    const recovery = spec?.jobRecovery;
    // Secret values never go to the database: the stored task keeps their names only.
    const stored = tasks.length > 1 ? { pipeline: tasks.map(redactSecrets) } : redactSecrets(task);
    const secretValues = tasks.length > 1 ? tasks.map((t) => t.secrets) : task.secrets;
    const record = this.ctx.store.createManaged(
      {
        name: p.name ?? task.name,
        status: 'PENDING',
        resources: describeDemand(task.numNodes, demandOf(task)) + (spec?.useSpot ? ' [spot]' : ''),
        submittedAt: Date.now(),
        jobDurationMs: 0,
        recoveries: 0,
        restartsOnErrors: 0,
        strategy: p.strategy ?? recovery?.strategy ?? 'EAGER_NEXT_REGION',
        maxRestartsOnErrors: recovery?.maxRestartsOnErrors ?? 0,
        recoverOnExitCodes: recovery?.recoverOnExitCodes ?? [],
        taskId: `sky-managed-${new Date().toISOString().replace(/[-:T]/g, '').slice(0, 14)}-${shortId(3)}`,
        attempts: [],
        blockedRegions: [],
        useSpot: spec?.useSpot ?? false,
        ...(tasks.length > 1 ? { numTasks: tasks.length, taskIndex: 0, taskNames: tasks.map((t, i) => t.name ?? `task-${i + 1}`) } : {}),
        ...(user ? { user } : {}),
      },
      stored,
    );
    if (tasks.some((t) => Object.keys(t.secrets).length > 0)) {
      writeFileSync(this.secretsPath(record.id), JSON.stringify(secretValues), { mode: 0o600 });
    }
    this.log(record.id, `submitted${record.name ? ` (${record.name})` : ''}: ${record.resources}, strategy ${record.strategy}`);
    this.controller.start(record.id);
    return record;
  }

  resolve(ids: number[] | undefined, name: string | undefined, all: boolean): ManagedJobRecord[] {
    const jobs = this.ctx.store.listManaged();
    if (all) return jobs.filter((j) => !TERMINAL_MANAGED_STATUSES.has(j.status));
    if (name !== undefined) {
      const found = jobs.filter((j) => j.name === name && !TERMINAL_MANAGED_STATUSES.has(j.status));
      if (found.length === 0) throw new UserError(`no active managed job named '${name}'`);
      return found;
    }
    if (!ids || ids.length === 0) throw new UserError('say which managed jobs to cancel (IDs, -n NAME or -a)');
    return ids.map((id) => {
      const j = this.ctx.store.getManaged(id);
      if (!j) throw new UserError(`managed job ${id} does not exist (see \`aloft jobs queue\`)`);
      return j;
    });
  }

  cancel(jobs: ManagedJobRecord[]): number[] {
    const out: number[] = [];
    for (const j of jobs) {
      if (TERMINAL_MANAGED_STATUSES.has(j.status)) continue;
      this.controller.cancel(j.id);
      out.push(j.id);
    }
    return out;
  }

  /** Logs across every attempt, then (with follow) the live attempt until the job ends. */
  async streamLogs(
    q: { id?: number; name?: string; follow: boolean; controller: boolean },
    send: (i: LogStreamItem) => void,
    signal: AbortSignal,
  ): Promise<void> {
    const { store } = this.ctx;
    let job: ManagedJobRecord | undefined;
    if (q.id !== undefined) job = store.getManaged(q.id);
    else if (q.name !== undefined) job = store.listManaged().find((j) => j.name === q.name);
    else job = store.listManaged(1)[0];
    if (!job) throw new UserError(q.id !== undefined ? `managed job ${q.id} does not exist` : 'no managed jobs yet');
    const id = job.id;
    if (q.controller) {
      const path = this.controllerLogPath(id);
      send({ type: 'text', text: existsSync(path) ? readFileSync(path, 'utf8') : '' });
      send({ type: 'end', job: null });
      return;
    }
    let shown = 0; // attempts fully printed
    const { streamClusterLog } = await import('./logs.js');
    while (!signal.aborted) {
      job = store.getManaged(id)!;
      const terminal = TERMINAL_MANAGED_STATUSES.has(job.status);
      while (shown < job.attempts.length) {
        const a = job.attempts[shown]!;
        if (a.endedAt === undefined) break;
        if (job.attempts.length > 1) send({ type: 'text', text: `(aloft) ${attemptLabel(job, shown)}: ${a.outcome}\n` });
        await streamClusterLog(this.ctx, a, false, send, signal);
        shown++;
      }
      if (terminal) break;
      const live = job.attempts[shown];
      if (!q.follow) {
        // --no-follow: what the running attempt has printed so far, then stop.
        if (live && live.endedAt === undefined && live.jobId !== undefined) {
          if (job.attempts.length > 1) send({ type: 'text', text: `(aloft) ${attemptLabel(job, shown)}\n` });
          await streamClusterLog(this.ctx, live, false, send, signal);
        }
        break;
      }
      if (live && live.endedAt === undefined && live.jobId !== undefined) {
        if (job.attempts.length > 1) send({ type: 'text', text: `(aloft) ${attemptLabel(job, shown)}\n` });
        await streamClusterLog(this.ctx, live, true, send, signal);
        // The attempt's log ended: the job finished or the cluster went away. Either way, look again.
        const after = store.getManaged(id)!;
        if (after.attempts[shown]?.endedAt === undefined && !TERMINAL_MANAGED_STATUSES.has(after.status)) {
          await waitForChange(this.ctx, id, signal);
        }
        if (store.getManaged(id)!.attempts[shown]?.endedAt !== undefined) shown++;
        continue;
      }
      await waitForChange(this.ctx, id, signal);
    }
    send({ type: 'end', job: null });
  }
}

/** `attempt 2 on mj-1 (us-east-1)`; in a pipeline `task 2/3 (train), attempt 1 on …` (attempts count per task). */
function attemptLabel(job: ManagedJobRecord, i: number): string {
  const a = job.attempts[i]!;
  const task = a.task ?? 0;
  const n = job.attempts.slice(0, i + 1).filter((x) => (x.task ?? 0) === task).length;
  const where = ` on ${a.cluster}${a.region ? ` (${a.region})` : ''}`;
  if (!job.numTasks || job.numTasks < 2) return `attempt ${n}${where}`;
  return `task ${task + 1}/${job.numTasks}${job.taskNames?.[task] ? ` (${job.taskNames[task]})` : ''}, attempt ${n}${where}`;
}

function waitForChange(ctx: DaemonContext, id: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const onEvent = (e: { managed?: ManagedJobRecord }) => {
      if (e.managed?.id === id) done();
    };
    const t = setTimeout(done, 2000);
    ctx.store.on('event', onEvent);
    signal.addEventListener('abort', done, { once: true });
    function done() {
      clearTimeout(t);
      ctx.store.off('event', onEvent);
      resolve();
    }
  });
}
