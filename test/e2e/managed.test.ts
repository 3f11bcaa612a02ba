// Issue 7: managed jobs on the real local infra, with real preemptions (`aloft local preempt`).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeHome, waitFor, type AloftEnv } from '../helpers/cli.js';
import { writeCheckpointJob } from '../helpers/checkpoint-job.js';

interface MJ {
  id: number;
  name: string;
  status: string;
  recoveries: number;
  cluster?: string;
  restartsOnErrors: number;
}

describe('managed jobs on local spot', () => {
  let a: AloftEnv;
  let dir: string;
  beforeAll(() => {
    a = makeHome();
    dir = mkdtempSync(join(tmpdir(), 'aloft-mj-'));
  });
  afterAll(async () => {
    await a.cleanup();
  });

  const queue = async (): Promise<MJ[]> => JSON.parse((await a.run(['jobs', 'queue', '-o', 'json'])).stdout);
  const job = async (id: number) => (await queue()).find((j) => j.id === id)!;
  const clusters = async (): Promise<Array<{ name: string }>> => JSON.parse((await a.run(['status', '-o', 'json'])).stdout);

  it('a spot job preempted twice resumes from its checkpoint and succeeds with 2 recoveries', async () => {
    const train = writeCheckpointJob(dir, { infra: 'local', steps: 40, stepSeconds: 0.1, tag: ' task=$SKYPILOT_TASK_ID mj=$SKYPILOT_MANAGED_JOB_ID' });
    const r = await a.run(['jobs', 'launch', '-y', '-d', train.yaml]);
    expect(r.code).toBe(0);
    const [first] = await queue();
    const id = first!.id;
    for (let i = 1; i <= 2; i++) {
      await waitFor(async () => {
        const j = await job(id);
        return j.status === 'RUNNING' && j.recoveries === i - 1 && train.step() >= i * 8;
      }, 30_000, `running before preemption ${i}`);
      const p = await a.run(['local', 'preempt', `mj-${id}`]);
      expect(p.code).toBe(0);
      await waitFor(async () => (await job(id)).recoveries === i, 10_000, `recovery ${i}`).catch(async (err) => {
        const ctl = (await a.run(['jobs', 'logs', String(id), '--controller', '--no-follow'])).stdout;
        const daemon = (await a.run(['daemon', 'logs'])).stdout.split('\n').slice(-40).join('\n');
        throw new Error(`${String(err)}\njob: ${JSON.stringify(await job(id))}\ncontroller:\n${ctl}\ndaemon:\n${daemon}`);
      });
    }
    const done = await waitFor(async () => {
      const j = await job(id);
      return j.status === 'SUCCEEDED' ? j : undefined;
    }, 60_000, 'SUCCEEDED');
    expect(done.recoveries).toBe(2);
    const logs = await a.run(['jobs', 'logs', String(id), '--no-follow']);
    const resumes = [...logs.stdout.matchAll(/resume from (\d+) task=(\S+) mj=(\d+)/g)];
    // On failure, show what the user would have seen: the attempts' logs and the controller's log.
    const why = async () => `logs:\n${logs.stdout}\ncontroller:\n${(await a.run(['jobs', 'logs', String(id), '--controller', '--no-follow'])).stdout}`;
    if (resumes.length !== 3) expect.fail(await why());
    expect(Number(resumes[1]![1])).toBeGreaterThanOrEqual(8);
    expect(Number(resumes[2]![1])).toBeGreaterThan(Number(resumes[1]![1]));
    expect(new Set(resumes.map((m) => m[2])).size).toBe(1); // SKYPILOT_TASK_ID stable
    expect(resumes.every((m) => m[3] === String(id))).toBe(true);
    expect(logs.stdout).toContain('finished at 40');
    const ctl = await a.run(['jobs', 'logs', String(id), '--controller', '--no-follow']);
    expect(ctl.stdout).toMatch(/RUNNING → RECOVERING/);
    await waitFor(async () => (await clusters()).length === 0, 15_000, 'no cluster left');
  });

  it('runs a pipeline (multi-document YAML) task by task, each on its own cluster', async () => {
    const yaml = join(dir, 'pipe.yaml');
    writeFileSync(yaml, `name: pipe\n---\nname: prep\nresources:\n  infra: local\nrun: echo "prep done $SKYPILOT_TASK_ID"\n---\nname: train\nresources:\n  infra: local\nrun: echo "train done $SKYPILOT_TASK_ID"\n`);
    const r = await a.run(['jobs', 'launch', '-y', yaml]);
    expect(r.code).toBe(0);
    const j = (await queue()).find((x) => x.name === 'pipe')!;
    expect(j.status).toBe('SUCCEEDED');
    const logs = await a.run(['jobs', 'logs', String(j.id), '--no-follow']);
    expect(logs.stdout).toMatch(/task 1\/2 \(prep\), attempt 1 on [^\n]*succeeded\n[^]*prep done/);
    expect(logs.stdout).toMatch(/task 2\/2 \(train\), attempt 1 on [^\n]*succeeded\n[^]*train done/);
    await waitFor(async () => (await clusters()).length === 0, 15_000, 'no cluster left');
  });

  it('a failing job restarts up to max_restarts_on_errors, then FAILED', async () => {
    const yaml = join(dir, 'fail.yaml');
    writeFileSync(yaml, `name: flaky\nresources:\n  infra: local\n  job_recovery:\n    max_restarts_on_errors: 2\nrun: echo attempt; exit 5\n`);
    const r = await a.run(['jobs', 'launch', '-y', yaml]);
    expect(r.code).not.toBe(0);
    const j = (await queue()).find((x) => x.name === 'flaky')!;
    expect(j.status).toBe('FAILED');
    expect(j.restartsOnErrors).toBe(2);
    const logs = await a.run(['jobs', 'logs', String(j.id), '--no-follow']);
    expect(logs.stdout.match(/^attempt$/gm)).toHaveLength(3);
    await waitFor(async () => (await clusters()).length === 0, 15_000, 'no cluster left');
  });

  it('cancel while STARTING and while RUNNING leaves no cluster', async () => {
    const starting = await a.run(['jobs', 'launch', '-y', '-d', '-n', 'c1', '--infra', 'local', '--', 'sleep', '600']);
    expect(starting.code).toBe(0);
    const c1 = (await queue()).find((x) => x.name === 'c1')!;
    expect((await a.run(['jobs', 'cancel', '-y', String(c1.id)])).code).toBe(0);
    await a.run(['jobs', 'launch', '-y', '-d', '-n', 'c2', '--infra', 'local', '--', 'sleep', '600']);
    const c2 = (await queue()).find((x) => x.name === 'c2')!;
    await waitFor(async () => (await job(c2.id)).status === 'RUNNING', 30_000, 'c2 RUNNING');
    // Its cluster belongs to the controller: `stop` is refused (it would end the job for good).
    const cl = (await job(c2.id)).cluster!;
    const stop = await a.run(['stop', '-y', cl]);
    expect(stop.code).toBe(1);
    expect(stop.stderr.trim()).toBe(`aloft: cluster '${cl}' runs managed job ${c2.id}; its controller owns it (cancel the job with \`aloft jobs cancel ${c2.id}\`)`);
    expect((await a.run(['stop', '-y', '-a'])).stderr.trim()).toBe('aloft: no cluster to stop');
    expect((await job(c2.id)).status).toBe('RUNNING');
    expect((await a.run(['jobs', 'cancel', '-y', '-n', 'c2'])).code).toBe(0);
    await waitFor(async () => (await job(c1.id)).status === 'CANCELLED' && (await job(c2.id)).status === 'CANCELLED', 30_000, 'both CANCELLED');
    await waitFor(async () => (await clusters()).length === 0, 15_000, 'no cluster left');
  });

  it('jobs logs --no-follow shows what the running attempt printed so far', async () => {
    await a.run(['jobs', 'launch', '-y', '-d', '-n', 'live', '--infra', 'local', '--', 'echo line-one; sleep 600']);
    const j = (await queue()).find((x) => x.name === 'live')!;
    await waitFor(async () => (await a.run(['jobs', 'logs', String(j.id), '--no-follow'])).stdout.includes('line-one'), 30_000, 'live output');
    expect((await a.run(['jobs', 'cancel', '-y', String(j.id)])).code).toBe(0);
    await waitFor(async () => (await job(j.id)).status === 'CANCELLED', 30_000, 'CANCELLED');
  });

  it('jobs logs keeps following through a daemon crash, each line once', async () => {
    await a.run(['jobs', 'launch', '-y', '-d', '-n', 'ticker', '--infra', 'local', '--', 'for i in 1 2 3 4 5 6; do echo m-$i; sleep 0.5; done']);
    const j = (await queue()).find((x) => x.name === 'ticker')!;
    await waitFor(async () => (await job(j.id)).status === 'RUNNING', 30_000, 'RUNNING');
    const following = a.run(['jobs', 'logs', String(j.id)]);
    await new Promise((res) => setTimeout(res, 1200));
    process.kill(a.daemonPid()!, 'SIGKILL');
    const out = await following;
    expect(out.code, out.stderr).toBe(0);
    expect(out.stdout.match(/m-\d/g)).toEqual(['m-1', 'm-2', 'm-3', 'm-4', 'm-5', 'm-6']);
  });

  it('a daemon SIGKILLed during RECOVERING still finishes the job', async () => {
    await a.run(['jobs', 'launch', '-y', '-d', '-n', 'survivor', '--infra', 'local', '--use-spot', '--', 'sleep 3; echo survived']);
    const j = (await queue()).find((x) => x.name === 'survivor')!;
    await waitFor(async () => (await job(j.id)).status === 'RUNNING', 30_000, 'RUNNING');
    const pid = a.daemonPid()!;
    await a.run(['local', 'preempt', `mj-${j.id}`]);
    await waitFor(async () => (await job(j.id)).status === 'RECOVERING' || (await job(j.id)).recoveries === 1, 10_000, 'RECOVERING');
    process.kill(pid, 'SIGKILL');
    const done = await waitFor(async () => {
      const x = await job(j.id);
      return x.status === 'SUCCEEDED' ? x : undefined;
    }, 60_000, 'SUCCEEDED after daemon restart');
    expect(done.recoveries).toBeGreaterThanOrEqual(1);
    expect(a.daemonPid()).not.toBe(pid);
    const logs = await a.run(['jobs', 'logs', String(j.id), '--no-follow']);
    expect(logs.stdout).toContain('survived');
    await waitFor(async () => (await clusters()).length === 0, 15_000, 'no cluster left');
  });
});
