// Runs plans on the optimizer's worker thread (plan-worker.ts), one at a time, each within a
// deadline: a plan that takes longer is stopped (the worker is terminated and started afresh) and
// the launch or dry run fails with one line. The daemon's event loop never plans.
import { Worker } from 'node:worker_threads';
import { UserError } from '../util/errors.js';
import type { PlanAnswer, PlanJob } from './plan-worker.js';

/** How long one plan may take; tests shorten it (ALOFT_PLAN_DEADLINE_MS, read by the daemon). */
function deadlineMs(): number {
  const v = Number(process.env.ALOFT_PLAN_DEADLINE_MS);
  return Number.isFinite(v) && v > 0 ? v : 20_000;
}

interface Queued {
  job: PlanJob;
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
}

export class PlanRunner {
  private worker: Worker | undefined;
  private queue: Queued[] = [];
  private current: (Queued & { timer: NodeJS.Timeout }) | undefined;

  /** Starts the worker and has it parse the catalogs now, so the first plan does not pay for it. */
  warm(): Promise<void> {
    return this.run({ op: 'warm' }).then(() => undefined);
  }

  run(job: PlanJob): Promise<unknown> {
    return new Promise((resolve, reject) => {
      this.queue.push({ job, resolve, reject });
      this.next();
    });
  }

  close(): void {
    void this.worker?.terminate();
    this.worker = undefined;
  }

  private spawn(): Worker {
    const w = new Worker(new URL('./plan-worker.js', import.meta.url), {
      // A plan that runs away with memory kills this thread, not the daemon.
      resourceLimits: { maxOldGenerationSizeMb: 1024 },
    });
    w.unref();
    w.on('message', (a: PlanAnswer) => this.settle(a.ok ? { value: a.value } : { error: a.error.user ? new UserError(a.error.message, a.error.code) : new Error(a.error.message) }));
    w.on('error', (err: Error & { code?: string }) =>
      this.lost(w, err.code === 'ERR_WORKER_OUT_OF_MEMORY' ? 'planning needed more than 1 GiB of memory (the limit) and was stopped' : `the planner failed: ${err.message}`),
    );
    w.on('exit', (code) => this.lost(w, `the planner stopped (exit code ${code})`));
    return w;
  }

  private next(): void {
    if (this.current || this.queue.length === 0) return;
    const q = this.queue.shift()!;
    this.worker ??= this.spawn();
    const ms = deadlineMs();
    const timer = setTimeout(() => {
      const w = this.worker;
      this.worker = undefined;
      void w?.terminate();
      const secs = ms >= 1000 ? `${ms / 1000}s` : `${ms} ms`;
      this.settle({
        error: new UserError(
          `planning took longer than ${secs} (the limit) and was stopped; a task with fewer resource candidates (or a pipeline with fewer tasks) plans faster`,
          'PLAN_DEADLINE',
        ),
      });
    }, ms);
    this.current = { ...q, timer };
    this.worker.postMessage(q.job);
  }

  private settle(r: { value?: unknown; error?: Error }): void {
    const c = this.current;
    if (!c) return;
    clearTimeout(c.timer);
    this.current = undefined;
    if (r.error) c.reject(r.error);
    else c.resolve(r.value);
    this.next();
  }

  /** The worker died (out of memory, a bug): fail the plan it had, start a new one for the rest. */
  private lost(w: Worker, why: string): void {
    if (this.worker !== w) return; // terminated on purpose
    this.worker = undefined;
    this.settle({ error: new UserError(why, 'PLAN_FAILED') });
  }
}
