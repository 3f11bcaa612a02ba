// Concurrent `exec`s across clusters while the daemon is SIGKILLed now and then. Every exec
// carries a unique name: afterwards each acknowledged one must be there exactly once, and none
// may have run while its CLI reported a failure.
import type { AloftEnv } from '../helpers/cli.js';
import { cli, countInit, countOrphans, daemonAlive, isTerminal, jobsOf, rng, settle, sleep, type Tally } from './lib.js';
import { waitFor } from '../helpers/cli.js';

export interface ExecStormOptions {
  clusters: number;
  execs: number;
  concurrency: number;
  daemonKills: number;
  seed: number;
}

export async function execStorm(a: AloftEnv, t: Tally, o: ExecStormOptions): Promise<void> {
  const random = rng(o.seed);
  const names = Array.from({ length: o.clusters }, (_, i) => `es${i}`);
  for (const c of names) {
    const r = await cli(a, t, ['launch', '-y', '-c', c, '--', 'true']);
    if (!r || r.code !== 0) return void t.add('clustersInit', 1, `${c}: could not launch (${r?.stderr.trim()})`);
  }
  const results: Array<{ name: string; cluster: string; ok: boolean; stderr: string }> = [];
  let next = 0;
  let done = false;
  const worker = async () => {
    while (next < o.execs) {
      const i = next++;
      const name = `es-${i}-${Math.floor(random() * 1e6)}`;
      const cluster = names[i % names.length]!;
      const r = await cli(a, t, ['exec', cluster, '-d', '-n', name, '--', `echo ${name}`], { timeoutMs: 120_000 });
      results.push({ name, cluster, ok: r?.code === 0, stderr: r?.stderr ?? '' });
    }
  };
  const killer = async () => {
    for (let k = 0; k < o.daemonKills && !done; k++) {
      await sleep(300 + random() * 1500);
      const pid = daemonAlive(a);
      if (pid && !done) process.kill(pid, 'SIGKILL');
    }
  };
  const k = killer();
  await Promise.all(Array.from({ length: o.concurrency }, worker));
  done = true;
  await k;
  t.runs += results.length;
  await settle(a, t, 'exec storm');
  const byName = new Map<string, number>();
  for (const c of names) {
    // every job ends (they only echo): one still active is unaccounted for
    const jobs = await waitFor(async () => {
      const js = await jobsOf(a, t, c);
      return js.every((j) => isTerminal(j.status)) ? js : undefined;
    }, 60_000, 'jobs to end').catch(async () => jobsOf(a, t, c));
    for (const j of jobs) {
      if (j.name) byName.set(j.name, (byName.get(j.name) ?? 0) + 1);
      if (!isTerminal(j.status)) t.add('lostJobs', 1, `${c}: job ${j.id} still ${j.status}`);
    }
  }
  for (const r of results) {
    const n = byName.get(r.name) ?? 0;
    if (n > 1) t.add('duplicatedJobs', n - 1, `${r.name}: ${n} jobs`);
    if (r.ok && n === 0) t.add('lostJobs', 1, `${r.name}: acknowledged, not in the queue`);
    if (!r.ok && n > 0) t.add('lostJobs', 1, `${r.name}: the CLI failed (${r.stderr.trim().split('\n').pop()}) but the job ran`);
    if (!r.ok) t.extra['exec calls that failed'] = (t.extra['exec calls that failed'] ?? 0) + 1;
    if (/EPIPE|ECONNRESET|socket hang up/.test(r.stderr)) t.extra['raw socket errors shown'] = (t.extra['raw socket errors shown'] ?? 0) + 1;
  }
  await countOrphans(a, t, 'exec storm');
  await countInit(a, t, 'exec storm');
  for (const c of names) await cli(a, t, ['down', '-y', c]);
}
