// `describe`: everything the daemon knows about a cluster, job, managed job or request, read-only
// and bounded — records, nodes and where to reach them, the task as submitted (secrets redacted),
// and the recent state changes that concern it. Never a secret value, never the cluster token.
import type { DescribedNode, DescribeTarget, Description } from '../protocol/api.js';
import type { ClusterRecord, EventKind, StateEvent } from '../protocol/model.js';
import type { Task } from '../spec/types.js';
import { redactSecrets } from '../spec/redact.js';
import { UserError } from '../util/errors.js';
import type { DaemonContext } from './context.js';
import type { Db } from './db.js';
import { getProvider } from './providers.js';
import { jobTaskKey, requestTaskKey, submittedTask } from './submitted.js';

/** How far back the event log is searched: bounded, so a describe never holds the daemon up. */
const EVENT_WINDOW = 5000;
const MAX_EVENTS = 100;
const MAX_JOBS = 20;

export async function describe(ctx: DaemonContext, t: DescribeTarget): Promise<Description> {
  switch (t?.kind) {
    case 'cluster':
      return describeCluster(ctx, t);
    case 'job':
      return describeJob(ctx, t);
    case 'managed':
      return describeManaged(ctx, t);
    case 'request':
      return describeRequest(ctx, t);
    default:
      throw new UserError('describe needs a target: {kind: cluster|job|managed|request, ...}');
  }
}

async function nodesOf(ctx: DaemonContext, rec: ClusterRecord): Promise<{ nodes: DescribedNode[]; agentEndpoint?: string }> {
  const internal = ctx.store.getInternal(rec.name);
  const provider = await getProvider(rec.cloud, ctx.home).catch(() => undefined);
  const nodes = (internal.nodes ?? []).map((n): DescribedNode => {
    const target = provider?.sessionTarget?.(rec.name, n);
    return {
      rank: n.rank,
      ip: n.ip,
      nodeDir: n.home,
      instanceId: n.instanceId,
      status: n.status,
      ...(target?.kind === 'ssh' ? { ssh: `${target.user}@${target.host}:${target.port}` } : {}),
    };
  });
  return { nodes, ...(internal.headSocket ? { agentEndpoint: internal.headSocket } : {}) };
}

/** The task that launched this incarnation of a cluster: its newest launch request with a task. */
function clusterTask(db: Db, rec: ClusterRecord): Task | undefined {
  const rows = db
    .prepare(`SELECT id FROM requests WHERE cluster = ? AND kind = 'launch' AND created_at >= ? ORDER BY created_at DESC LIMIT 20`)
    .all(rec.name, rec.launchedAt - 60_000) as Array<{ id: string }>;
  for (const r of rows) {
    const task = submittedTask(db, requestTaskKey(r.id));
    if (task) return task;
  }
  return undefined;
}

async function describeCluster(ctx: DaemonContext, t: Extract<DescribeTarget, { kind: 'cluster' }>): Promise<Description> {
  const rec = ctx.store.getCluster(t.cluster);
  if (!rec) throw new UserError(`cluster '${t.cluster}' does not exist`, 'NO_CLUSTER');
  const task = clusterTask(ctx.store.db, rec);
  const { nodes, agentEndpoint } = await nodesOf(ctx, rec);
  const ports = task?.resources.candidates[0]?.ports ?? [];
  const head = nodes[0];
  return {
    target: t,
    cluster: rec,
    nodes,
    ...(agentEndpoint ? { agentEndpoint } : {}),
    ...(head && ports.length ? { endpoints: ports.map((p) => `${head.ip}:${p}`) } : {}),
    jobs: ctx.store.jobsOf(rec.uid, MAX_JOBS),
    ...(task ? { task: redactSecrets(task) } : {}),
    events: recentEvents(ctx.store.db, rec.name, ['cluster', 'cluster-removed', 'notice', 'request'], (e) =>
      e.ts >= rec.launchedAt - 60_000 && (e.cluster?.name === rec.name || e.name === rec.name || e.request?.cluster === rec.name),
    ),
  };
}

