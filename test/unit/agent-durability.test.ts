// Crash durability and autostop with real agent processes: SIGKILL the agent mid-job, restart it,
// and check what it recovers; idle agents stop themselves on a shortened clock.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import type { AgentClient } from '../../src/agent/rpc.js';
import { alive, cleanupNode, client, clusterConfig, readLogs, startAgent, submission as sub, tempNodeDir, waitFor, waitJob, type StartedAgent } from '../helpers/agent-harness.js';

const dirs: string[] = [];
const clients: AgentClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  for (const d of dirs.splice(0)) await cleanupNode(d);
});

async function fresh(env?: Record<string, string>): Promise<{ dir: string; a: StartedAgent; c: AgentClient }> {
  const dir = tempNodeDir();
  dirs.push(dir);
  const a = await startAgent(dir, { env });
  const c = await client(a);
  clients.push(c);
  return { dir, a, c };
}

async function restart(dir: string, env?: Record<string, string>): Promise<{ a: StartedAgent; c: AgentClient }> {
  const a = await startAgent(dir, { env });
  const c = await client(a);
  clients.push(c);
  return { a, c };
}

function sigkill(pid: number): Promise<void> {
  process.kill(pid, 'SIGKILL');
  return waitFor(() => !alive(pid), 5000, 'agent to die').then(() => undefined);
}

describe('agent: crash durability', () => {
  test('SIGKILL mid-job: a job still running is re-attached and its real exit code recorded', async () => {
    const { dir, a, c } = await fresh();
    // the job goes on only once the new agent has it (a sleep would race a slow restart under load)
    const gate = join(dir, 'gate');
    const { jobId } = await c.call('submit', sub(`echo before; while [ ! -e ${gate} ]; do sleep 0.02; done; echo after; exit 3`));
    await waitJob(c, jobId, ['RUNNING']);
    await sigkill(a.pid);
    const r = await restart(dir);
    expect(r.a.pid).not.toBe(a.pid);
    expect((await r.c.call('jobs', { jobIds: [jobId] })).jobs[0]!.status).toBe('RUNNING');
    writeFileSync(gate, '');
    const { text, status } = await readLogs(r.c, jobId);
    expect(status).toBe('FAILED');
    expect(text).toBe('before\nafter\n');
    expect((await waitJob(r.c, jobId, ['FAILED'])).exitCode).toBe(3);
  });

  test('a job that finished while the agent was down gets its outcome from the exit file', async () => {
    const { dir, a, c } = await fresh();
    const { jobId } = await c.call('submit', sub('sleep 0.4; echo ok'));
    await waitJob(c, jobId, ['RUNNING']);
    await sigkill(a.pid);
    await new Promise((r) => setTimeout(r, 800));
    const r = await restart(dir);
    expect((await waitJob(r.c, jobId, ['SUCCEEDED'], 20_000)).exitCode).toBe(0);
  });

  test('a job whose process died with no exit code → FAILED_DRIVER at the restart', async () => {
    const { dir, a, c } = await fresh();
    const { jobId } = await c.call('submit', sub('sleep 300'));
    await waitJob(c, jobId, ['RUNNING']);
    await sigkill(a.pid);
    // the node lost the job's processes too (e.g. OOM killer): no exit code anywhere
    const pgid = JSON.parse(readFileSync(join(dir, 'agent', 'journal.jsonl'), 'utf8').trim().split('\n').pop()!).r.pid as number;
    process.kill(-pgid, 'SIGKILL');
    await waitFor(() => !alive(pgid), 5000, 'job to die');
    // found at start-up from the journal, not after a heartbeat timeout (generous bound: a busy CI box)
    const r = await restart(dir);
    await waitJob(r.c, jobId, ['FAILED_DRIVER'], 20_000);
  });

  test('setup interrupted by a restart continues into run; pending jobs survive; ids continue; watch resumes', async () => {
    const { dir, a, c } = await fresh();
    const first = await c.call('submit', sub('echo ran', { setup: 'sleep 0.8; echo setup-done', demand: { cpus: c.hello.resources.cpus, gpus: 0 } }));
    const queued = await c.call('submit', sub('echo queued-ran'));
    await waitJob(c, first.jobId, ['SETTING_UP']);
    const seqBefore = (await c.call('jobs', {})).seq;
    await sigkill(a.pid);
    const r = await restart(dir);
    const changes: Array<{ seq: number; job: { id: number; status: string } }> = [];
    const h = await r.c.stream('watch', { sinceSeq: seqBefore }, (d: { seq: number; job: { id: number; status: string } }) => changes.push(d));
    expect(h.result.seq).toBeGreaterThanOrEqual(seqBefore);
    const l1 = await readLogs(r.c, first.jobId);
    expect(l1).toEqual({ text: 'setup-done\nran\n', status: 'SUCCEEDED' });
    expect((await readLogs(r.c, queued.jobId)).text).toBe('queued-ran\n');
    await waitFor(() => changes.some((x) => x.job.id === queued.jobId && x.job.status === 'SUCCEEDED'), 5000, 'watch to see the queued job finish');
    const seqs = changes.map((x) => x.seq);
    expect([...seqs].sort((x, y) => x - y)).toEqual(seqs);
    expect(seqs.every((s) => s > seqBefore)).toBe(true);
    const next = await r.c.call('submit', sub('true'));
    expect(next.jobId).toBe(queued.jobId + 1);
    // another restart: the journal replays to the same table, no duplicates
    const r2 = await restart(dir);
    const { jobs } = await r2.c.call('jobs', {});
    expect(jobs.map((j) => j.id)).toEqual([first.jobId, queued.jobId, next.jobId]);
  });

  test('a second start for the same node reports the running agent instead of starting another', async () => {
    const { dir, a } = await fresh();
    const again = await startAgent(dir);
    expect(again.pid).toBe(a.pid);
  });
});

