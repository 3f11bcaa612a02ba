// The daemon's API methods and streams (protocol/api.ts). Long work runs as requests in the
// background; these handlers only validate, start it, and answer.

import { readFileSync } from 'node:fs';
import type { ApiMethods, LaunchParams, LogStreamItem } from '../protocol/api.js';
import { API_VERSION } from '../protocol/api.js';
import { API_PARAMS, describeIssue, STREAM_QUERIES, type StreamQuery } from '../protocol/schemas.js';
import type { ClusterRecord, JobRecord, RequestKind } from '../protocol/model.js';
import { isTerminalJob, TERMINAL_MANAGED_STATUSES } from '../protocol/model.js';
import { UserError, errorMessage } from '../util/errors.js';
import { generateClusterName, validateClusterName } from '../util/names.js';
import { daemonSettings } from '../util/env.js';
import { aloftVersion } from '../util/version.js';
import type { DaemonContext } from './context.js';
import { runLaunch } from './pipeline/launch.js';
import { requireCluster, setAutostop, startCluster, stopCluster, teardown } from './pipeline/lifecycle.js';
import { submissionOf } from './pipeline/jobs.js';
import { syncWorkdir } from './pipeline/sync.js';
import { getProvider } from './providers.js';
import { jobTaskKey, recordTask, requestTaskKey } from './submitted.js';
import { RequestCancelled } from './requests.js';
import type { RpcHandler, StreamHandler } from './server.js';
import { Forbidden, localUserName, mayChange, requireAdmin, requireOwner, type Caller } from './team/caller.js';
import type { AuditLog } from './team/audit.js';
import type { Users } from './team/users.js';
import { localizeTask } from './team/uploads.js';

/** Every method gets the caller the server authenticated (methods that do not care ignore it). */
type Handlers = { [M in keyof ApiMethods]: (p: ApiMethods[M]['params'], caller: Caller) => Promise<ApiMethods[M]['result']> };
type TypedStream<S extends keyof typeof STREAM_QUERIES> = (q: StreamQuery<S>, send: (item: unknown) => void, signal: AbortSignal) => Promise<void>;

export interface ApiOptions {
  socket: string;
  startedAt: number;
  shutdown: () => void;
  users: Users;
  audit: AuditLog;
  /** TCP addresses served (team mode) */
  listen: () => string[];
  state: { kind: 'sqlite' | 'postgresql'; location: string };
}

/** The user a record belongs to (a record from before team mode: the local user's). */
const ownerOf = (r: { user?: string }): string => r.user ?? localUserName();