async function describeJob(ctx: DaemonContext, t: Extract<DescribeTarget, { kind: 'job' }>): Promise<Description> {
  const rec = ctx.store.getCluster(t.cluster);
  const uid = rec?.uid ?? ctx.store.latestUidOf(t.cluster);
  const job = uid ? ctx.store.getJob(uid, t.job) : undefined;
  if (!uid || !job) throw new UserError(`job ${t.job} not found on cluster '${t.cluster}'`);
  const task = submittedTask(ctx.store.db, jobTaskKey(uid, t.job));
  const logPath = ctx.store.jobLog(uid, t.job);
  const nodes = rec && rec.uid === uid ? (await nodesOf(ctx, rec)).nodes.filter((n) => n.rank < job.numNodes) : undefined;
  return {
    target: t,
    job,
    ...(rec && rec.uid === uid ? { cluster: rec } : {}),
    ...(nodes ? { nodes } : {}),
    ...(task ? { task: redactSecrets(task) } : {}),
    ...(logPath ? { logPath } : {}),
    events: recentEvents(ctx.store.db, t.cluster, ['job', 'request'], (e) =>
      e.kind === 'job' ? e.job?.clusterUid === uid && e.job.id === t.job : e.request?.cluster === t.cluster && e.request.jobId === t.job,
    ),
  };
}

async function describeManaged(ctx: DaemonContext, t: Extract<DescribeTarget, { kind: 'managed' }>): Promise<Description> {
  const m = ctx.store.getManaged(t.id);
  if (!m) throw new UserError(`managed job ${t.id} does not exist`);
  // stored without secret values (managed/service.ts); redacted again all the same
  const stored = ctx.store.managedTask(t.id) as Task | { pipeline: Task[] } | undefined;
  const task = stored === undefined ? undefined : 'pipeline' in stored ? stored.pipeline.map(redactSecrets) : redactSecrets(stored);
  const clusters = new Set(m.attempts.map((a) => a.cluster));
  const live = m.cluster ? ctx.store.getCluster(m.cluster) : undefined;
  return {
    target: t,
    managed: m,
    ...(live ? { cluster: live, nodes: (await nodesOf(ctx, live)).nodes } : {}),
    ...(task ? { task } : {}),
    events: recentEvents(ctx.store.db, '', ['managed', 'notice'], (e) =>
      e.kind === 'managed' ? e.managed?.id === t.id : e.name !== undefined && clusters.has(e.name),
    ),
  };
}

async function describeRequest(ctx: DaemonContext, t: Extract<DescribeTarget, { kind: 'request' }>): Promise<Description> {
  const r = ctx.store.getRequest(t.id);
  if (!r) throw new UserError(`request ${t.id} does not exist`);
  const task = submittedTask(ctx.store.db, requestTaskKey(r.id));
  const rec = ctx.store.getCluster(r.cluster);
  return {
    target: t,
    request: r,
    ...(rec ? { cluster: rec } : {}),
    ...(task ? { task: redactSecrets(task) } : {}),
    events: recentEvents(ctx.store.db, r.id, ['request'], (e) => e.request?.id === r.id),
  };
}

/**
 * Events among the last EVENT_WINDOW whose kind is one of `kinds` and whose body mentions
 * `needle` (SQLite's instr(): no JSON parsing in the scan), kept when `keep` says so; oldest
 * first, at most MAX_EVENTS.
 */
function recentEvents(db: Db, needle: string, kinds: EventKind[], keep: (e: StateEvent) => boolean): StateEvent[] {
  const rows = db
    .prepare(
      `SELECT body FROM events WHERE seq > (SELECT COALESCE(MAX(seq), 0) FROM events) - ? AND kind IN (${kinds.map(() => '?').join(',')})
       AND instr(body, ?) > 0 ORDER BY seq DESC LIMIT ?`,
    )
    .all(EVENT_WINDOW, ...kinds, needle ? JSON.stringify(needle) : '', MAX_EVENTS * 4) as Array<{ body: string }>;
  const out: StateEvent[] = [];
  for (const r of rows) {
    const e = JSON.parse(r.body) as StateEvent;
    if (keep(e)) out.push(e);
    if (out.length >= MAX_EVENTS) break;
  }
  return out.reverse();
}
