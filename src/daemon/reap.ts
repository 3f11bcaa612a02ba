// When a head agent is gone, its jobs are not left RUNNING on faith. The daemon runs the agent
// bundle's `reap` on the head node (it reads the journal and looks at the jobs' processes without
// taking anything over) and mirrors what it finds: a job whose process vanished without an exit
// code is FAILED_DRIVER, one that ended has its outcome, one that still runs stays RUNNING for the
// next agent (`aloft start`) to re-adopt. The journal stays the next agent's to take over; it will
// reach the same verdicts.
import type { ReapedJob } from '../agent/protocol.js';
import type { JobRecord } from '../protocol/model.js';
import { errorMessage } from '../util/errors.js';
import { agentBundlePath } from '../util/paths.js';
import { shellQuote } from '../util/shell.js';
import type { DaemonContext } from './context.js';
import { getProvider } from './providers.js';

/** The record a job gets from what `reap` saw, or undefined when it is still (or may yet be) running. */
export function verdict(job: JobRecord, seen: ReapedJob): Partial<JobRecord> | undefined {
  if (seen.final) {
    const { status, exitCode, endedAt, failedRank } = seen.final;
    return { status, endedAt: endedAt ?? Date.now(), ...(exitCode !== undefined ? { exitCode } : {}), ...(failedRank !== undefined ? { failedRank } : {}) };
  }
  if (seen.alive) return undefined;
  const endedAt = Date.now();
  if (seen.exitCode === undefined) return { status: 'FAILED_DRIVER', endedAt };
  const gang = job.numNodes > 1 ? { failedRank: 0 } : {};
  // A setup that succeeded starts the run when the next agent takes over; so may a gang's other ranks.
  if (seen.phase === 'setup') return seen.exitCode === 0 ? undefined : { status: 'FAILED_SETUP', exitCode: seen.exitCode, endedAt, ...gang };
  if (seen.exitCode === 0) return job.numNodes > 1 ? undefined : { status: 'SUCCEEDED', exitCode: 0, endedAt };
  return { status: 'FAILED', exitCode: seen.exitCode, endedAt, ...gang };
}

const running = new Set<string>();

/** Accounts for the jobs of a cluster whose head agent does not answer. Safe to call again and again. */
export async function reapLostHead(ctx: DaemonContext, name: string): Promise<void> {
  if (running.has(name)) return;
  running.add(name);
  try {
    await reap(ctx, name);
  } catch (err) {
    ctx.log.warn({ cluster: name, err: errorMessage(err) }, 'could not look at the jobs of a lost head agent');
  } finally {
    running.delete(name);
  }
}

async function reap(ctx: DaemonContext, name: string): Promise<void> {
  const { store } = ctx;
  const rec = store.getCluster(name);
  const head = store.getInternal(name).nodes?.[0];
  if (!rec || !head) return;
  ctx.links.flushNow();
  const active = store.activeJobsOf(rec.uid).filter((j) => j.status === 'SETTING_UP' || j.status === 'RUNNING');
  if (active.length === 0) return;
  const provider = await getProvider(rec.cloud, ctx.home);
  const t = provider.transport(name, head);
  const bundle = await provider.ensureAgent(t, head, agentBundlePath());
  const node = provider.name === 'local' ? process.execPath : 'node';
  const ids = active.map((j) => j.id).join(',');
  const r = await t.exec(`${shellQuote(node)} ${shellQuote(bundle)} reap --dir ${shellQuote(head.home)} --jobs ${ids}`, { timeoutMs: 30_000 });
  if (r.code !== 0) throw new Error((r.stderr || r.stdout).trim().split('\n').pop() || `exit code ${r.code}`);
  const out = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as { agentAlive?: boolean; jobs?: ReapedJob[] };
  if (out.agentAlive) return; // it runs (but does not answer us): it owns its jobs
  const seen = new Map((out.jobs ?? []).map((j) => [j.id, j]));
  const now = store.getCluster(name);
  if (!now || now.uid !== rec.uid || now.status === 'UP') return; // repaired meanwhile: its agent reports
  for (const j of active) {
    const s = seen.get(j.id);
    const patch = s && verdict(j, s);
    if (!patch) continue;
    const cur = store.getJob(j.clusterUid, j.id);
    if (!cur || cur.status !== j.status) continue; // the mirror moved on meanwhile
    const done = { ...cur, ...patch };
    store.putJob(done);
    ctx.archive.enqueue(done);
    if (patch.status === 'FAILED_DRIVER') store.notice(`cluster ${name}: job ${j.id}'s processes are gone with its head agent → FAILED_DRIVER`, 'warn', name);
  }
}