export function createApi(ctx: DaemonContext, opts: ApiOptions): { rpc: Map<string, RpcHandler>; streams: Map<string, StreamHandler> } {
  const { store, requests } = ctx;

  /** Runs `work` as a background request; answers with its id at once. */
  const background = (kind: RequestKind, cluster: string, caller: Caller, work: (reqId: string) => Promise<{ jobId?: number } | void>, id?: string) => {
    const req = requests.create(kind, cluster, { user: caller.user, ...(id ? { id } : {}) });
    void (async () => {
      try {
        const r = await work(req.id);
        requests.finish(req.id, { jobId: r ? r.jobId : undefined });
      } catch (err) {
        if (!(err instanceof UserError) && !(err instanceof RequestCancelled)) ctx.log.error({ cluster, kind, err: String(err), stack: (err as Error).stack }, 'request failed');
        requests.finish(req.id, { error: err });
      }
    })();
    return req.id;
  };

  const handlers: Handlers = {
    async info() {
      return {
        version: aloftVersion(),
        apiVersion: API_VERSION,
        pid: process.pid,
        socket: opts.socket,
        home: ctx.home,
        startedAt: opts.startedAt,
        uptimeSeconds: Math.round((Date.now() - opts.startedAt) / 1000),
        infra: await usableInfraCached(),
        ...(opts.listen().length ? { listen: opts.listen() } : {}),
        state: opts.state,
        settings: daemonSettings(process.env),
      };
    },
    async shutdown(_p, caller) {
      requireAdmin(caller, 'stop the API server');
      setImmediate(opts.shutdown);
      return { ok: true };
    },
    async launch(given: LaunchParams, caller) {
      // A retry of a launch whose answer was lost (the daemon died): the request it made.
      const known = given.requestId ? store.getRequest(given.requestId) : undefined;
      if (known) {
        if (known.kind !== 'launch' || ownerOf(known) !== caller.user) throw new UserError(`request id ${known.id} is taken; retry with a new one`);
        return { requestId: known.id, cluster: known.cluster };
      }
      const cluster = given.cluster ? validateClusterName(given.cluster) : generateClusterName(caller.user);
      const owner = replicaOwner(cluster);
      if (owner) throw new UserError(`cluster name '${cluster}' belongs to service '${owner.service}' (its replica ${owner.id}); pick another name`);
      const existing = store.getCluster(cluster);
      if (existing) requireOwner(caller, existing.user, `cluster '${cluster}'`, 'launch on it');
      const p: LaunchParams = { ...given, task: localizeTask(given.task, caller, ctx.home) };
      const requestId = background(
        'launch',
        cluster,
        caller,
        async (id) => {
          const r = await runLaunch(ctx, p, requestRecord(id));
          const uid = store.getCluster(cluster)?.uid;
          if (r.jobId !== undefined && uid) recordTask(store.db, jobTaskKey(uid, r.jobId), p.task);
          return r;
        },
        p.requestId,
      );
      // what `describe` shows as the task as submitted (secret values redacted before writing)
      recordTask(store.db, requestTaskKey(requestId), p.task);
      return { requestId, cluster };
    },
    async exec(given, caller) {
      const rec = requireCluster(ctx, validateClusterName(given.cluster));
      requireOwner(caller, rec.user, `cluster '${rec.name}'`, 'run work on it');
      const p = { ...given, task: localizeTask(given.task, caller, ctx.home) };
      if (rec.status !== 'UP') {
        throw new UserError(
          rec.status === 'STOPPED'
            ? `cluster '${rec.name}' is STOPPED; start it with \`aloft start ${rec.name}\``
            : rec.statusReason?.includes('aloft start')
              ? `cluster '${rec.name}' is ${rec.status} (${rec.statusReason})`
              : `cluster '${rec.name}' is ${rec.status}${rec.statusReason ? ` (${rec.statusReason})` : ''}; repair it with \`aloft start ${rec.name}\``,
          'CLUSTER_NOT_UP',
        );
      }
      if (p.task.numNodes > rec.numNodes) {
        throw new UserError(`cluster '${rec.name}' has ${rec.numNodes} node(s); the task needs ${p.task.numNodes}`);
      }
      let warnings: string[] = [];
      if (p.task.workdir) {
        const provider = await getProvider(rec.cloud, ctx.home);
        ({ warnings } = await syncWorkdir(provider, rec.name, store.getInternal(rec.name).nodes ?? [], p.task.workdir));
      }
      // The caller's key makes a retry (after the daemon died mid-call) find the same job.
      const sub = submissionOf(p.task, { withSetup: false, user: caller.user, ...(p.requestId ? { requestId: p.requestId } : {}) });
      if (!sub) throw new UserError('nothing to run: give a YAML with `run:` or a command after --');
      const client = await headAgent(ctx, rec.name);
      const { jobId } = await client.call('submit', sub);
      recordTask(store.db, jobTaskKey(rec.uid, jobId), p.task);
      return { cluster: rec.name, jobId, ...(warnings.length ? { warnings } : {}) };
    },
    async plan(p) {
      const { planText } = await import('./plan-api.js');
      return planText(ctx, p);
    },
    async status(p) {
      let clusters = store.listClusters();
      if (p?.clusters?.length) {
        const want = new Set(p.clusters);
        clusters = clusters.filter((c) => want.has(c.name));
      }
      if (p?.refresh) {
        // Nodes from each provider in one batch (one call per cloud region), then the agents.
        const { refreshClusters } = await import('./reconcile.js');
        await refreshClusters(ctx, clusters);
        const names = new Set(store.listClusters().map((c) => c.name));
        clusters = clusters.filter((c) => names.has(c.name)).map((c) => store.getCluster(c.name) ?? c);
      }
      return { clusters };
    },
    async queue(p) {
      ctx.links.flushNow();
      const clusters: ClusterRecord[] = p?.cluster ? [requireCluster(ctx, p.cluster)] : store.listClusters();
      let jobs: JobRecord[] = [];
      for (const c of clusters) jobs.push(...store.jobsOf(c.uid));
      if (p?.skipFinished) jobs = jobs.filter((j) => !isTerminalJob(j.status));
      return { jobs };
    },
    async cancel(p, caller) {
      const rec = requireCluster(ctx, p.cluster);
      if (rec.status !== 'UP') throw new UserError(`cluster '${rec.name}' is ${rec.status}; nothing runs on it`);
      if (!p.all && !(p.jobIds && p.jobIds.length > 0)) throw new UserError('say which jobs to cancel, or --all');
      let target: { all: true } | { jobIds: number[] } = p.all ? { all: true } : { jobIds: p.jobIds! };
      if (!mayChange(caller, rec.user)) {
        // Not the cluster's owner: only jobs of one's own on it.
        ctx.links.flushNow();
        const jobs = store.jobsOf(rec.uid);
        if (p.all) target = { jobIds: jobs.filter((j) => !isTerminalJob(j.status) && j.user === caller.user).map((j) => j.id) };
        else {
          for (const id of p.jobIds!) {
            const j = jobs.find((x) => x.id === id);
            if (j && j.user !== caller.user) {
              const who = j.user ?? ownerOf(rec);
              throw new Forbidden(`job ${id} on '${rec.name}' belongs to ${who}: only ${who}, the cluster's owner or an admin may cancel it`);
            }
          }
        }
        if ('jobIds' in target && target.jobIds.length === 0) return { cancelled: [] };
      }
      const client = await headAgent(ctx, rec.name);
      return client.call('cancel', target);
    },
    async stop(p, caller) {
      const { names, missing } = known(p.clusters);
      for (const n of names) owned(caller, n, 'stop it');
      // A managed job's cluster belongs to its controller: a stop would end the job for good.
      const owners = new Map(ctx.store.activeManaged().filter((m) => m.cluster).map((m) => [m.cluster!, m.id]));
      for (const n of names) {
        const id = owners.get(n);
        if (id !== undefined) throw new UserError(`cluster '${n}' runs managed job ${id}; its controller owns it (cancel the job with \`aloft jobs cancel ${id}\`)`);
        const owner = replicaOwner(n);
        if (owner) throw new UserError(`cluster '${n}' is replica ${owner.id} of service '${owner.service}'; its controller owns it (\`aloft serve down ${owner.service}\`)`);
      }
      // Refused up front, in one line, where the infra has nothing to stop (kubernetes pods).
      for (const n of names) {
        const rec = requireCluster(ctx, n);
        if (!(await getProvider(rec.cloud, ctx.home)).capabilities.stop) {
          throw new UserError(`cluster '${n}' runs on ${rec.infra}: ${rec.cloud} clusters cannot be stopped; use \`aloft down ${n}\` (autostop there tears down)`, 'CANNOT_STOP');
        }
      }
      return { requestIds: names.map((n) => background('stop', n, caller, () => ctx.locks.with(n, () => stopCluster(ctx, n)))), clusters: names, missing };
    },
    async start(p, caller) {
      const { names, missing } = known(p.clusters);
      for (const n of names) owned(caller, n, 'start it');
      return {
        clusters: names,
        missing,
        requestIds: names.map((n) =>
          background('start', n, caller, (id) =>
            ctx.locks.with(n, async () => {
              await startCluster(ctx, n, (m) => requests.progress(id, m));
              if (p.idleMinutes !== undefined) await setAutostop(ctx, n, { idleMinutes: p.idleMinutes, down: p.down });
            }),
          ),
        ),
      };
    },
    async down(p, caller) {
      if (p.allUsers) requireAdmin(caller, "tear down every user's clusters");
      const { names, missing } = p.all
        ? { names: store.listClusters().filter((c) => p.allUsers || ownerOf(c) === caller.user).map((c) => c.name), missing: [] }
        : known(p.clusters ?? []);
      for (const n of p.all ? [] : names) owned(caller, n, 'tear it down');
      return {
        clusters: names,
        missing,
        requestIds: names.map((n) => background('down', n, caller, (id) => ctx.locks.with(n, () => teardown(ctx, n, { purge: p.purge, requestId: id })))),
      };
    },
    async autostop(p, caller) {
      for (const n of p.clusters) owned(caller, n, 'change its autostop'); // all or nothing: check every name first
      const clusters: ClusterRecord[] = [];
      for (const n of p.clusters) clusters.push(await setAutostop(ctx, n, p));
      return { clusters };
    },
    async requests(p) {
      return { requests: p?.all ? store.recentRequests(10_000) : store.recentRequests(100) };
    },
    async costReport(p) {
      const { costRow } = await import('./cost.js');
      const now = Date.now();
      // Like `sky cost-report`: the last 30 days by default (--days N), everything with --all.
      const since = p?.all ? 0 : now - (p?.days ?? 30) * 86_400_000;
      const live = new Set(store.listClusters().map((c) => c.uid));
      const rows = store.clusterHistory(since).map((h) => {
        const current = live.has(h.record.uid) ? (store.getCluster(h.record.name) ?? h.record) : h.record;
        return costRow(current, h.intervals, h.endedAt, live.has(h.record.uid), now);
      });
      const total = Math.round(rows.reduce((a, r) => a + r.cost, 0) * 1e6) / 1e6;
      return { rows, total };
    },
    async requestCancel(p, caller) {
      if (!p?.id) throw new UserError('say which request to cancel (see `aloft requests`)');
      const req = store.getRequest(p.id);
      if (!req) throw new UserError(`no request '${p.id}' (see \`aloft requests\`)`, 'NOT_FOUND');
      requireOwner(caller, req.user, `request ${req.id}`, 'cancel it');
      if (req.status !== 'RUNNING') {
        throw new UserError(`request ${req.id} is already ${req.status}${req.kind === 'launch' && req.jobId !== undefined ? `; its job runs on its own: \`aloft cancel ${req.cluster} ${req.jobId}\`` : ''}`);
      }
      if (req.kind !== 'launch') throw new UserError(`only launches can be cancelled; ${req.id} is a ${req.kind}`);
      return { request: requests.cancel(req.id) ?? req };
    },
    async snapshot() {
      return store.snapshot();
    },
    async describe(p) {
      const { describe } = await import('./describe.js');
      return describe(ctx, p);
    },
    async serveUp(p, caller) {
      if (!p?.task) throw new UserError('serve up needs a task');
      return { service: services().up({ ...p, task: localizeTask(p.task, caller, ctx.home) }, caller.user) };
    },
    async serveUpdate(p, caller) {
      if (!p?.task || !p.name) throw new UserError('serve update needs a service name and a task');
      const svc = store.getService(p.name);
      if (svc) requireOwner(caller, svc.user, `service '${p.name}'`, 'update it');
      return services().update({ ...p, task: localizeTask(p.task, caller, ctx.home) });
    },
    async serveStatus(p) {
      let list = store.listServices();
      if (p?.names?.length) {
        const missing = p.names.filter((n) => !list.some((s) => s.name === n));
        if (missing.length) throw new UserError(`no service named ${missing.map((m) => `'${m}'`).join(', ')} (see \`aloft serve status\`)`, 'NO_SERVICE');
        list = list.filter((s) => p.names!.includes(s.name));
      }
      return { services: list };
    },
    async serveDown(p, caller) {
      // like `down -a`: everyone's services only for an admin; naming another's is refused
      const mine = store.listServices().filter((s) => mayChange(caller, s.user)).map((s) => s.name);
      if (p?.all) return services().down({ names: mine, purge: p.purge });
      for (const n of p?.names ?? []) {
        const svc = store.getService(n);
        if (svc) requireOwner(caller, svc.user, `service '${n}'`, 'tear it down');
      }
      return services().down(p ?? {});
    },
    async storageLs() {
      return { storage: store.listStorage() };
    },
    async storageDelete(p, caller) {
      // Buckets are not recorded per user: deleting one (objects and all) is an admin's call.
      requireAdmin(caller, 'delete buckets');
      const { deleteBucket } = await import('./pipeline/storage.js');
      const all = store.listStorage();
      const names = p?.all ? [...new Set(all.map((r) => r.name))] : (p?.names ?? []);
      if (names.length === 0) throw new UserError(p?.all ? 'no buckets to delete' : 'say which buckets to delete, or --all');
      const unknown = names.filter((n) => !all.some((r) => r.name === n));
      if (unknown.length) throw new UserError(`not a bucket aloft created: ${unknown.join(', ')} (see \`aloft storage ls\`)`);
      const live = new Set(store.listClusters().map((c) => c.name));
      const deleted: string[] = [];
      const failed: Array<{ name: string; error: string }> = [];
      for (const rec of all.filter((r) => names.includes(r.name))) {
        const users = rec.clusters.filter((c) => live.has(c));
        if (users.length) {
          failed.push({ name: rec.name, error: `mounted by cluster ${users.join(', ')}; tear ${users.length > 1 ? 'them' : 'it'} down first` });
          continue;
        }
        try {
          await deleteBucket(ctx, rec);
          deleted.push(rec.name);
        } catch (err) {
          failed.push({ name: rec.name, error: (err as Error).message });
        }
      }
      return { deleted, failed };
    },
    async jobsLaunch(given, caller) {
      if (!given?.task) throw new UserError('jobs launch needs a task');
      const p = {
        ...given,
        task: localizeTask(given.task, caller, ctx.home),
        ...(given.tasks ? { tasks: given.tasks.map((t) => localizeTask(t, caller, ctx.home)) } : {}),
      };
      return { job: managed().submit(p, caller.user) };
    },
    async jobsQueue(p) {
      let jobs = store.listManaged();
      if (p?.skipFinished) jobs = jobs.filter((j) => !TERMINAL_MANAGED_STATUSES.has(j.status));
      return { jobs };
    },
    async jobsCancel(p, caller) {
      if (p.allUsers) requireAdmin(caller, "cancel every user's managed jobs");
      const m = managed();
      let jobs = m.resolve(p.ids, p.name, p.all ?? false);
      // -a / -n: the caller's own jobs (everyone's with --all-users); by id: refused if not theirs.
      if (p.all || p.name !== undefined) jobs = jobs.filter((j) => p.allUsers || ownerOf(j) === caller.user);
      else for (const j of jobs) requireOwner(caller, j.user, `managed job ${j.id}`, 'cancel it');
      return { cancelled: m.cancel(jobs) };
    },
    async preempt(p, caller) {
      const rec = owned(caller, p.cluster, 'preempt it');
      if (rec.cloud !== 'local') throw new UserError(`only local clusters can be preempted by hand; ${rec.name} runs on ${rec.infra}`);
      if (!rec.useSpot) throw new UserError(`cluster '${rec.name}' is not a spot cluster (launch it with --use-spot)`);
      const { preemptLocal } = await import('./chaos.js');
      await preemptLocal(ctx, rec.name);
      return { ok: true };
    },
    async nodeIps(p) {
      const rec = requireCluster(ctx, p.cluster);
      if (rec.status !== 'UP') throw new UserError(`cluster '${rec.name}' is ${rec.status}; it has no running nodes`);
      return { ips: (store.getInternal(rec.name).nodes ?? []).map((n) => n.ip) };
    },
    async endpoints(p) {
      const rec = requireCluster(ctx, validateClusterName(p.cluster));
      if (rec.status !== 'UP') throw new UserError(`cluster '${rec.name}' is ${rec.status}; its endpoints are known once it is UP`);
      const { expandPorts } = await import('../util/ports.js');
      const ports = expandPorts(store.getInternal(rec.name).ports ?? []);
      if (!ports.length) throw new UserError(`cluster '${rec.name}' exposes no ports (add \`ports:\` to the task's resources)`);
      const provider = await getProvider(rec.cloud, ctx.home);
      // Without a provider mapping (local, ssh), a port answers on the head node's own address.
      const head = store.getInternal(rec.name).nodes?.[0]?.ip ?? '127.0.0.1';
      const all: Record<string, string> = provider.endpoints
        ? Object.fromEntries(Object.entries(await provider.endpoints(rec.name)).map(([k, v]) => [String(k), v]))
        : Object.fromEntries(ports.map((port) => [String(port), `${head}:${port}`]));
      if (p.port === undefined) return { endpoints: all };
      const hit = all[String(p.port)];
      if (!hit) throw new UserError(`port ${p.port} is not exposed by cluster '${rec.name}' (ports: ${ports.join(', ')})`);
      return { endpoints: { [String(p.port)]: hit } };
    },
    async nodeTarget(p, caller) {
      if (caller.remote) throw new UserError('`aloft ssh` reaches nodes from the machine that runs the server; through an API server use `aloft exec CLUSTER -- CMD`');
      const rec = requireCluster(ctx, p.cluster);
      if (rec.status !== 'UP') throw new UserError(`cluster '${rec.name}' is ${rec.status}; start it first`);
      const nodes = store.getInternal(rec.name).nodes ?? [];
      const node = nodes[p.rank ?? 0];
      if (!node) throw new UserError(`cluster '${rec.name}' has no node of rank ${p.rank ?? 0} (it has ${nodes.length})`);
      const provider = await getProvider(rec.cloud, ctx.home);
      const target = provider.sessionTarget?.(rec.name, node);
      if (target) return target;
      return { kind: 'local', home: node.home, env: { HOME: node.home, ALOFT_NODE_DIR: node.home, SKYPILOT_NODE_RANK: String(node.rank) } };
    },
    async whoami(_p, caller) {
      return { user: caller.user, role: caller.role, remote: caller.remote };
    },
    async usersAdd(p, caller) {
      requireAdmin(caller, 'add users');
      return { user: opts.users.add(p.name, p.role ?? 'user') };
    },
    async usersList(_p, caller) {
      requireAdmin(caller, 'list users');
      return { users: opts.users.list() };
    },
    async usersRemove(p, caller) {
      requireAdmin(caller, 'remove users');
      if (p.name === caller.user) throw new UserError('you cannot remove yourself');
      opts.users.remove(p.name);
      return { ok: true };
    },
    async tokensCreate(p, caller) {
      requireAdmin(caller, 'create tokens');
      return opts.users.createToken(p.user, p.label);
    },
    async tokensList(_p, caller) {
      requireAdmin(caller, 'list tokens');
      return { tokens: opts.users.listTokens() };
    },
    async tokensRevoke(p, caller) {
      requireAdmin(caller, 'revoke tokens');
      opts.users.revoke(p.id);
      return { ok: true };
    },
    async audit(p, caller) {
      requireAdmin(caller, 'read the audit log');
      return { entries: opts.audit.list(Math.min(10_000, Math.max(1, p?.limit ?? 100))) };
    },
  };

  /** A cluster the caller may change (its owner, or an admin). */
  function owned(caller: Caller, name: string, verb: string): ClusterRecord {
    const rec = requireCluster(ctx, name);
    requireOwner(caller, rec.user, `cluster '${rec.name}'`, verb);
    return rec;
  }

  /** Splits names into clusters that exist and names that do not (reported, not fatal to the rest). */
  function known(names: string[]): { names: string[]; missing: string[] } {
    const out = { names: [] as string[], missing: [] as string[] };
    for (const n of names) (store.getCluster(n) ? out.names : out.missing).push(n);
    return out;
  }

  function services() {
    if (!ctx.services) throw new UserError('services are not available in this daemon');
    return ctx.services;
  }

  /** The service whose replica cluster this name is (SERVICE-N), if any. */
  function replicaOwner(cluster: string): { service: string; id: number } | undefined {
    const m = /^(.+)-(\d+)$/.exec(cluster);
    if (!m || !store.getService(m[1]!)) return undefined;
    return { service: m[1]!, id: Number(m[2]) };
  }

  function managed() {
    if (!ctx.managed) throw new UserError('managed jobs are not available in this daemon');
    return ctx.managed;
  }

  // Credential files and pools change rarely; `info` is on every CLI start-up path, so cache.
  let infraCache: { at: number; value: Promise<string[]> } | undefined;
  function usableInfraCached(): Promise<string[]> {
    if (!infraCache || Date.now() - infraCache.at > 30_000) {
      const value = import('../catalog/detect.js')
        .then(async ({ detectInfra, usableInfra }) => usableInfra(await detectInfra({})))
        .catch(() => ['local']);
      infraCache = { at: Date.now(), value };
    }
    return infraCache.value;
  }

  function requestRecord(id: string) {
    const r = store.getRequest(id);
    if (!r) throw new Error(`request ${id} vanished`);
    return r;
  }

  const streams: { [S in keyof typeof STREAM_QUERIES]: TypedStream<S> } = {
    request: (q, send, signal) => requests.follow(q.id, send, signal),
    logs: (q, send, signal) => streamLogs(ctx, q, send as (i: LogStreamItem) => void, signal),
    managedLogs: (q, send, signal) =>
      managed().streamLogs(
        { id: q.id, name: q.name, follow: q.follow ?? false, controller: q.controller ?? false },
        send as (i: LogStreamItem) => void,
        signal,
      ),
    serveLogs: (q, send, signal) =>
      services().streamLogs(
        {
          name: q.name,
          ...(q.replica !== undefined ? { replica: q.replica } : {}),
          ...(q.target ? { target: q.target } : {}),
          follow: q.follow ?? false,
          ...(q.tail !== undefined ? { tail: q.tail } : {}),
        },
        send as (i: LogStreamItem) => void,
        signal,
      ),
  };

  return { rpc: checkedHandlers(handlers), streams: checkedStreams(streams) };
}

