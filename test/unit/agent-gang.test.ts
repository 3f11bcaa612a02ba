// Gang jobs across two real agents: the head runs rank 0 and drives rank 1 through the worker.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { AgentClient } from '../../src/agent/rpc.js';
import type { JobSubmission } from '../../src/agent/protocol.js';
import { alive, cleanupNode, client, clusterConfig, readLogs, startAgent, submission, tempNodeDir, waitFor, waitJob, type StartedAgent } from '../helpers/agent-harness.js';

/** A job on both nodes, a CPU each. */
const gang = (run: string, extra: Partial<JobSubmission> = {}): JobSubmission => submission(run, { numNodes: 2, demand: { cpus: 1, gpus: 0 }, ...extra });

describe('agent: gang jobs on 2 nodes', () => {
  let dirs: string[];
  let agents: StartedAgent[];
  let c: AgentClient;

  beforeAll(async () => {
    dirs = [tempNodeDir('aloft-head-'), tempNodeDir('aloft-worker-')];
    agents = await Promise.all(dirs.map((d) => startAgent(d)));
    c = await client(agents[0]!);
    await c.call('configure', clusterConfig(agents));
  });
  afterAll(async () => {
    c?.close();
    for (const d of dirs) await cleanupNode(d);
  });

  test('ranks, IPs, setup on every rank, prefixed logs, --rank narrowing', async () => {
    const { jobId } = await c.call(
      'submit',
      gang('echo "rank=$SKYPILOT_NODE_RANK n=$SKYPILOT_NUM_NODES ips=$(echo "$SKYPILOT_NODE_IPS" | paste -sd,) home=$HOME"', {
        setup: 'echo "setup on $SKYPILOT_SETUP_NODE_RANK"',
      }),
    );
    const { text, status } = await readLogs(c, jobId);
    expect(status).toBe('SUCCEEDED');
    const lines = text.trim().split('\n');
    expect(lines).toHaveLength(4);
    expect(lines).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^\(head, rank=0, pid=\d+\) setup on 0$/),
        expect.stringMatching(/^\(worker1, rank=1, pid=\d+\) setup on 1$/),
        expect.stringMatching(new RegExp(`^\\(head, rank=0, pid=\\d+\\) rank=0 n=2 ips=127.0.0.1,127.0.0.2 home=${dirs[0]}$`)),
        expect.stringMatching(new RegExp(`^\\(worker1, rank=1, pid=\\d+\\) rank=1 n=2 ips=127.0.0.1,127.0.0.2 home=${dirs[1]}$`)),
      ]),
    );
    const r1 = await readLogs(c, jobId, { rank: 1, follow: false });
    expect(r1.text.trim().split('\n').every((l) => l.startsWith('(worker1, rank=1,'))).toBe(true);
    expect(r1.text.trim().split('\n')).toHaveLength(2);
    // the worker keeps its own copy of its rank's output
    expect(readFileSync(join(dirs[1]!, 'jobs', String(jobId), 'rank-1.log'), 'utf8')).toContain('rank=1 n=2');
  });

  test('one rank failing stops the others → FAILED with failedRank and exit code', async () => {
    const pidFile = join(dirs[0]!, 'rank0.pid');
    const { jobId } = await c.call('submit', gang(`if [ "$SKYPILOT_NODE_RANK" = 1 ]; then sleep 0.5; echo bye; exit 5; fi; sleep 300 & echo $! > ${pidFile}; wait`));
    const job = await waitJob(c, jobId, ['FAILED', 'SUCCEEDED', 'CANCELLED', 'FAILED_DRIVER'], 20_000);
    expect(job).toMatchObject({ status: 'FAILED', failedRank: 1, exitCode: 5 });
    expect(alive(Number(readFileSync(pidFile, 'utf8')))).toBe(false);
    const { text } = await readLogs(c, jobId);
    expect(text).toMatch(/\(worker1, rank=1, pid=\d+\) bye/);
    // Issue 14.9: the rank stopped for another's failure says so; the summary lists every code.
    expect(text).toContain('(head, rank=0) [aloft] stopped: rank 1 failed (exit code 5)');
    expect(text).toContain(`[aloft] job ${jobId} run failed on rank 1 (exit code 5); return code list: [143, 5]`);
  });

  test("setup and run use an interactive bash: setup's ~/.bashrc edits reach run on every rank (issue 14.1)", async () => {
    const { jobId } = await c.call(
      'submit',
      gang('case $- in *i*) echo "interactive TEST_VAR=$TEST_VAR script=$(basename $0)";; *) echo not-interactive;; esac', {
        setup: 'echo "export TEST_VAR=from-setup-$SKYPILOT_SETUP_NODE_RANK" >> ~/.bashrc',
      }),
    );
    const { text, status } = await readLogs(c, jobId);
    expect(status, text).toBe('SUCCEEDED');
    expect(text, text).toMatch(/\(head, rank=0, pid=\d+\) interactive TEST_VAR=from-setup-0 script=run\.sh/);
    expect(text).toMatch(/\(worker1, rank=1, pid=\d+\) interactive TEST_VAR=from-setup-1 script=run-1\.sh/);
    // bash's complaints about the missing terminal are not the job's output
    expect(text).not.toMatch(/job control|terminal process group/);
  });

  test('a failing setup on a worker → FAILED_SETUP, run never starts', async () => {
    const { jobId } = await c.call('submit', gang('echo ran', { setup: '[ "$SKYPILOT_SETUP_NODE_RANK" = 1 ] && exit 4; true' }));
    const job = await waitJob(c, jobId, ['FAILED_SETUP', 'SUCCEEDED', 'FAILED'], 20_000);
    expect(job).toMatchObject({ status: 'FAILED_SETUP', failedRank: 1, exitCode: 4 });
    expect((await readLogs(c, jobId)).text).not.toMatch(/\) ran$/m);
  });

  test('cancel reaches the worker rank', async () => {
    const pidFile = join(dirs[1]!, 'rank1.pid');
    const { jobId } = await c.call('submit', gang(`[ "$SKYPILOT_NODE_RANK" = 1 ] && { sleep 300 & echo $! > ${pidFile}; }; wait; sleep 300`));
    const wpid = await waitFor(() => {
      try {
        return Number(readFileSync(pidFile, 'utf8')) || undefined;
      } catch {
        return undefined;
      }
    }, 10_000, 'worker pid');
    await c.call('cancel', { jobIds: [jobId] });
    expect((await waitJob(c, jobId, ['CANCELLED'])).status).toBe('CANCELLED');
    await waitFor(() => !alive(wpid), 5000, 'worker rank to die');
  });

  test('a TCP worker demands the cluster token', async () => {
    const wdir = tempNodeDir('aloft-tcpworker-');
    dirs.push(wdir);
    const tokenFile = join(wdir, 'token');
    writeFileSync(tokenFile, 'tok-123', { mode: 0o600 });
    const w = await startAgent(wdir, { extraArgs: ['--listen-tcp', '127.0.0.1:0', '--token-file', tokenFile] });
    expect(w.tcp?.port).toBeGreaterThan(0);
    const headDir = tempNodeDir('aloft-tcphead-');
    dirs.push(headDir);
    const h = await startAgent(headDir);
    const hc = await client(h);
    await hc.call('configure', clusterConfig([h, w], { token: 'wrong' }));
    const bad = await hc.call('submit', gang('echo hi'));
    const badJob = await waitJob(hc, bad.jobId, ['FAILED_DRIVER', 'FAILED', 'SUCCEEDED'], 20_000);
    expect(badJob.status).toBe('FAILED_DRIVER');
    await hc.call('configure', clusterConfig([h, w], { token: 'tok-123' }));
    const ok = await hc.call('submit', gang('echo hi from $SKYPILOT_NODE_RANK'));
    const { text, status } = await readLogs(hc, ok.jobId);
    expect(status).toBe('SUCCEEDED');
    expect(text).toMatch(/\(worker1, rank=1, pid=\d+\) hi from 1/);
    hc.close();
  });
});

