// The managed-jobs controller: one durable state machine per job, driven by events from the
// cluster layer (no slow polling). The cluster job may go RUNNING → FAILED → RUNNING across a
// recovery while the managed job goes RUNNING → RECOVERING → RUNNING: churn below never reaches
// the policy above. Every transition is written to the database before acting on it, so a daemon
// killed at any point resumes each job from where it was.

import type { ManagedAttempt, ManagedJobRecord, ManagedJobStatus } from '../../protocol/model.js';
import { TERMINAL_MANAGED_STATUSES } from '../../protocol/model.js';
import type { Task } from '../../spec/types.js';
import { errorMessage } from '../../util/errors.js';
import type { Store } from '../store.js';
import type { ClusterBackend, Observation } from './backend.js';

export interface ControllerOptions {
  /** first backoff between failed launches; doubles each time */
  retryBaseMs: number;
  /** failed launches in a row before FAILED_NO_RESOURCE */
  maxLaunchFailures: number;
  /** how long an unhealthy (agent lost, nodes present) cluster is given before it counts as lost */
  unhealthyGraceMs: number;
  /** safety re-check interval while waiting for events */
  recheckMs: number;
  log?: (id: number, line: string) => void;
  /** where a job's task (with secrets) is kept while it runs; defaults to the store's task column */
  /** the job's task number `index` (pipelines have several; run in order) */
  loadTask(id: number, index: number): Task;
  forgetTask?(id: number): void;
}

export const clusterNameFor = (id: number) => `mj-${id}`;

export class ManagedJobController {
  private wakers = new Map<number, () => void>();
  private running = new Set<number>();
  private unsubscribe: () => void;
  private stopped = false;

  constructor(
    private readonly store: Store,
    private readonly backend: ClusterBackend,
    private readonly opts: ControllerOptions,
  ) {
    this.unsubscribe = backend.onChange((cluster) => {
      const m = /^mj-(\d+)$/.exec(cluster);
      if (m) this.wake(Number(m[1]));
    });
  }

  stop(): void {
    this.stopped = true;
    this.unsubscribe();
    for (const w of this.wakers.values()) w();
  }

  /** Starts driving a job (new, or found active after a restart). */
  start(id: number): void {
    if (this.running.has(id) || this.stopped) return;
    this.running.add(id);
    void this.drive(id)
      .catch((err) => {
        this.note(id, `controller error: ${errorMessage(err)}`);
        this.mutate(id, (j) => this.finish(j, 'FAILED_CONTROLLER', `controller error: ${errorMessage(err)}`));
      })
      .finally(() => {
        this.running.delete(id);
        this.wakers.delete(id);
      });
  }

  resumeAll(): number {
    const active = this.store.activeManaged();
    for (const j of active) {
      this.note(j.id, `resuming in state ${j.status} after a daemon restart`);
      this.start(j.id);
    }
    return active.length;
  }

  cancel(id: number): ManagedJobRecord | undefined {
    const j = this.mutate(id, (cur) => {
      if (TERMINAL_MANAGED_STATUSES.has(cur.status) || cur.status === 'CANCELLING') return cur;
      return { ...cur, status: 'CANCELLING' };
    });
    this.wake(id);
    if (j && !this.running.has(id) && !TERMINAL_MANAGED_STATUSES.has(j.status)) this.start(id);
    return j;
  }

  wake(id: number): void {
    const w = this.wakers.get(id);
    if (w) {
      this.wakers.delete(id);
      w();
    }
  }

