// The chaos suite's bookkeeping: what it counts (issue 17's list, goal 0 for each) and how it
// looks at a home after a scenario: processes, requests, clusters, jobs, the daemon's log.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DaemonClient } from '../../src/client/client.js';
import { DaemonUnreachable, type Endpoint } from '../../src/client/http.js';
import { ensureDaemon, waitForServer } from '../../src/client/spawn.js';
import type { ApiMethod, ApiMethods } from '../../src/protocol/api.js';
import { TimeoutError, withTimeout } from '../../src/util/timeout.js';
import type { AloftEnv, RunResult } from '../helpers/cli.js';
import { waitFor } from '../helpers/cli.js';
import { remoteApiOf } from '../helpers/remote.js';

export const COUNT_NAMES = {
  orphans: 'orphans (processes of no cluster, or of no live job)',
  lostJobs: 'lost jobs (acknowledged and missing, or reported failed while they ran, or RUNNING with no process)',
  duplicatedJobs: 'duplicated jobs (one submission, several jobs)',
  requestsRunning: 'requests left RUNNING',
  clustersInit: 'clusters stuck INIT',
  daemonCrashes: 'daemon crashes',
  fiveXX: '5xx answers',
  hangs: 'hangs',
} as const;
export type CountName = keyof typeof COUNT_NAMES;
export type Counts = Record<CountName, number>;

export const zeroCounts = (): Counts => ({ orphans: 0, lostJobs: 0, duplicatedJobs: 0, requestsRunning: 0, clustersInit: 0, daemonCrashes: 0, fiveXX: 0, hangs: 0 });

/** What one scenario did and found; `notes` say what each non-zero count was about. */
export class Tally {
  readonly counts = zeroCounts();
  readonly notes: string[] = [];
  runs = 0;
  extra: Record<string, number> = {};

  add(name: CountName, n: number, note?: string): void {
    if (n <= 0) return;
    this.counts[name] += n;
    if (note) this.notes.push(`${name}: ${note}`);
  }
}

export interface Cluster {
  name: string;
  status: string;
  statusReason?: string;
}
export interface Job {
  id: number;
  name?: string;
  status: string;
  exitCode?: number;
  requestId?: string;
}
export interface Request {
  id: string;
  kind: string;
  cluster: string;
  status: string;
  stage?: string;
  error?: string;
  jobId?: number;
}

/** A CLI call that must answer: a timeout is a hang, counted, and the result is undefined. */
export async function cli(a: AloftEnv, t: Tally, args: string[], opts: { env?: Record<string, string>; timeoutMs?: number } = {}): Promise<RunResult | undefined> {
  try {
    return await a.run(args, { timeoutMs: 90_000, ...opts });
  } catch (err) {
    t.add('hangs', 1, `aloft ${args.join(' ')}: ${String(err).split('\n')[0]}`);
    return undefined;
  }
}

/**
 * A daemon API call made in-process (much cheaper than a CLI process, for the suite's own looks at
 * the state), starting the daemon again when it is gone. No answer in a minute is a hang.
 */
export async function api<M extends ApiMethod>(a: AloftEnv, t: Tally, method: M, params: ApiMethods[M]['params']): Promise<ApiMethods[M]['result'] | undefined> {
  // the remote run (test/helpers/remote.ts): the home's API server over TCP, restarted by its supervisor
  const remote = remoteApiOf(a.home);
  const endpoint: Endpoint | undefined = remote ? { kind: 'tcp', url: remote.url, token: remote.token } : undefined;
  const client = new DaemonClient({ home: a.home, ...(endpoint ? { endpoint } : {}) });
  for (let attempt = 0; attempt < 4; attempt++) {
    try {
      return await withTimeout(client.call(method, params), 60_000, `${method} did not answer in 60 s`);
    } catch (err) {
      if (err instanceof TimeoutError) {
        t.add('hangs', 1, String(err.message));
        return undefined;
      }
      if (!(err instanceof DaemonUnreachable)) return undefined;
      if (endpoint) await waitForServer(endpoint, 60_000).catch(() => undefined);
      else await ensureDaemon(a.home);
    }
  }
  return undefined;
}

export const clusters = async (a: AloftEnv, t: Tally): Promise<Cluster[]> => (await api(a, t, 'status', {}))?.clusters ?? [];
export const jobsOf = async (a: AloftEnv, t: Tally, c: string): Promise<Job[]> => (await api(a, t, 'queue', { cluster: c }))?.jobs ?? [];
export const requests = async (a: AloftEnv, t: Tally): Promise<Request[]> => (await api(a, t, 'requests', { all: true }))?.requests ?? [];