describe('agent: autostop (shortened clock: 1 minute = 1 second)', () => {
  const env = { ALOFT_AUTOSTOP_SECONDS_PER_MINUTE: '1' };

  test('busy jobs hold it off; then the head writes the marker, tells watchers, stops workers and exits', async () => {
    const head = await fresh(env);
    const worker = await fresh(env);
    const items: unknown[] = [];
    await head.c.stream('watch', { sinceSeq: 0 }, (d: unknown) => items.push(d));
    await head.c.call('configure', clusterConfig([head.a, worker.a], { autostop: { idleMinutes: 1, down: true } }));
    const { jobId } = await head.c.call('submit', sub('sleep 1.6'));
    const t0 = Date.now();
    await waitFor(() => !alive(head.a.pid), 10_000, 'head agent to exit');
    const job = (items as Array<{ job?: { id: number; status: string; endedAt?: number } }>).find((x) => x.job?.id === jobId && x.job.status === 'SUCCEEDED');
    expect(job).toBeDefined();
    // idle is counted from the end of the job, not from configure
    expect(Date.now() - t0).toBeGreaterThanOrEqual(2400);
    const marker = JSON.parse(readFileSync(join(head.dir, 'autostopped.json'), 'utf8'));
    expect(marker).toMatchObject({ down: true, idleMinutes: 1 });
    expect(items).toContainEqual({ autostop: marker });
    await waitFor(() => !alive(worker.a.pid), 10_000, 'worker agent to exit');
    expect(existsSync(join(head.dir, 'agent', 'agent.sock'))).toBe(false);
  });

  test('setAutostop / cancel and info', async () => {
    const { a, c } = await fresh(env);
    await c.call('setAutostop', { idleMinutes: 2, down: false });
    expect((await c.call('info', {})).autostop).toEqual({ idleMinutes: 2, down: false });
    await c.call('setAutostop', { cancel: true });
    const info = await c.call('info', {});
    expect(info.autostop).toBeUndefined();
    await new Promise((r) => setTimeout(r, 2500));
    expect(alive(a.pid)).toBe(true);
    expect((await c.call('info', {})).idleSeconds).toBeGreaterThanOrEqual(2);
  });

  test('shutdown cancels running jobs and exits', async () => {
    const { a, c } = await fresh();
    const { jobId } = await c.call('submit', sub('sleep 300'));
    await waitJob(c, jobId, ['RUNNING']);
    await c.call('shutdown', { reason: 'stop' });
    await waitFor(() => !alive(a.pid), 5000, 'agent to exit');
    const r = await restart(dirs[0]!);
    expect((await r.c.call('jobs', { jobIds: [jobId] })).jobs[0]!.status).toBe('CANCELLED');
  });
});

describe('agent: upgrade in place', () => {
  test('start with another version replaces the agent; a running job survives and finishes', async () => {
    const { dir, a, c } = await fresh();
    const { jobId } = await c.call('submit', sub('echo one; sleep 1; echo two'));
    await waitJob(c, jobId, ['RUNNING']);
    const b = await startAgent(dir, { env: { ALOFT_VERSION_OVERRIDE: '99.0.0' } });
    expect(b.pid).not.toBe(a.pid);
    expect(alive(a.pid)).toBe(false);
    const c2 = await client(b);
    clients.push(c2);
    expect(c2.hello.version).toBe('99.0.0');
    expect(await readLogs(c2, jobId)).toEqual({ text: 'one\ntwo\n', status: 'SUCCEEDED' });
  });
});
