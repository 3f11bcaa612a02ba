// Agents SIGKILLed mid-job on a 2-node cluster: alone (their jobs' processes live on) or with
// their whole node (a crash). Jobs whose processes are gone must be FAILED_DRIVER within seconds,
// `aloft start` must bring the cluster back and keep jobs that still run, and nothing may be left.
import { waitFor, type AloftEnv } from '../helpers/cli.js';
import { cli, countInit, countOrphans, isTerminal, jobsOf, nodeProcesses, rng, sleep, type Tally } from './lib.js';

export type AgentKill = 'head-agent' | 'head-node' | 'worker-agent' | 'worker-node';

export interface AgentKillOptions {
  variants: AgentKill[];
  repeats: number;
  seed: number;
}

export async function agentKills(a: AloftEnv, t: Tally, o: AgentKillOptions): Promise<void> {
  const random = rng(o.seed);
  const name = 'ak';
  const up = await cli(a, t, ['launch', '-y', '-c', name, '--num-nodes', '2', '--', 'true']);
  if (!up || up.code !== 0) return void t.add('clustersInit', 1, `${name}: could not launch (${up?.stderr.trim()})`);
  for (const variant of o.variants) {
    for (let r = 0; r < o.repeats; r++) {
      t.runs++;
      const token = `ak-${Math.floor(random() * 1e9)}`;
      // long enough to outlive the kill and the repair, short enough to finish afterwards
      const sub = await cli(a, t, ['exec', name, '-d', '-n', token, '--num-nodes', '2', '--', `echo start; for i in $(seq 1 80); do sleep 0.1; done; echo end-${token}`]);
      const job = (await jobsOf(a, t, name)).find((j) => j.name === token);
      if (!sub || sub.code !== 0 || !job) {
        t.add('lostJobs', 1, `${variant}: exec did not give a job (${sub?.stderr.trim()})`);
        continue;
      }
      await waitFor(async () => (await jobsOf(a, t, name)).find((j) => j.id === job.id)?.status === 'RUNNING', 20_000, 'RUNNING').catch(() => undefined);
      await sleep(random() * 1000);
      const rank = variant.startsWith('head') ? '0' : '1';
      const procs = nodeProcesses(a.home).filter((p) => p.cluster === name && p.rank === rank);
      const victims = variant.endsWith('agent') ? procs.filter((p) => p.cmd.includes('agent.cjs')) : procs;
      // a node crash: frozen first, so no process (the job's wrapper) can record an exit code
      for (const p of victims) signal(p.pid, 'SIGSTOP');
      for (const p of victims) signal(p.pid, 'SIGKILL');
      const jobGone = variant.endsWith('node');
      if (jobGone) {
        // its processes are gone: accounted for within seconds, with nobody running `start`
        const failed = await waitFor(async () => (await jobsOf(a, t, name)).find((j) => j.id === job.id && isTerminal(j.status)), 8_000, 'accounted').catch(() => undefined);
        if (!failed) t.add('lostJobs', 1, `${variant}: job ${job.id} still active 8 s after its processes died`);
      }
      const s = await cli(a, t, ['start', name], { timeoutMs: 120_000 });
      if (!s || s.code !== 0) t.add('clustersInit', 1, `${variant}: start failed (${s?.stderr.trim().split('\n').pop()})`);
      const end = await waitFor(async () => (await jobsOf(a, t, name)).find((j) => j.id === job.id && isTerminal(j.status)), 60_000, 'the job to end').catch(() => undefined);
      if (!end) t.add('lostJobs', 1, `${variant}: job ${job.id} never ended`);
      // a head agent killed alone leaves its job running: the repair must keep it, not kill it
      else if (variant === 'head-agent' && end.status !== 'SUCCEEDED') t.add('lostJobs', 1, `head-agent: a job that still ran ended ${end.status} after the repair`);
      await countOrphans(a, t, `${variant} #${r}`);
    }
  }
  await countInit(a, t, 'agent kills');
  await cli(a, t, ['down', '-y', name]);
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    /* gone */
  }
}