/**
 * Every method behind its schema (protocol/schemas.ts): a call whose parameters do not fit is
 * refused before anything happens, with one line naming the field. A Map, not an object: a
 * method name is never looked up on a prototype (`constructor`, `toString`).
 */
function checkedHandlers(handlers: Handlers): Map<string, RpcHandler> {
  const out = new Map<string, RpcHandler>();
  for (const method of Object.keys(API_PARAMS) as (keyof ApiMethods)[]) {
    const schema = API_PARAMS[method];
    const handler = handlers[method] as (p: unknown, caller: Caller) => Promise<unknown>;
    out.set(method, (body: unknown, caller: Caller) => {
      const raw = body === undefined ? {} : body;
      const res = schema.safeParse(raw);
      if (!res.success) throw new UserError(`${method}: ${describeIssue(res.error, raw)}`, 'BAD_PARAMS');
      return handler(res.data, caller);
    });
  }
  return out;
}

function checkedStreams(streams: { [S in keyof typeof STREAM_QUERIES]: TypedStream<S> }): Map<string, StreamHandler> {
  const out = new Map<string, StreamHandler>();
  for (const name of Object.keys(STREAM_QUERIES) as (keyof typeof STREAM_QUERIES)[]) {
    const schema = STREAM_QUERIES[name];
    const handler = streams[name] as TypedStream<typeof name>;
    out.set(name, (query, send, signal) => {
      const raw = Object.fromEntries(query);
      const res = schema.safeParse(raw);
      if (!res.success) throw new UserError(`${name} stream: ${describeIssue(res.error, raw)}`, 'BAD_PARAMS');
      return handler(res.data as never, send, signal);
    });
  }
  return out;
}

