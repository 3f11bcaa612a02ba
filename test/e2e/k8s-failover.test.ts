// Kubernetes failure handling end to end: a pod the scheduler cannot place stays Pending, and past
// kubernetes.provision_timeout the launch moves to the next of allowed_contexts with the scheduler's
// reason; a pod deleted under a managed job is recovered (RECOVERING → RUNNING); a daemon killed
// mid-launch leaves no pod behind once the next one starts; autostop on kubernetes tears down.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeHome, waitFor, type AloftEnv } from '../helpers/cli.js';
import { MI300X_NODE, CPU_NODE, startFakeKube, writeKubeconfig, type FakeKube } from '../fakes/kubernetes/index.js';

const isRoot = process.getuid?.() === 0;

// The fake runs pods in Linux namespaces and needs root (as here and in CI).
describe.skipIf(!isRoot && !process.env.CI)('kubernetes: failover across contexts, lost pods, crashes', () => {
  let ctxA: FakeKube;
  let ctxB: FakeKube;
  let a: AloftEnv;
  let dir: string;

  beforeAll(async () => {
    // Context A's MI300X node carries a taint aloft's pods do not tolerate: the planner (which
    // counts free GPUs) sees room, the scheduler refuses — a pod stays Pending there. A is listed
    // first in allowed_contexts but sorts last by name: the failover order is the user's.
    const tainted = MI300X_NODE('gpu-mi300x-a');
    tainted.taints = [...(tainted.taints ?? []), { key: 'dedicated', value: 'other-team', effect: 'NoSchedule' }];
    [ctxA, ctxB] = await Promise.all([
      startFakeKube({ nodes: [tainted, CPU_NODE('cpu-a')], context: 'zz-first' }),
      startFakeKube({ fixture: 'mixed', context: 'aa-second' }),
    ]);
    dir = mkdtempSync(join(tmpdir(), 'aloft-k8s-f-'));
    const kubeconfig = join(dir, 'kubeconfig');
    writeKubeconfig(kubeconfig, [ctxA, ctxB], 'zz-first');
    a = makeHome('aloft-k8f-');
    a.env.KUBECONFIG = kubeconfig;
    // Autostop minutes are seconds here (the daemon passes the knob on to the agents in the pods).
    a.env.ALOFT_AUTOSTOP_SECONDS_PER_MINUTE = '1';
    writeFileSync(join(a.home, 'config.yaml'), 'kubernetes:\n  allowed_contexts: [zz-first, aa-second]\n  provision_timeout: 2\n');
  }, 60_000);

  afterAll(async () => {
    await a?.cleanup();
    await Promise.all([ctxA?.stop(), ctxB?.stop()]);
    rmSync(dir, { recursive: true, force: true });
  });

  /** waitFor that, when it times out, says what the daemon logged (the half of the story a test cannot see). */
  const waitOrLog = async <T,>(fn: () => Promise<T | undefined | false> | T | undefined | false, ms: number, what: string): Promise<T> => {
    try {
      return await waitFor(fn, ms, what);
    } catch (err) {
      let log = '';
      try {
        log = readFileSync(join(a.home, 'daemon.log'), 'utf8').trim().split('\n').slice(-25).join('\n');
      } catch {
        /* no log */
      }
      throw new Error(`${(err as Error).message}\ndaemon.log:\n${log}`);
    }
  };
  const ours = (k: FakeKube, cluster?: string) =>
    k.list('pods').filter((o) => o.metadata?.labels?.['app.kubernetes.io/managed-by'] === 'aloft' && (!cluster || o.metadata?.labels?.['aloft.dev/cluster'] === cluster));
  const clusterNames = async () => (JSON.parse((await a.run(['status', '-o', 'json'])).stdout) as Array<{ name: string }>).map((c) => c.name);

  it('a Pending pod past provision_timeout fails over to the next context, with the scheduler\'s reason', async () => {
    const r = await a.run(['launch', '-y', '-c', 'fo', '--gpus', 'MI300X:1', '--', 'echo ran-on-$(hostname)'], { timeoutMs: 180_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/ran-on-fo-[0-9a-f]{12}-head/);
    const out = r.stdout + r.stderr;
    expect(out).toMatch(/kubernetes\/zz-first: capacity error \(context zz-first: pod fo-[0-9a-f]{12}-head stayed Pending for \d+s: 0\/2 nodes are available: .*untolerated taint/);
    expect(out).toContain('failing over to kubernetes/aa-second');
    const st = JSON.parse((await a.run(['status', '-o', 'json'])).stdout) as Array<{ infra: string }>;
    expect(st[0]!.infra).toBe('kubernetes/aa-second');
    expect(ours(ctxA)).toEqual([]);
    expect(ours(ctxB)).toHaveLength(1);
    expect((await a.run(['down', 'fo', '-y'], { timeoutMs: 120_000 })).code).toBe(0);
    expect(ours(ctxB)).toEqual([]);
  }, 240_000);

  it('when no context can place it, the one-line error names each context and the scheduler\'s reason', async () => {
    // Only context A offers this much CPU; its node is tainted: Pending there, and B cannot fit it.
    const r = await a.run(['launch', '-y', '-c', 'nofit', '--infra', 'k8s/zz-first', '--gpus', 'MI300X:8', '--', 'true'], { timeoutMs: 180_000 });
    expect(r.code).not.toBe(0);
    const last = r.stderr.trim().split('\n').pop()!;
    expect(last).toMatch(/^aloft: (launch failed at PROVISION: )?every place in the failover order failed: kubernetes\/zz-first: context zz-first: pod nofit-[0-9a-f]{12}-head stayed Pending for \d+s: 0\/2 nodes are available: .*untolerated taint.* \(retry with --retry-until-up\)$/);
    expect(ours(ctxA)).toEqual([]);
  }, 240_000);

  it('a pod deleted under a managed job: RECOVERING, then RUNNING on a new pod', async () => {
    const r = await a.run(['jobs', 'launch', '-y', '-d', '--infra', 'k8s/aa-second', '--', 'echo attempt-on-$(hostname); sleep 600'], { timeoutMs: 120_000 });
    expect(r.code, r.stderr).toBe(0);
    type MJ = { id: number; status: string; recoveries: number; cluster?: string };
    const queue = async () => (JSON.parse((await a.run(['jobs', 'queue', '-o', 'json'])).stdout) as MJ[])[0]!;
    await waitFor(async () => (await queue()).status === 'RUNNING', 120_000, 'the managed job to run');
    const [first] = ours(ctxB, 'mj-1');
    await ctxB.deletePod(first!.metadata!.name!, { gracePeriodSeconds: 0 });
    const seen: string[] = [];
    const back = await waitFor(
      async () => {
        const j = await queue();
        if (seen[seen.length - 1] !== j.status) seen.push(j.status);
        return j.status === 'RUNNING' && j.recoveries === 1 ? j : undefined;
      },
      120_000,
      'the managed job to be recovered',
    );
    expect(seen).toContain('RECOVERING');
    const pods = ours(ctxB, 'mj-1');
    expect(pods).toHaveLength(1);
    expect(pods[0]!.metadata!.name).not.toBe(first!.metadata!.name);
    // The second attempt runs in the new pod (the first attempt's log went with its pod).
    const second = pods[0]!.metadata!.name!;
    await waitOrLog(async () => (await a.run(['jobs', 'logs', String(back.id), '--no-follow'])).stdout.includes(`attempt-on-${second}`), 30_000, 'the new attempt in the log');
    expect((await a.run(['jobs', 'cancel', String(back.id), '-y'])).code).toBe(0);
    await waitFor(() => ours(ctxB, 'mj-1').length === 0, 60_000, 'the cancelled job\'s pod to go');
  }, 300_000);

  it('a daemon SIGKILLed mid-launch leaves no pod once the next daemon starts', async () => {
    // The pipeline holds at START_AGENTS: the pod exists, the launch is not done.
    const launch = a.run(['launch', '-y', '-c', 'crash', '--infra', 'k8s/aa-second', '--', 'true'], { timeoutMs: 120_000, env: { ALOFT_DEBUG_PAUSE_STAGE: 'START_AGENTS:60000' } });
    await waitFor(() => ours(ctxB, 'crash').length > 0, 90_000, 'the pod to be created');
    const pid = a.daemonPid()!;
    process.kill(pid, 'SIGKILL');
    const r = await launch;
    expect(r.code).not.toBe(0);
    // The next CLI call starts a daemon, whose recovery tears down what the interrupted launch made.
    await a.run(['status']);
    await waitOrLog(() => ours(ctxB, 'crash').length === 0, 60_000, 'the half-made cluster\'s pod to be deleted');
    expect(await clusterNames()).not.toContain('crash');
  }, 240_000);

  it('autostop on kubernetes is autodown: the idle cluster and its pods are removed', async () => {
    const r = await a.run(['launch', '-y', '-c', 'idle', '--infra', 'k8s/aa-second', '-i', '1', '--', 'true'], { timeoutMs: 120_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout + r.stderr).toContain('autostop will tear the cluster down (autodown)');
    await waitOrLog(async () => !(await clusterNames()).includes('idle'), 120_000, 'autodown to remove the cluster');
    await waitFor(() => ours(ctxB, 'idle').length === 0, 60_000, 'the pod to go');
  }, 240_000);
});
