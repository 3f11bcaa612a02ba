// Single-node jobs through a real agent process: lifecycle, logs, queue, cancel, secrets, throughput.
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { AgentClient } from '../../src/agent/rpc.js';
import { alive, cleanupNode, client, readLogs, startAgent, submission as sub, tempNodeDir, waitFor, waitJob, type StartedAgent } from '../helpers/agent-harness.js';

describe('agent: single-node jobs', () => {
  let dir: string;
  let agent: StartedAgent;
  let c: AgentClient;

  beforeAll(async () => {
    dir = tempNodeDir();
    agent = await startAgent(dir);
    c = await client(agent);
    // capacity for these tests: 4 cpus, one node
    await c.call('configure', {
      clusterName: 'unit',
      clusterUid: 'u1',
      cloud: 'local',
      region: 'here',
      nodes: [{ rank: 0, ip: '10.0.0.1', endpoint: { kind: 'unix', path: agent.socket }, resources: { cpus: 4, memoryGiB: 8, accelerators: { A100: 2 } } }],
    });
  });
  afterAll(async () => {
    c?.close();
    await cleanupNode(dir);
  });

  test('socket and dir are private; hello describes the node', async () => {
    expect(statSync(agent.socket).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'agent')).mode & 0o777).toBe(0o700);
    expect(c.hello.pid).toBe(agent.pid);
    expect(c.hello.nodeDir).toBe(dir);
  });

  test('submit → logs → SUCCEEDED, with SkyPilot env and workdir', async () => {
    const { jobId } = await c.call('submit', sub('echo "rank=$SKYPILOT_NODE_RANK n=$SKYPILOT_NUM_NODES ips=$SKYPILOT_NODE_IPS"; echo "home=$HOME"; pwd; echo "$SKYPILOT_CLUSTER_INFO"; echo "task=$SKYPILOT_TASK_ID job=$SKYPILOT_JOB_ID gpus=$SKYPILOT_NUM_GPUS_PER_NODE"; echo "foo=$FOO"', { envs: { FOO: 'bar' }, name: 'hello' }));
    const { text, status } = await readLogs(c, jobId);
    expect(status).toBe('SUCCEEDED');
    expect(text).toContain('rank=0 n=1 ips=10.0.0.1');
    expect(text).toContain(`home=${dir}`);
    expect(text).toContain(join(dir, 'sky_workdir'));
    expect(text).toContain(`task=sky-`);
    expect(text).toContain(`_unit_${jobId} job=${jobId} gpus=0`);
    expect(text).toContain('foo=bar');
    const info = JSON.parse(text.split('\n').find((l) => l.startsWith('{'))!);
    expect(info).toMatchObject({ cluster_name: 'unit', cloud: 'local', region: 'here', num_nodes: 1 });
    const job = await waitJob(c, jobId, ['SUCCEEDED']);
    expect(job).toMatchObject({ name: 'hello', exitCode: 0, resources: '1x[CPU:0.5]' });
    expect(job.startedAt).toBeGreaterThan(0);
    expect(job.endedAt).toBeGreaterThanOrEqual(job.startedAt!);
  });

  test('a failing job is FAILED with its exit code', async () => {
    const { jobId } = await c.call('submit', sub('echo about to fail; exit 7'));
    const { text, status } = await readLogs(c, jobId);
    expect(text).toBe('about to fail\n');
    expect(status).toBe('FAILED');
    expect((await waitJob(c, jobId, ['FAILED'])).exitCode).toBe(7);
  });

  test('setup runs first (SETTING_UP); a failing setup is FAILED_SETUP and run never starts', async () => {
    const ok = await c.call('submit', sub('echo run:$SKYPILOT_SETUP_NODE_RANK', { setup: 'echo setup rank=$SKYPILOT_SETUP_NODE_RANK n=$SKYPILOT_SETUP_NUM_NODES' }));
    const okLog = await readLogs(c, ok.jobId);
    expect(okLog.text).toBe('setup rank=0 n=1\nrun:\n');
    expect(okLog.status).toBe('SUCCEEDED');
    const bad = await c.call('submit', sub('echo should-not-run', { setup: 'echo setting up; exit 3' }));
    const badLog = await readLogs(c, bad.jobId);
    expect(badLog.status).toBe('FAILED_SETUP');
    expect(badLog.text).toBe('setting up\n');
    expect((await waitJob(c, bad.jobId, ['FAILED_SETUP'])).exitCode).toBe(3);
  });

  test('logs: tail and a live follow see lines as they come', async () => {
    const { jobId } = await c.call('submit', sub('for i in 1 2 3 4 5; do echo line$i; done; sleep 0.3; echo late'));
    const all = await readLogs(c, jobId);
    expect(all.text).toBe('line1\nline2\nline3\nline4\nline5\nlate\n');
    const tail = await readLogs(c, jobId, { follow: false, tailLines: 2 });
    expect(tail.text).toBe('line5\nlate\n');
    const r1 = await readLogs(c, jobId, { follow: false, rank: 1 });
    expect(r1.text).toBe('');
    await expect(readLogs(c, 99999)).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  test('output streams while the job runs: the first line arrives before the job can end', async () => {
    // The job ends only once the test saw its first line: output held back until exit would hang
    // it (bench/core.bench.mjs measures how fast it comes).
    const gate = join(mkdtempSync(join(tmpdir(), 'aloft-gate-')), 'seen');
    const t0 = performance.now();
    const { jobId } = await c.call('submit', sub(`echo first; while [ ! -e ${gate} ]; do sleep 0.02; done; echo second`));
    let first = 0;
    const lines: string[] = [];
    const h = await c.stream('logs', { jobId, follow: true }, (item: { text?: string }) => {
      if (!item.text) return;
      lines.push(item.text);
      if (!first) {
        first = performance.now() - t0;
        writeFileSync(gate, '');
      }
    });
    await h.done;
    console.log(`submit → first line: ${first.toFixed(1)} ms`);
    expect(lines.join('')).toBe('first\nsecond\n');
  });

  test('resource queue: strict FIFO, PENDING until resources free, fitting jobs run together', async () => {
    // node: 4 cpus, 2 A100
    const big = await c.call('submit', sub('sleep 0.6', { demand: { cpus: 3, gpus: 2, accelerator: 'A100' } }));
    const small = await c.call('submit', sub('true', { demand: { cpus: 1, gpus: 0 } }));
    const gpu = await c.call('submit', sub('echo $SKYPILOT_NUM_GPUS_PER_NODE', { demand: { cpus: 0.5, gpus: 1, accelerator: 'A100' } }));
    const after = await c.call('submit', sub('true', { demand: { cpus: 0.5, gpus: 0 } }));
    await waitJob(c, big.jobId, ['RUNNING']);
    // small fits alongside big (3+1 ≤ 4); gpu does not (2+1 > 2) and blocks `after`
    await waitJob(c, small.jobId, ['SUCCEEDED']);
    const { jobs } = await c.call('jobs', { jobIds: [gpu.jobId, after.jobId] });
    expect(jobs.map((j) => j.status)).toEqual(['PENDING', 'PENDING']);
    const g = await readLogs(c, gpu.jobId);
    expect(g.text).toBe('1\n');
    const bigJob = await waitJob(c, big.jobId, ['SUCCEEDED']);
    const gpuJob = await waitJob(c, gpu.jobId, ['SUCCEEDED']);
    expect(gpuJob.startedAt!).toBeGreaterThanOrEqual(bigJob.endedAt!);
    await waitJob(c, after.jobId, ['SUCCEEDED']);
    await expect(c.call('submit', sub('true', { demand: { cpus: 64, gpus: 0 } }))).rejects.toMatchObject({ code: 'INFEASIBLE' });
    await expect(c.call('submit', sub('true', { numNodes: 3 }))).rejects.toMatchObject({ code: 'INFEASIBLE' });
  });

  test('cancel kills the whole tree (child and grandchild) → CANCELLED; pending jobs cancel too', async () => {
    const pids = join(dir, 'pids');
    const { jobId } = await c.call('submit', sub(`bash -c 'sleep 300 & echo $! > ${pids}.gc; wait' & echo $! > ${pids}.c; echo started; wait`, { demand: { cpus: 4, gpus: 0 } }));
    const queued = await c.call('submit', sub('echo never'));
    await waitFor(() => {
      try {
        return readFileSync(`${pids}.gc`, 'utf8').trim() && readFileSync(`${pids}.c`, 'utf8').trim();
      } catch {
        return undefined;
      }
    }, 10_000, 'pid files');
    const child = Number(readFileSync(`${pids}.c`, 'utf8'));
    const grandchild = Number(readFileSync(`${pids}.gc`, 'utf8'));
    expect(alive(child) && alive(grandchild)).toBe(true);
    const r = await c.call('cancel', { jobIds: [jobId, queued.jobId] });
    expect(r.cancelled.sort()).toEqual([jobId, queued.jobId].sort());
    expect(alive(child)).toBe(false);
    expect(alive(grandchild)).toBe(false);
    expect((await waitJob(c, jobId, ['CANCELLED'])).status).toBe('CANCELLED');
    expect((await waitJob(c, queued.jobId, ['CANCELLED'])).status).toBe('CANCELLED');
    expect((await readLogs(c, queued.jobId)).text).toBe('');
  });

  test('secrets reach the job but never the journal, agent.log or any answer', async () => {
    const secret = 'hunter2-' + Math.random().toString(36).slice(2);
    const sha = createHash('sha256').update(secret).digest('hex');
    const { jobId } = await c.call('submit', sub('echo "sha=$(printf %s "$API_KEY" | sha256sum | cut -d" " -f1)"; sleep 0.2', { secrets: { API_KEY: secret } }));
    const secretsFile = join(dir, 'jobs', String(jobId), 'secrets.json');
    const seen: string[] = [];
    const h = await c.stream('watch', { sinceSeq: 0 }, (item: unknown) => seen.push(JSON.stringify(item)));
    const st = statSync(secretsFile);
    expect(st.mode & 0o777).toBe(0o600);
    const { text } = await readLogs(c, jobId);
    expect(text).toBe(`sha=${sha}\n`);
    const job = await waitJob(c, jobId, ['SUCCEEDED']);
    expect(job.secretNames).toEqual(['API_KEY']);
    h.cancel();
    await h.done;
    const answers = JSON.stringify(await c.call('jobs', {})) + seen.join('\n') + JSON.stringify(c.hello);
    expect(answers.includes(secret)).toBe(false);
    expect(readFileSync(join(dir, 'agent', 'journal.jsonl'), 'utf8').includes(secret)).toBe(false);
    expect(readFileSync(join(dir, 'agent', 'agent.log'), 'utf8').includes(secret)).toBe(false);
    await waitFor(() => !readdirSync(join(dir, 'jobs', String(jobId))).includes('secrets.json'), 5000, 'secrets file removal');
  });

  test('20 concurrent submits → 20 distinct ids, all SUCCEEDED', async () => {
    const clients = await Promise.all(Array.from({ length: 4 }, () => client(agent)));
    const ids = await Promise.all(Array.from({ length: 20 }, (_, i) => clients[i % 4]!.call('submit', sub(`echo job${i}`)).then((r) => r.jobId)));
    expect(new Set(ids).size).toBe(20);
    for (const id of ids) await waitJob(c, id, ['SUCCEEDED']);
    for (const cl of clients) cl.close();
  });

  test('throughput: trivial jobs submit → SUCCEEDED', async () => {
    const n = 300;
    let done = 0;
    let resolve!: () => void;
    const all = new Promise<void>((r) => (resolve = r));
    const { jobs } = await c.call('jobs', {});
    const last = jobs.reduce((m, j) => Math.max(m, j.id), 0);
    const h = await c.stream('watch', { sinceSeq: (await c.call('jobs', {})).seq }, (d: { job?: { id: number; status: string } }) => {
      if (d.job && d.job.id > last && d.job.status === 'SUCCEEDED' && ++done === n) resolve();
    });
    const t0 = performance.now();
    await Promise.all(Array.from({ length: n }, () => c.call('submit', sub('true'))));
    await all;
    const secs = (performance.now() - t0) / 1000;
    console.log(`throughput: ${n} jobs in ${secs.toFixed(2)} s = ${(n / secs).toFixed(0)} jobs/s`);
    h.cancel();
    // every job ran to SUCCEEDED (bench/core.bench.mjs measures the rate; a test asserts no timing)
    expect(done).toBe(n);
  });
});