async function streamLogs(ctx: DaemonContext, q: StreamQuery<'logs'>, send: (i: LogStreamItem) => void, signal: AbortSignal): Promise<void> {
  const { store } = ctx;
  const name = q.cluster;
  const follow = q.follow ?? false;
  const { tail, rank } = q;
  const rec = store.getCluster(name);
  const uid = rec?.uid ?? store.latestUidOf(name);
  if (!uid) throw new UserError(`cluster '${name}' does not exist and has no saved logs`, 'NO_CLUSTER');
  ctx.links.flushNow();
  let jobId = q.job;
  if (jobId === undefined) jobId = store.jobsOf(uid, 1)[0]?.id;
  if (jobId === undefined) throw new UserError(`cluster '${name}' has no jobs yet`);
  const known = store.getJob(uid, jobId);
  if (known && rank !== undefined && rank >= known.numNodes) {
    throw new UserError(`job ${jobId} of '${name}' ran on ${known.numNodes} node${known.numNodes === 1 ? '' : 's'}: --rank takes 0${known.numNodes > 1 ? `..${known.numNodes - 1}` : ''}, not ${rank}`);
  }

  if (rec?.status === 'UP') {
    try {
      const client = await ctx.links.get(name);
      const handle = await client.stream('logs', { jobId, follow, tailLines: tail, rank }, (item: unknown) => {
        const text = (item as { text?: string }).text;
        if (text) send({ type: 'text', text });
      });
      // The reader went away (ctrl-c): stop the agent's stream too.
      signal.addEventListener('abort', () => handle.cancel(), { once: true });
      await handle.done;
      const { jobs } = await client.call('jobs', { jobIds: [jobId] });
      const job = jobs[0] ? { ...jobs[0], cluster: name, clusterUid: uid } : (known ?? null);
      send({ type: 'end', job });
      return;
    } catch (err) {
      if (!known) throw err;
      // fall through to the archived copy
    }
  }
  if (!known) throw new UserError(`job ${jobId} not found on cluster '${name}'`);
  // Not archived yet and the agent is gone (a crashed or stopped cluster): copy it off the node's disk.
  if (!store.jobLog(uid, jobId) && rec) await ctx.archive.archiveNow([known]);
  const path = store.jobLog(uid, jobId);
  if (!path) throw new UserError(`no saved log for job ${jobId} of cluster '${name}'`);
  let text = readFileSync(path, 'utf8');
  if (rank !== undefined) text = filterRank(text, rank);
  if (tail !== undefined) {
    const lines = text.split('\n');
    if (lines[lines.length - 1] === '') lines.pop();
    text = lines.slice(-tail).join('\n') + (lines.length ? '\n' : '');
  }
  if (text) send({ type: 'text', text });
  send({ type: 'end', job: known, archived: true });
}

/** The cluster's head agent; one that does not answer is the user's to repair, not a daemon fault. */
async function headAgent(ctx: DaemonContext, name: string) {
  try {
    return await ctx.links.get(name);
  } catch (err) {
    throw new UserError(`cluster '${name}': the head agent does not answer (${errorMessage(err)}); repair it with \`aloft start ${name}\``, 'AGENT_UNREACHABLE');
  }
}

/** Keeps the lines of one rank of a gang job's log (lines are prefixed `(... rank=N, ...)`). */
export function filterRank(text: string, rank: number): string {
  const re = new RegExp(`^\\([^)]*\\brank=${rank}\\b[^)]*\\)`);
  const kept = text.split('\n').filter((l) => re.test(l));
  return kept.length ? kept.join('\n') + '\n' : '';
}
