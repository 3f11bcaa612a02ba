// The managed-jobs state machine over the in-process simulated cluster layer (real SQLite).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/daemon/db.js';
import { ManagedJobController } from '../../src/daemon/managed/controller.js';
import { SimBackend, type SimOptions } from '../../src/daemon/managed/sim-backend.js';
import { Store } from '../../src/daemon/store.js';
import type { ManagedJobRecord, ManagedJobStatus } from '../../src/protocol/model.js';
import type { Task } from '../../src/spec/types.js';

const task: Task = {
  numNodes: 1,
  resources: { mode: 'single', candidates: [{ infra: {}, useSpot: true, ports: [], labels: {} }] },
  envs: {},
  secrets: {},
  fileMounts: [],
  run: 'train',
};

const controllers: ManagedJobController[] = [];
afterEach(() => {
  for (const c of controllers.splice(0)) c.stop();
});

function setup(sim: Partial<SimOptions>, path = join(mkdtempSync(join(tmpdir(), 'aloft-mj-')), 'state.db')) {
  const store = new Store(openDatabase(path));
  const backend = new SimBackend({
    regions: ['us-east-1', 'us-west-2', 'eu-west-1'],
    launchMs: 5,
    runMs: () => 60,
    exitCode: () => 0,
    ...sim,
  });
  const lines: string[] = [];
  const controller = new ManagedJobController(store, backend, {
    retryBaseMs: 10,
    maxLaunchFailures: 3,
    unhealthyGraceMs: 50,
    recheckMs: 1000,
    loadTask: () => task,
    log: (id, l) => lines.push(`${id} ${l}`),
  });
  controllers.push(controller);
  return { store, backend, controller, lines, path };
}

function submit(store: Store, controller: ManagedJobController, extra: Partial<ManagedJobRecord> = {}): number {
  const j = store.createManaged(
    {
      status: 'PENDING',
      resources: '1x[CPU:0.5]',
      submittedAt: Date.now(),
      jobDurationMs: 0,
      recoveries: 0,
      restartsOnErrors: 0,
      strategy: 'EAGER_NEXT_REGION',
      maxRestartsOnErrors: 0,
      recoverOnExitCodes: [],
      taskId: 'task-1',
      attempts: [],
      blockedRegions: [],
      useSpot: true,
      ...extra,
    },
    task,
  );
  controller.start(j.id);
  return j.id;
}

async function until(store: Store, id: number, pred: (j: ManagedJobRecord) => boolean, ms = 5000): Promise<ManagedJobRecord> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const j = store.getManaged(id)!;
    if (pred(j)) return j;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`timeout; job is ${JSON.stringify(store.getManaged(id))}`);
}

const is = (...s: ManagedJobStatus[]) => (j: ManagedJobRecord) => s.includes(j.status);