describe('agent: gang jobs survive agent restarts', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await cleanupNode(d);
  });

  async function cluster(): Promise<{ agents: StartedAgent[]; c: AgentClient }> {
    const ds = [tempNodeDir('aloft-head-'), tempNodeDir('aloft-worker-')];
    dirs.push(...ds);
    const agents = await Promise.all(ds.map((d) => startAgent(d)));
    const c = await client(agents[0]!);
    await c.call('configure', clusterConfig(agents));
    return { agents, c };
  }

  const script = 'for i in 1 2 3 4 5 6; do echo "r$SKYPILOT_NODE_RANK-$i"; sleep 0.25; done; [ "$SKYPILOT_NODE_RANK" = 1 ] && exit 6; true';

  function check(text: string): void {
    for (const r of [0, 1]) {
      const label = r === 0 ? 'head' : 'worker1';
      const mine = text.split('\n').filter((l) => l.startsWith(`(${label}, rank=${r},`));
      expect(mine.map((l) => l.replace(/^\([^)]*\) /, '')), text).toEqual([1, 2, 3, 4, 5, 6].map((i) => `r${r}-${i}`));
    }
  }

  test('head SIGKILLed mid-job: the restarted head re-attaches to both ranks, no line lost or doubled', async () => {
    const { agents, c } = await cluster();
    const { jobId } = await c.call('submit', gang(script));
    await waitJob(c, jobId, ['RUNNING']);
    await new Promise((r) => setTimeout(r, 500));
    process.kill(agents[0]!.pid, 'SIGKILL');
    c.close();
    await waitFor(() => !alive(agents[0]!.pid), 5000, 'head to die');
    await new Promise((r) => setTimeout(r, 400));
    const head = await startAgent(agents[0]!.nodeDir);
    const c2 = await client(head);
    const { text, status } = await readLogs(c2, jobId);
    expect(status).toBe('FAILED');
    check(text);
    expect((await waitJob(c2, jobId, ['FAILED'])).failedRank).toBe(1);
    c2.close();
  });

  test('worker SIGKILLed mid-job and restarted: the head re-attaches through it', async () => {
    const { agents, c } = await cluster();
    const { jobId } = await c.call('submit', gang(script));
    await waitJob(c, jobId, ['RUNNING']);
    await new Promise((r) => setTimeout(r, 500));
    process.kill(agents[1]!.pid, 'SIGKILL');
    await waitFor(() => !alive(agents[1]!.pid), 5000, 'worker to die');
    const w = await startAgent(agents[1]!.nodeDir);
    // same socket path, so the head's endpoint still points at it
    expect(w.socket).toBe(agents[1]!.socket);
    const { text, status } = await readLogs(c, jobId);
    const job = await waitJob(c, jobId, ['FAILED', 'FAILED_DRIVER', 'SUCCEEDED']);
    expect(status, JSON.stringify(job)).toBe('FAILED');
    check(text);
    expect(job).toMatchObject({ failedRank: 1, exitCode: 6 });
    c.close();
  });
});