/** Live processes (zombies excluded) tied to a node under ALOFT_HOME/local, by cluster. */
export function nodeProcesses(home: string): Array<{ pid: number; cluster: string; rank: string; cmd: string }> {
  const root = join(home, 'local') + '/';
  const out: Array<{ pid: number; cluster: string; rank: string; cmd: string }> = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      if (/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${e}/stat`, 'latin1'))) continue;
      const env = readFileSync(`/proc/${e}/environ`, 'latin1').split('\0');
      const tie = env.find((kv) => kv.startsWith(`ALOFT_NODE_DIR=${root}`)) ?? env.find((kv) => kv.startsWith(`HOME=${root}`));
      if (!tie) continue;
      const [cluster = '', rank = ''] = tie.slice(tie.indexOf(root) + root.length).split('/');
      out.push({ pid: Number(e), cluster, rank, cmd: readFileSync(`/proc/${e}/cmdline`, 'latin1').replace(/\0/g, ' ').trim() });
    } catch {
      /* gone */
    }
  }
  return out;
}

/**
 * Orphans: processes of a cluster that does not exist, and on a cluster whose jobs are all over,
 * anything but its agents. (Called once a scenario has settled.)
 */
export async function countOrphans(a: AloftEnv, t: Tally, label: string): Promise<void> {
  const list = await clusters(a, t);
  const byName = new Map(list.map((c) => [c.name, c]));
  const busy = new Set<string>();
  for (const c of list) if ((await jobsOf(a, t, c.name)).some((j) => !isTerminal(j.status))) busy.add(c.name);
  const orphans = nodeProcesses(a.home).filter((p) => {
    if (!byName.has(p.cluster)) return true;
    if (busy.has(p.cluster)) return false;
    return !p.cmd.includes('agent.cjs');
  });
  t.add('orphans', orphans.length, `${label}: ${orphans.map((p) => `${p.cluster}: ${p.cmd}`).join('; ')}`);
}

export const isTerminal = (s: string) => ['SUCCEEDED', 'FAILED', 'FAILED_SETUP', 'FAILED_DRIVER', 'CANCELLED'].includes(s);

/** Waits until the daemon answers and no request is RUNNING; counts what is still RUNNING after `ms`. */
export async function settle(a: AloftEnv, t: Tally, label: string, ms = 60_000): Promise<Request[]> {
  let last: Request[] = [];
  try {
    await waitFor(async () => {
      last = await requests(a, t);
      return last.every((r) => r.status !== 'RUNNING');
    }, ms, 'requests to settle');
  } catch {
    const running = last.filter((r) => r.status === 'RUNNING');
    t.add('requestsRunning', running.length, `${label}: ${running.map((r) => `${r.id} at ${r.stage}`).join(', ')}`);
  }
  return last;
}

/** Clusters INIT once everything that could repair them has run. */
export async function countInit(a: AloftEnv, t: Tally, label: string): Promise<void> {
  const init = (await clusters(a, t)).filter((c) => c.status === 'INIT');
  t.add('clustersInit', init.length, `${label}: ${init.map((c) => `${c.name} (${c.statusReason ?? ''})`).join(', ')}`);
}

/** 500s the daemon answered (it logs each), fatal errors it logged, since `fromLine` of its log. */
export function scanDaemonLog(a: AloftEnv, t: Tally, fromLine: number): number {
  let lines: string[] = [];
  try {
    lines = readFileSync(join(a.home, 'daemon.log'), 'utf8').split('\n');
  } catch {
    return 0;
  }
  for (const l of lines.slice(fromLine)) {
    if (!l.startsWith('{')) continue;
    try {
      const e = JSON.parse(l) as { level?: number; msg?: string; err?: string };
      if (e.msg === 'request failed' && e.level === 50 && !('cluster' in e)) t.add('fiveXX', 1, `daemon answered 500: ${e.err}`);
      if (e.level === 60 || e.msg === 'uncaught exception') t.add('daemonCrashes', 1, `daemon log: ${e.msg}: ${e.err}`);
    } catch {
      /* a partial line */
    }
  }
  return lines.length;
}

export function daemonAlive(a: AloftEnv): number | undefined {
  const pid = a.daemonPid();
  if (!pid) return undefined;
  try {
    process.kill(pid, 0);
    return pid;
  } catch {
    return undefined;
  }
}

/** A seeded PRNG (mulberry32): a failing run can be repeated with its seed. */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let x = s;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