describe('managed-job controller', () => {
  it('survives two preemptions and succeeds, moving away from lost regions', async () => {
    const { store, backend, controller } = setup({ runMs: () => 200 });
    const id = submit(store, controller);
    const statuses: string[] = [];
    store.on('event', (e) => e.managed?.id === id && statuses.push(e.managed.status));
    await until(store, id, is('RUNNING'));
    backend.preempt('mj-' + id);
    await until(store, id, (j) => j.status === 'RUNNING' && j.recoveries === 1);
    backend.preempt('mj-' + id);
    const done = await until(store, id, is('SUCCEEDED'));
    expect(done.recoveries).toBe(2);
    expect(done.attempts.map((a) => a.outcome)).toEqual(['preempted', 'preempted', 'succeeded']);
    expect(backend.launchRegions).toEqual(['us-east-1', 'us-west-2', 'eu-west-1']);
    expect(statuses).toContain('RECOVERING');
    expect(done.taskId).toBe('task-1');
    expect(backend.clusters.size).toBe(0);
  });

  it('a job that fails a moment before its node is reclaimed is recovered, not blamed on the user', async () => {
    // The job's processes die (SIGTERM, exit 143) and the failure is mirrored while the cluster
    // still looks UP; only the provider knows the node is gone. With no restart budget, calling it
    // the user's failure would end the job FAILED.
    const { store, backend, controller } = setup({ runMs: () => 200 });
    const id = submit(store, controller);
    await until(store, id, is('RUNNING'));
    backend.preempt('mj-' + id, { statusLags: true, exitCode: 143 });
    const done = await until(store, id, is('SUCCEEDED', 'FAILED'));
    expect(done.status).toBe('SUCCEEDED');
    expect(done.recoveries).toBe(1);
    expect(done.attempts.map((a) => a.outcome)).toEqual(['preempted', 'succeeded']);
  });

  it('FAILOVER retries the same region first', async () => {
    const { store, backend, controller } = setup({ runMs: () => 200 });
    const id = submit(store, controller, { strategy: 'FAILOVER' });
    await until(store, id, is('RUNNING'));
    backend.preempt('mj-' + id);
    await until(store, id, is('SUCCEEDED'));
    expect(backend.launchRegions).toEqual(['us-east-1', 'us-east-1']);
  });

  it('restarts a failing job up to max_restarts_on_errors, then FAILED', async () => {
    const { store, backend, controller } = setup({ exitCode: () => 7 });
    const id = submit(store, controller, { maxRestartsOnErrors: 2 });
    const done = await until(store, id, is('FAILED'));
    expect(done.restartsOnErrors).toBe(2);
    expect(done.recoveries).toBe(0);
    expect(backend.launches).toBe(3);
    expect(done.failureReason).toContain('exit code 7');
  });

  it('recovers on listed exit codes without spending the restart budget', async () => {
    const { store, controller } = setup({ exitCode: (_c, n) => (n < 3 ? 42 : 0) });
    const id = submit(store, controller, { recoverOnExitCodes: [42] });
    const done = await until(store, id, is('SUCCEEDED'));
    expect(done.restartsOnErrors).toBe(0);
    expect(done.recoveries).toBe(2);
    expect(done.attempts).toHaveLength(3);
  });

  it('backs off between restarts of a job that keeps failing at once', async () => {
    // retryBaseMs is 10: waits of 10, 20, 40 ms before attempts 3, 4, 5 (none before the 2nd).
    const { store, controller } = setup({ runMs: () => 0, exitCode: (_c, n) => (n < 5 ? 42 : 0) });
    const id = submit(store, controller, { recoverOnExitCodes: [42] });
    const done = await until(store, id, is('SUCCEEDED'));
    const gaps = done.attempts.slice(1).map((a, i) => a.startedAt - done.attempts[i]!.endedAt!);
    expect(gaps).toHaveLength(4);
    // 80 % of each wait: libuv starts timers from a cached loop time, so they can fire a little early.
    expect(gaps[1]).toBeGreaterThanOrEqual(8);
    expect(gaps[2]).toBeGreaterThanOrEqual(16);
    expect(gaps[3]).toBeGreaterThanOrEqual(32);
  });

  it('gives up with FAILED_NO_RESOURCE when launches keep failing', async () => {
    const { store, controller, backend } = setup({
      beforeLaunch: () => {
        throw new Error('InsufficientInstanceCapacity');
      },
    });
    const id = submit(store, controller);
    const done = await until(store, id, is('FAILED_NO_RESOURCE'));
    expect(done.failureReason).toContain('InsufficientInstanceCapacity');
    expect(backend.launches).toBe(3);
  });

  it('cancels in every state and leaves no cluster', async () => {
    for (const when of ['PENDING', 'STARTING', 'RUNNING', 'RECOVERING'] as const) {
      const { store, backend, controller } = setup({ launchMs: 80, runMs: () => 5000 });
      let id: number;
      if (when === 'PENDING') {
        const j = store.createManaged(
          { status: 'PENDING', resources: '', submittedAt: Date.now(), jobDurationMs: 0, recoveries: 0, restartsOnErrors: 0, strategy: 'EAGER_NEXT_REGION', maxRestartsOnErrors: 0, recoverOnExitCodes: [], taskId: 't', attempts: [], blockedRegions: [], useSpot: false },
          task,
        );
        id = j.id;
        controller.cancel(id);
      } else {
        id = submit(store, controller);
        if (when === 'STARTING') await until(store, id, is('STARTING'));
        if (when === 'RUNNING') await until(store, id, is('RUNNING'));
        if (when === 'RECOVERING') {
          await until(store, id, is('RUNNING'));
          backend.preempt('mj-' + id);
          await until(store, id, is('RECOVERING'));
        }
        controller.cancel(id);
      }
      const done = await until(store, id, is('CANCELLED'));
      expect(done.status, when).toBe('CANCELLED');
      await new Promise((r) => setTimeout(r, 120));
      expect(backend.clusters.size, when).toBe(0);
    }
  });

  it('runs a pipeline task by task, recovering a preempted task without rerunning the ones before', async () => {
    const { store, backend, controller } = setup({ runMs: (_c, n) => (n === 2 ? 300 : 40) });
    const id = submit(store, controller, { numTasks: 3, taskIndex: 0, taskNames: ['prep', 'train', 'eval'] });
    await until(store, id, (j) => j.taskIndex === 1 && j.status === 'RUNNING');
    backend.preempt('mj-' + id);
    const done = await until(store, id, is('SUCCEEDED'));
    expect(done.attempts.map((a) => [a.task, a.outcome])).toEqual([
      [0, 'succeeded'],
      [1, 'preempted'],
      [1, 'succeeded'],
      [2, 'succeeded'],
    ]);
    expect(done.recoveries).toBe(1);
    expect(done.taskIndex).toBe(2);
  });

  it('a new controller over the same database resumes a job mid-recovery', async () => {
    const first = setup({ runMs: () => 300 });
    const id = submit(first.store, first.controller);
    await until(first.store, id, is('RUNNING'));
    first.controller.stop(); // the daemon dies
    first.backend.preempt('mj-' + id);
    const second = new ManagedJobController(first.store, first.backend, {
      retryBaseMs: 10,
      maxLaunchFailures: 3,
      unhealthyGraceMs: 50,
      recheckMs: 1000,
      loadTask: () => task,
    });
    controllers.push(second);
    expect(second.resumeAll()).toBe(1);
    const done = await until(first.store, id, is('SUCCEEDED'));
    expect(done.recoveries).toBe(1);
  });
});
