// Issue 17.5 and 17.6 on the agent itself: submissions are idempotent on their request id (a
// retry after a lost answer never runs a job twice), `reap` tells what became of a dead agent's
// jobs without taking anything over, and `start` replaces an agent that no longer answers
// without touching its jobs.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, test } from 'vitest';
import type { JobSubmission, ReapedJob } from '../../src/agent/protocol.js';
import type { AgentClient } from '../../src/agent/rpc.js';
import { verdict } from '../../src/daemon/reap.js';
import type { JobRecord } from '../../src/protocol/model.js';
import { agentBundle, alive, cleanupNode, client, startAgent, tempNodeDir, waitFor, waitJob } from '../helpers/agent-harness.js';

const execFileP = promisify(execFile);
const sub = (run: string, extra: Partial<JobSubmission> = {}): JobSubmission => ({ run, envs: {}, secrets: {}, numNodes: 1, demand: { cpus: 0.5, gpus: 0 }, ...extra });

const dirs: string[] = [];
const clients: AgentClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  for (const d of dirs.splice(0)) await cleanupNode(d);
});

async function agent(dir?: string) {
  const nodeDir = dir ?? tempNodeDir();
  if (!dir) dirs.push(nodeDir);
  const a = await startAgent(nodeDir);
  const c = await client(a);
  clients.push(c);
  return { dir: nodeDir, a, c };
}

async function reap(dir: string, ids: number[]): Promise<{ agentAlive: boolean; jobs?: ReapedJob[] }> {
  const { stdout } = await execFileP(process.execPath, [await agentBundle(), 'reap', '--dir', dir, '--jobs', ids.join(',')]);
  return JSON.parse(stdout);
}

describe('agent takeover (issue 17.5, 17.6)', () => {
  test('a submit repeated with the same requestId answers the first job, also after an agent restart', async () => {
    const { dir, a, c } = await agent();
    const first = await c.call('submit', sub('echo once', { requestId: 'launch-0123456789abcdef' }));
    const again = await c.call('submit', sub('echo once', { requestId: 'launch-0123456789abcdef' }));
    expect(again.jobId).toBe(first.jobId);
    process.kill(a.pid, 'SIGKILL');
    await waitFor(() => !alive(a.pid), 5000, 'agent gone');
    const r = await agent(dir);
    expect((await r.c.call('submit', sub('echo once', { requestId: 'launch-0123456789abcdef' }))).jobId).toBe(first.jobId);
    const { jobs } = await r.c.call('jobs', { requestId: 'launch-0123456789abcdef' });
    expect(jobs.map((j) => [j.id, j.requestId])).toEqual([[first.jobId, 'launch-0123456789abcdef']]);
    expect((await r.c.call('jobs', {})).jobs).toHaveLength(1);
    expect((await r.c.call('submit', sub('echo other', { requestId: 'exec-0123456789abcdef' }))).jobId).not.toBe(first.jobId);
  });

  test('reap: a live agent owns its jobs; with it gone, a running job is alive, a vanished one loses its secrets', async () => {
    const { dir, a, c } = await agent();
    const live = (await c.call('submit', sub('sleep 300'))).jobId;
    const dead = (await c.call('submit', sub('sleep 300', { secrets: { TOKEN: 'x' } }))).jobId;
    const done = (await c.call('submit', sub('exit 4'))).jobId;
    await waitJob(c, live, ['RUNNING']);
    await waitJob(c, dead, ['RUNNING']);
    await waitJob(c, done, ['FAILED']);
    expect(await reap(dir, [live])).toEqual({ agentAlive: true, pid: a.pid });
    process.kill(a.pid, 'SIGKILL');
    await waitFor(() => !alive(a.pid), 5000, 'agent gone');
    const journal = readFileSync(join(dir, 'agent', 'journal.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const pgid = journal.filter((l) => l.j?.id === dead).pop().r.pid as number;
    process.kill(-pgid, 'SIGSTOP');
    process.kill(-pgid, 'SIGKILL');
    await waitFor(() => !alive(pgid), 5000, 'job gone');
    const out = await reap(dir, [live, dead, done]);
    expect(out.agentAlive).toBe(false);
    const byId = new Map(out.jobs!.map((j) => [j.id, j]));
    expect(byId.get(live)).toEqual({ id: live, phase: 'run', alive: true });
    expect(byId.get(dead)).toEqual({ id: dead, phase: 'run', alive: false });
    expect(byId.get(done)?.final).toMatchObject({ status: 'FAILED', exitCode: 4 });
    expect(existsSync(join(dir, 'jobs', String(dead), 'secrets.json'))).toBe(false);
    // the next agent takes over: the live job is still its
    const r = await agent(dir);
    expect((await r.c.call('jobs', { jobIds: [live] })).jobs[0]!.status).toBe('RUNNING');
    expect((await waitJob(r.c, dead, ['FAILED_DRIVER'])).status).toBe('FAILED_DRIVER');
  });

  test('start replaces an agent that holds the node but no longer answers; its job keeps running', async () => {
    const { dir, a, c } = await agent();
    const id = (await c.call('submit', sub('sleep 300'))).jobId;
    await waitJob(c, id, ['RUNNING']);
    process.kill(a.pid, 'SIGSTOP'); // alive, pid file held, answering nothing
    const r = await agent(dir);
    expect(r.a.pid).not.toBe(a.pid);
    await waitFor(() => !alive(a.pid), 15_000, 'the hung agent retired');
    expect((await r.c.call('jobs', { jobIds: [id] })).jobs[0]!.status).toBe('RUNNING');
  });

  test('the daemon mirrors what reap saw: vanished → FAILED_DRIVER, ended → its outcome, running or between phases → unchanged', () => {
    const job = (numNodes = 1) => ({ id: 1, numNodes, status: 'RUNNING' }) as JobRecord;
    expect(verdict(job(), { id: 1, phase: 'run', alive: true })).toBeUndefined();
    expect(verdict(job(), { id: 1, phase: 'run', alive: false })).toMatchObject({ status: 'FAILED_DRIVER' });
    expect(verdict(job(), { id: 1, phase: 'run', alive: false, exitCode: 0 })).toMatchObject({ status: 'SUCCEEDED', exitCode: 0 });
    expect(verdict(job(), { id: 1, phase: 'run', alive: false, exitCode: 3 })).toMatchObject({ status: 'FAILED', exitCode: 3 });
    expect(verdict(job(), { id: 1, phase: 'setup', alive: false, exitCode: 0 })).toBeUndefined(); // the run starts at takeover
    expect(verdict(job(), { id: 1, phase: 'setup', alive: false, exitCode: 2 })).toMatchObject({ status: 'FAILED_SETUP', exitCode: 2 });
    expect(verdict(job(2), { id: 1, phase: 'run', alive: false, exitCode: 0 })).toBeUndefined(); // the workers' ranks decide
    expect(verdict(job(), { id: 1, alive: false, final: { status: 'CANCELLED', endedAt: 5 } as never })).toMatchObject({ status: 'CANCELLED', endedAt: 5 });
  });
});
