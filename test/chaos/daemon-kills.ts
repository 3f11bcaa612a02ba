// The daemon SIGKILLed at each launch stage (the stage pause hook holds fast stages long enough
// to be hit), at random moments, and again during its own recovery. A launch must end one of
// two ways: SUCCEEDED with its job run exactly once, or FAILED with nothing run and no node
// left; the CLI that started it must say which, and no request or cluster may stay in between.
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor, type AloftEnv } from '../helpers/cli.js';
import { cli, clusters, countInit, countOrphans, daemonAlive, isTerminal, jobsOf, requests, rng, settle, sleep, type Tally } from './lib.js';

export interface DaemonKillOptions {
  /** stages to kill at (LAUNCH_STAGES names, or SUBMITTED: after the agent took the job) */
  stages: string[];
  repeats: number;
  /** of those, how many also kill the restarted daemon during its recovery */
  recoveryKills: number;
  /** launches killed at a random moment, no pause */
  randomKills: number;
  seed: number;
}

function taskYaml(): string {
  const dir = mkdtempSync(join(tmpdir(), 'aloft-chaos-'));
  mkdirSync(join(dir, 'wd'));
  for (let i = 0; i < 20; i++) writeFileSync(join(dir, 'wd', `f${i}.txt`), `file ${i}\n`);
  writeFileSync(join(dir, 'mount.txt'), 'mounted\n');
  const yaml = join(dir, 'task.yaml');
  writeFileSync(yaml, `workdir: ${join(dir, 'wd')}\nfile_mounts:\n  ~/m.txt: ${join(dir, 'mount.txt')}\nenvs:\n  TOKEN: null\nsetup: test -f f3.txt\nrun: echo "chaos-$TOKEN"\n`);
  return yaml;
}

export async function daemonKills(a: AloftEnv, t: Tally, o: DaemonKillOptions): Promise<void> {
  const random = rng(o.seed);
  const yaml = taskYaml();
  let n = 0;
  const plan: Array<{ stage?: string; recoveryKill: boolean }> = [];
  for (const stage of o.stages) for (let r = 0; r < o.repeats; r++) plan.push({ stage, recoveryKill: false });
  for (let i = 0; i < o.recoveryKills && i < plan.length; i++) plan[Math.floor((i * plan.length) / o.recoveryKills)]!.recoveryKill = true;
  for (let i = 0; i < o.randomKills; i++) plan.push({ recoveryKill: i % 3 === 2 });

  for (const step of plan) {
    const name = `dk${n++}`;
    const token = `${name}-${Math.floor(random() * 1e9)}`;
    const env: Record<string, string> = step.stage ? { ALOFT_DEBUG_PAUSE_STAGE: `${step.stage}:4000` } : {};
    // The pause is the daemon's: it runs with the launch's setting (a CLI call racing to start it would not).
    await cli(a, t, ['daemon', 'stop']);
    await cli(a, t, ['daemon', 'start'], { env });
    const launch = cli(a, t, ['launch', '-y', '-c', name, '--env', `TOKEN=${token}`, yaml], { env, timeoutMs: 180_000 });
    if (step.stage) {
      const reached = await waitFor(async () => {
        if (step.stage === 'SUBMITTED') return existsSync(join(a.home, 'local', name, '0', 'jobs', '1'));
        return (await requests(a, t)).some((q) => q.cluster === name && q.stage === step.stage && q.status === 'RUNNING');
      }, 60_000, `launch at ${step.stage}`).catch(() => false);
      if (!reached) t.extra['stage not reached'] = (t.extra['stage not reached'] ?? 0) + 1;
    } else {
      await sleep(100 + random() * 2500);
    }
    const pid = daemonAlive(a);
    if (pid) process.kill(pid, 'SIGKILL');
    if (step.recoveryKill) {
      // kill the next daemon again, a few ms into its recovery
      const starting = cli(a, t, ['daemon', 'start']);
      await waitFor(() => daemonAlive(a) !== undefined && daemonAlive(a) !== pid, 30_000, 'a new daemon').catch(() => undefined);
      await sleep(random() * 50);
      const again = daemonAlive(a);
      if (again && again !== pid) process.kill(again, 'SIGKILL');
      await starting;
    }
    const r = await launch;
    await settle(a, t, name);
    t.runs++;
    await check(a, t, name, token, r);
    await cli(a, t, ['down', '-y', name]);
  }
  await countOrphans(a, t, 'daemon kills');
  await countInit(a, t, 'daemon kills');
  // the next daemon must not carry the pause
  await cli(a, t, ['daemon', 'stop']);
}

/** One launch's outcome, as the CLI, the request, the cluster and its jobs tell it. */
async function check(a: AloftEnv, t: Tally, name: string, token: string, r: { code: number; stdout: string; stderr: string } | undefined): Promise<void> {
  const req = (await requests(a, t)).filter((q) => q.cluster === name && q.kind === 'launch').pop();
  const cluster = (await clusters(a, t)).find((c) => c.name === name);
  const jobs = cluster ? await jobsOf(a, t, name) : [];
  if (jobs.length > 1) t.add('duplicatedJobs', jobs.length - 1, `${name}: ${jobs.length} jobs for one launch`);
  if (!req) return;
  if (req.status === 'SUCCEEDED') {
    if (jobs.length === 0) t.add('lostJobs', 1, `${name}: launch SUCCEEDED with job ${req.jobId}, which is not there`);
    const job = await waitFor(async () => (await jobsOf(a, t, name)).find((j) => j.id === req.jobId && isTerminal(j.status)), 60_000, 'the job to end').catch(() => undefined);
    if (!job || job.status !== 'SUCCEEDED') t.add('lostJobs', 1, `${name}: job ${req.jobId} ${job?.status ?? 'never ended'}`);
    const log = await cli(a, t, ['logs', name, String(req.jobId), '--no-follow']);
    const seen = (log?.stdout.match(new RegExp(`chaos-${token}`, 'g')) ?? []).length;
    if (seen > 1) t.add('duplicatedJobs', 1, `${name}: the job's output appears ${seen} times`);
    if (r && r.code !== 0) t.add('lostJobs', 1, `${name}: the CLI reported failure (${r.stderr.trim().split('\n').pop()}) for a launch whose job ran`);
  } else {
    if (jobs.length > 0) t.add('lostJobs', 1, `${name}: launch ${req.status} (${req.error}) but job ${jobs[0]!.id} exists (${jobs[0]!.status})`);
    if (r && r.code === 0) t.add('lostJobs', 1, `${name}: the CLI exited 0 for a launch that ${req.status}`);
    if (cluster?.status === 'INIT') {
      // the restarted daemon removes a failed launch's nodes after settling its request: give it time
      const gone = await waitFor(async () => (await clusters(a, t)).find((c) => c.name === name)?.status !== 'INIT', 60_000, 'the teardown').catch(() => false);
      const now = (await clusters(a, t)).find((c) => c.name === name);
      if (!gone && now?.status === 'INIT') t.add('clustersInit', 1, `${name}: INIT after a failed launch (${now.statusReason})`);
    }
  }
}