  /** Waits for an event about this job's cluster, a cancel, or the safety timeout. */
  private sleep(id: number, ms = this.opts.recheckMs): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      this.wakers.set(id, done);
      function done() {
        clearTimeout(t);
        resolve();
      }
    });
  }

  private note(id: number, line: string): void {
    this.opts.log?.(id, line);
  }

  /** Re-reads the job and applies `fn`; a CANCELLING job only moves to a terminal state. */
  private mutate(id: number, fn: (j: ManagedJobRecord) => ManagedJobRecord): ManagedJobRecord | undefined {
    return this.store.tx(() => {
      const cur = this.store.getManaged(id);
      if (!cur) return undefined;
      let next = fn(cur);
      if (cur.status === 'CANCELLING' && next.status !== 'CANCELLING' && !TERMINAL_MANAGED_STATUSES.has(next.status)) {
        next = { ...next, status: 'CANCELLING' };
      }
      if (next === cur) return cur;
      if (next.status !== cur.status) {
        this.note(id, `${cur.status} → ${next.status}${next.failureReason && next.failureReason !== cur.failureReason ? ` (${next.failureReason})` : ''}`);
        this.timeline(cur, next);
      }
      // RUNNING time is accumulated per stretch, so recoveries do not count as job time.
      const now = Date.now();
      if (cur.status === 'RUNNING' && next.status !== 'RUNNING' && cur.runningSince) {
        next = { ...next, jobDurationMs: next.jobDurationMs + (now - cur.runningSince), runningSince: undefined };
      }
      if (next.status === 'RUNNING' && cur.status !== 'RUNNING') {
        next = { ...next, runningSince: now, startedAt: next.startedAt ?? now };
      }
      return this.store.putManaged(next);
    });
  }

  /** Recoveries and endings go to the daemon's timeline (the dashboard's Events view). */
  private timeline(cur: ManagedJobRecord, next: ManagedJobRecord): void {
    const name = `managed job ${next.id}${next.name ? ` (${next.name})` : ''}`;
    if (next.status === 'RECOVERING') {
      const why = next.attempts[next.attempts.length - 1]?.outcome ?? 'lost its cluster';
      this.store.notice(`${name}: ${why}; recovering (recovery ${next.recoveries})`, 'warn', next.cluster);
    } else if (next.status === 'RUNNING' && cur.status === 'RECOVERING') {
      this.store.notice(`${name}: recovered, running again on ${next.cluster ?? 'a new cluster'}`, 'info', next.cluster);
    } else if (TERMINAL_MANAGED_STATUSES.has(next.status)) {
      this.store.notice(`${name}: ${next.status}${next.failureReason ? ` (${next.failureReason})` : ''}`, next.status === 'SUCCEEDED' || next.status === 'CANCELLED' ? 'info' : 'error', next.cluster);
    }
  }

  private finish(j: ManagedJobRecord, status: ManagedJobStatus, reason?: string): ManagedJobRecord {
    return { ...j, status, endedAt: Date.now(), ...(reason ? { failureReason: reason } : {}) };
  }

  private current(j: ManagedJobRecord): ManagedAttempt | undefined {
    const a = j.attempts[j.attempts.length - 1];
    return a && a.endedAt === undefined ? a : undefined;
  }

  private endAttempt(j: ManagedJobRecord, outcome: string): ManagedJobRecord {
    const attempts = j.attempts.map((a, i) => (i === j.attempts.length - 1 && a.endedAt === undefined ? { ...a, endedAt: Date.now(), outcome } : a));
    return { ...j, attempts };
  }

  private async drive(id: number): Promise<void> {
    while (!this.stopped) {
      const j = this.store.getManaged(id);
      if (!j || TERMINAL_MANAGED_STATUSES.has(j.status)) return;
      if (j.status === 'CANCELLING') {
        await this.finishCancel(j);
        continue;
      }
      if (j.status === 'PENDING') {
        this.mutate(id, (c) => ({ ...c, status: 'STARTING' }));
        continue;
      }
      if (this.current(j)) await this.watch(j);
      else await this.launchAttempt(j);
    }
  }

  private async launchAttempt(j: ManagedJobRecord): Promise<void> {
    const cluster = clusterNameFor(j.id);
    // A cluster left from an attempt we did not record (the daemon died mid-launch) is removed
    // first, so a job never runs twice.
    if (this.backend.exists(cluster)) await this.backend.teardown(cluster);
    let failures = 0;
    let lastError = '';
    while (!this.stopped) {
      const cur = this.store.getManaged(j.id)!;
      if (cur.status === 'CANCELLING' || TERMINAL_MANAGED_STATUSES.has(cur.status)) return;
      const lastRegion = cur.attempts[cur.attempts.length - 1]?.region;
      try {
        const startedAt = Date.now();
        const r = await this.backend.launch({
          cluster,
          task: this.opts.loadTask(j.id, cur.taskIndex ?? 0),
          taskId: cur.taskId,
          managedJobId: j.id,
          avoidRegions: cur.strategy === 'EAGER_NEXT_REGION' ? cur.blockedRegions : [],
          preferRegion: cur.strategy === 'FAILOVER' ? lastRegion : undefined,
        });
        this.mutate(j.id, (c) => ({
          ...c,
          cluster,
          attempts: [...c.attempts, { cluster, clusterUid: r.clusterUid, jobId: r.jobId, region: r.region, startedAt, task: c.taskIndex ?? 0 }],
        }));
        return;
      } catch (err) {
        failures++;
        lastError = errorMessage(err);
        this.note(j.id, `launch attempt failed (${failures}/${this.opts.maxLaunchFailures}): ${lastError}`);
        if (this.backend.exists(cluster)) await this.backend.teardown(cluster).catch(() => undefined);
        if (failures >= this.opts.maxLaunchFailures) {
          this.mutate(j.id, (c) => this.finish(c, 'FAILED_NO_RESOURCE', `no resources after ${failures} launch attempts: ${lastError}`));
          this.opts.forgetTask?.(j.id);
          return;
        }
        await this.sleep(j.id, this.opts.retryBaseMs * 2 ** (failures - 1));
      }
    }
  }

  private async watch(j: ManagedJobRecord): Promise<void> {
    const att = this.current(j)!;
    let unhealthySince: number | undefined;
    while (!this.stopped) {
      const cur = this.store.getManaged(j.id)!;
      if (cur.status === 'CANCELLING' || TERMINAL_MANAGED_STATUSES.has(cur.status)) return;
      const obs: Observation = await this.backend.observe(att.cluster, att.clusterUid!, att.jobId!);
      const job = obs.job;
      if (obs.cluster === 'preempted' || obs.cluster === 'gone') return this.recover(cur, obs.cluster);
      if (obs.cluster === 'unhealthy') {
        unhealthySince ??= Date.now();
        if (Date.now() - unhealthySince >= this.opts.unhealthyGraceMs) return this.recover(cur, 'unreachable');
        await this.sleep(j.id, Math.min(this.opts.recheckMs, this.opts.unhealthyGraceMs));
        continue;
      }
      unhealthySince = undefined;
      if (job?.status === 'RUNNING' && cur.status !== 'RUNNING') this.mutate(j.id, (c) => ({ ...c, status: 'RUNNING' }));
      switch (job?.status) {
        case 'SUCCEEDED':
          if ((cur.taskIndex ?? 0) + 1 < (cur.numTasks ?? 1)) return this.nextTask(cur);
          return this.conclude(cur, 'SUCCEEDED', 'succeeded');
        case 'FAILED_SETUP':
          return this.conclude(cur, 'FAILED_SETUP', 'setup failed', 'setup failed');
        case 'CANCELLED':
          return this.conclude(cur, 'CANCELLED', 'cancelled on the cluster');
        case 'FAILED':
        case 'FAILED_DRIVER': {
          // A failure with the nodes intact is the user's code; with nodes lost it is preemption,
          // which the next observation reports.
          const again = await this.backend.observe(att.cluster, att.clusterUid!, att.jobId!, { deep: true });
          if (again.cluster === 'preempted' || again.cluster === 'gone') return this.recover(cur, again.cluster);
          if (again.cluster === 'unhealthy') {
            // The agent does not answer: the unhealthy grace above decides, on the next looks.
            unhealthySince ??= Date.now();
            await this.sleep(j.id, Math.min(this.opts.recheckMs, this.opts.unhealthyGraceMs));
            continue;
          }
          return this.onUserFailure(cur, job.exitCode);
        }
        default:
          await this.sleep(j.id);
      }
    }
  }

  /** A pipeline task succeeded: the next one starts on a fresh cluster (not a recovery). */
  private async nextTask(j: ManagedJobRecord): Promise<void> {
    const att = this.current(j)!;
    const next = (j.taskIndex ?? 0) + 1;
    this.note(j.id, `task ${next}/${j.numTasks} succeeded; starting task ${next + 1}/${j.numTasks}${j.taskNames?.[next] ? ` (${j.taskNames[next]})` : ''}`);
    this.mutate(j.id, (c) => ({ ...this.endAttempt(c, 'succeeded'), taskIndex: next, status: 'STARTING', blockedRegions: [] }));
    await this.backend.teardown(att.cluster).catch((err) => this.note(j.id, `teardown of ${att.cluster} failed: ${errorMessage(err)}`));
  }

  private async recover(j: ManagedJobRecord, why: string): Promise<void> {
    const att = this.current(j)!;
    const wasRunning = j.status === 'RUNNING';
    this.note(j.id, `cluster ${att.cluster} ${why}; recovering`);
    this.mutate(j.id, (c) => {
      const blocked = att.region && !c.blockedRegions.includes(att.region) ? [...c.blockedRegions, att.region] : c.blockedRegions;
      return {
        ...this.endAttempt(c, why),
        status: 'RECOVERING',
        // An attempt that never ran (interrupted launch) is retried, not counted as a recovery.
        recoveries: c.recoveries + (wasRunning || why === 'preempted' ? 1 : 0),
        blockedRegions: blocked,
      };
    });
    await this.backend.teardown(att.cluster).catch((err) => this.note(j.id, `teardown of ${att.cluster} failed: ${errorMessage(err)}`));
  }

  private async onUserFailure(j: ManagedJobRecord, exitCode: number | undefined): Promise<void> {
    const att = this.current(j)!;
    const byCode = exitCode !== undefined && j.recoverOnExitCodes.includes(exitCode);
    if (byCode || j.restartsOnErrors < j.maxRestartsOnErrors) {
      this.note(j.id, `job failed (exit ${exitCode ?? '?'}); restarting${byCode ? ' (recover_on_exit_codes)' : ` (${j.restartsOnErrors + 1}/${j.maxRestartsOnErrors})`}`);
      const next = this.mutate(j.id, (c) => ({
        ...this.endAttempt(c, `failed (exit ${exitCode ?? '?'})`),
        status: 'RECOVERING',
        restartsOnErrors: c.restartsOnErrors + (byCode ? 0 : 1),
        // recover_on_exit_codes restarts are unlimited, as in SkyPilot, and counted as recoveries.
        recoveries: c.recoveries + (byCode ? 1 : 0),
      }));
      await this.backend.teardown(att.cluster).catch(() => undefined);
      // A job that keeps failing at once must not relaunch in a tight loop: back off, doubling
      // with each consecutive failed attempt (capped at a minute).
      const streak = trailingFailures(next);
      if (streak > 1) await this.sleep(j.id, Math.min(this.opts.retryBaseMs * 2 ** (streak - 2), 60_000));
      return;
    }
    await this.conclude(j, 'FAILED', `failed (exit ${exitCode ?? '?'})`, `job failed with exit code ${exitCode ?? '?'}`);
  }

  private async conclude(j: ManagedJobRecord, status: ManagedJobStatus, outcome: string, reason?: string): Promise<void> {
    const att = this.current(j);
    // The record changes first: if the daemon dies during teardown, the job is still concluded
    // and the cluster is an ordinary one `aloft down` can remove.
    this.mutate(j.id, (c) => this.finish(this.endAttempt(c, outcome), status, reason));
    this.opts.forgetTask?.(j.id);
    if (att) await this.backend.teardown(att.cluster).catch((err) => this.note(j.id, `teardown failed: ${errorMessage(err)}`));
  }

  private async finishCancel(j: ManagedJobRecord): Promise<void> {
    const att = this.current(j);
    if (att?.jobId !== undefined) await this.backend.cancelJob(att.cluster, att.jobId).catch(() => undefined);
    const cluster = att?.cluster ?? clusterNameFor(j.id);
    await this.backend.teardown(cluster).catch((err) => this.note(j.id, `teardown failed: ${errorMessage(err)}`));
    this.mutate(j.id, (c) => this.finish(this.endAttempt(c, 'cancelled'), 'CANCELLED'));
    this.opts.forgetTask?.(j.id);
  }
}

/** How many of the job's latest attempts in a row ended with the user's code failing. */
function trailingFailures(j: ManagedJobRecord | undefined): number {
  let n = 0;
  for (let i = (j?.attempts.length ?? 0) - 1; i >= 0 && j!.attempts[i]!.outcome?.startsWith('failed (exit'); i--) n++;
  return n;
}
