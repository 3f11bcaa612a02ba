// The daemon's state: clusters, jobs, requests and the numbered event log. Every change is
// written together with its event in one transaction, so the event stream and the tables can
// never disagree, and a client resuming from a sequence number sees every change exactly once.

import { EventEmitter } from 'node:events';
import type {
  ClusterRecord,
  JobRecord,
  ManagedJobRecord,
  RequestRecord,
  ServiceRecord,
  StateEvent,
  StateSnapshot,
  StorageRecord,
} from '../protocol/model.js';
import type { NodeInfo } from '../providers/types.js';
import type { Db } from './db.js';
import type { Durability } from './state/pg-mirror.js';
import { nextIntervals, type Interval } from './cost.js';
import type { MountPlan } from '../storage/plan.js';

/** The record a statement's row holds (JSON in its `record` column), if it found one. */
const recordOf = <T>(row: unknown): T | undefined => (row ? (JSON.parse((row as { record: string }).record) as T) : undefined);

/** The records of a statement's rows. */
const recordsOf = <T>(rows: unknown[]): T[] => (rows as Array<{ record: string }>).map((r) => JSON.parse(r.record) as T);

/** What the daemon keeps about a cluster that clients never see. */
export interface ClusterInternal {
  nodes?: NodeInfo[];
  /** the head agent's job-change sequence we have mirrored up to */
  agentSeq?: number;
  headSocket?: string;
  token?: string;
  /** the task's `ports:` (what `status --endpoints` shows) */
  ports?: string[];
  /** provider-specific data (ssh hosts, instance ids...) */
  provider?: Record<string, unknown>;
  /**
   * a teardown that started and has not finished: written before it acts, so a daemon that dies
   * during it (or during the recovery that ordered it) resumes it on restart (recover.ts)
   */
  teardown?: PendingTeardown;
  /** bucket mounts set up on the nodes (no credentials): remounted on start, unmounted on stop/down */
  storage?: MountPlan[];
}

export interface PendingTeardown {
  /** why, for the notice and the cluster's statusReason */
  reason: string;
  archive: boolean;
  purge: boolean;
  /** the `down` request to finish when it is done */
  requestId?: string;
  at: number;
}

const EVENT_RETENTION = 20_000;

export class Store extends EventEmitter {
  private seq: number;
  private readonly stmts;

  constructor(
    readonly db: Db,
    private readonly durability?: Pick<Durability, 'barrier'>,
  ) {
    super();
    this.setMaxListeners(0);
    this.seq = (db.prepare('SELECT COALESCE(MAX(seq), 0) AS s FROM events').get() as { s: number }).s;
    this.stmts = {
      insertEvent: db.prepare('INSERT INTO events (seq, ts, kind, body) VALUES (?, ?, ?, ?)'),
      upsertCluster: db.prepare(
        `INSERT INTO clusters (name, uid, status, record, updated_at) VALUES (@name, @uid, @status, @record, @updated_at)
         ON CONFLICT(name) DO UPDATE SET uid=@uid, status=@status, record=@record, updated_at=@updated_at`,
      ),
      setInternal: db.prepare('UPDATE clusters SET internal = ? WHERE name = ?'),
      getCluster: db.prepare('SELECT record, internal FROM clusters WHERE name = ?'),
      allClusters: db.prepare('SELECT record FROM clusters ORDER BY name'),
      deleteCluster: db.prepare('DELETE FROM clusters WHERE name = ?'),
      upsertJob: db.prepare(
        `INSERT INTO jobs (cluster_uid, id, cluster, status, submitted_at, record) VALUES (@cluster_uid, @id, @cluster, @status, @submitted_at, @record)
         ON CONFLICT(cluster_uid, id) DO UPDATE SET status=@status, record=@record`,
      ),
      getJob: db.prepare('SELECT record FROM jobs WHERE cluster_uid = ? AND id = ?'),
      jobsOfUid: db.prepare('SELECT record FROM jobs WHERE cluster_uid = ? ORDER BY id DESC LIMIT ?'),
      activeJobsOfUid: db.prepare(
        `SELECT record FROM jobs WHERE cluster_uid = ? AND status IN ('INIT','PENDING','SETTING_UP','RUNNING') ORDER BY id`,
      ),
      latestUidOfName: db.prepare('SELECT cluster_uid FROM jobs WHERE cluster = ? ORDER BY submitted_at DESC LIMIT 1'),
      setJobLog: db.prepare('UPDATE jobs SET log_path = ? WHERE cluster_uid = ? AND id = ?'),
      getJobLog: db.prepare('SELECT log_path FROM jobs WHERE cluster_uid = ? AND id = ?'),
      upsertRequest: db.prepare(
        `INSERT INTO requests (id, cluster, kind, status, created_at, record) VALUES (@id, @cluster, @kind, @status, @created_at, @record)
         ON CONFLICT(id) DO UPDATE SET status=@status, record=@record`,
      ),
      getRequest: db.prepare('SELECT record FROM requests WHERE id = ?'),
      recentRequests: db.prepare('SELECT record FROM requests ORDER BY created_at DESC LIMIT ?'),
      runningRequests: db.prepare(`SELECT record FROM requests WHERE status = 'RUNNING'`),
      eventsSince: db.prepare('SELECT body FROM events WHERE seq > ? ORDER BY seq LIMIT ?'),
      recentEvents: db.prepare('SELECT body FROM events ORDER BY seq DESC LIMIT ?'),
      minSeq: db.prepare('SELECT COALESCE(MIN(seq), 0) AS s FROM events'),
      prune: db.prepare('DELETE FROM events WHERE seq <= ?'),
      insertManaged: db.prepare('INSERT INTO managed_jobs (status, created_at, record, task) VALUES (?, ?, ?, ?)'),
      updateManaged: db.prepare('UPDATE managed_jobs SET status = ?, record = ? WHERE id = ?'),
      getManaged: db.prepare('SELECT record FROM managed_jobs WHERE id = ?'),
      getManagedTask: db.prepare('SELECT task FROM managed_jobs WHERE id = ?'),
      listManaged: db.prepare('SELECT record FROM managed_jobs ORDER BY id DESC LIMIT ?'),
      upsertService: db.prepare(
        `INSERT INTO services (name, status, created_at, record) VALUES (@name, @status, @created_at, @record)
         ON CONFLICT(name) DO UPDATE SET status=@status, record=@record`,
      ),
      getService: db.prepare('SELECT record FROM services WHERE name = ?'),
      allServices: db.prepare('SELECT record FROM services ORDER BY name'),
      deleteService: db.prepare('DELETE FROM services WHERE name = ?'),
      putServiceVersion: db.prepare('INSERT OR REPLACE INTO service_versions (service, version, task, created_at) VALUES (?, ?, ?, ?)'),
      getServiceVersion: db.prepare('SELECT task FROM service_versions WHERE service = ? AND version = ?'),
      deleteServiceVersions: db.prepare('DELETE FROM service_versions WHERE service = ?'),
      getHistory: db.prepare('SELECT intervals FROM cluster_history WHERE uid = ?'),
      upsertHistory: db.prepare(
        `INSERT INTO cluster_history (uid, name, launched_at, intervals, record) VALUES (@uid, @name, @launched_at, @intervals, @record)
         ON CONFLICT(uid) DO UPDATE SET intervals=@intervals, record=@record`,
      ),
      endHistory: db.prepare('UPDATE cluster_history SET intervals = ?, ended_at = ? WHERE uid = ?'),
      historySince: db.prepare('SELECT record, intervals, ended_at FROM cluster_history WHERE ended_at IS NULL OR ended_at >= ? ORDER BY launched_at'),
      upsertStorage: db.prepare(
        `INSERT INTO storage (name, store, status, created_at, record) VALUES (@name, @store, @status, @created_at, @record)
         ON CONFLICT(name, store) DO UPDATE SET status=@status, record=@record`,
      ),
      getStorage: db.prepare('SELECT record FROM storage WHERE name = ? AND store = ?'),
      listStorage: db.prepare('SELECT record FROM storage ORDER BY created_at'),
      deleteStorage: db.prepare('DELETE FROM storage WHERE name = ? AND store = ?'),
      activeManaged: db.prepare(
        `SELECT record FROM managed_jobs WHERE status NOT IN ('SUCCEEDED','CANCELLED','FAILED','FAILED_SETUP','FAILED_NO_RESOURCE','FAILED_CONTROLLER') ORDER BY id`,
      ),
    };
  }

  get currentSeq(): number {
    return this.seq;
  }

  /**
   * Resolves once every change made so far is durable: at once with SQLite (a commit is), after
   * PostgreSQL has it otherwise. Awaited before the daemon acts on the outside world or lets a
   * change leave the process, so a crash never takes back what someone has seen.
   */
  durable(): Promise<void> {
    return this.durability ? this.durability.barrier() : Promise.resolve();
  }

  /** True when a commit is not durable by itself (PostgreSQL state): callers then await durable(). */
  get defersDurability(): boolean {
    return this.durability !== undefined;
  }

  private emitEvent(partial: Omit<StateEvent, 'seq' | 'ts'>): StateEvent {
    const event: StateEvent = { seq: ++this.seq, ts: Date.now(), ...partial };
    this.stmts.insertEvent.run(event.seq, event.ts, event.kind, JSON.stringify(event));
    if (event.seq % 1000 === 0) this.stmts.prune.run(event.seq - EVENT_RETENTION);
    // Listeners run after the transaction commits (see `tx`), so they never see rolled-back state.
    this.pending.push(event);
    return event;
  }

  private pending: StateEvent[] = [];
  private depth = 0;

  /** Runs `fn` in one transaction; events it produced are published after commit. */
  tx<T>(fn: () => T): T {
    this.depth++;
    try {
      const result = this.db.transaction(fn)();
      return result;
    } catch (err) {
      if (this.depth === 1) {
        // The transaction rolled back: forget its events and give their numbers back.
        this.seq -= this.pending.length;
        this.pending = [];
      }
      throw err;
    } finally {
      this.depth--;
      if (this.depth === 0 && this.pending.length > 0) {
        const events = this.pending;
        this.pending = [];
        for (const e of events) this.emit('event', e);
      }
    }
  }

  // ---- clusters ----

  putCluster(record: ClusterRecord): ClusterRecord {
    return this.tx(() => {
      record.updatedAt = Date.now();
      this.recordHistory(record);
      this.stmts.upsertCluster.run({
        name: record.name,
        uid: record.uid,
        status: record.status,
        record: JSON.stringify(record),
        updated_at: record.updatedAt,
      });
      this.emitEvent({ kind: 'cluster', cluster: record });
      return record;
    });
  }

  updateCluster(name: string, patch: Partial<ClusterRecord>): ClusterRecord | undefined {
    return this.tx(() => {
      const cur = this.getCluster(name);
      if (!cur) return undefined;
      const next = { ...cur, ...patch };
      for (const [k, v] of Object.entries(patch)) if (v === undefined) delete (next as Record<string, unknown>)[k];
      return this.putCluster(next);
    });
  }

  getCluster(name: string): ClusterRecord | undefined {
    return recordOf(this.stmts.getCluster.get(name));
  }

  getInternal(name: string): ClusterInternal {
    const row = this.stmts.getCluster.get(name) as { internal: string } | undefined;
    return row ? (JSON.parse(row.internal) as ClusterInternal) : {};
  }

  setInternal(name: string, patch: Partial<ClusterInternal>): void {
    const next = { ...this.getInternal(name), ...patch };
    this.stmts.setInternal.run(JSON.stringify(next), name);
  }

  listClusters(): ClusterRecord[] {
    return recordsOf(this.stmts.allClusters.all());
  }

  removeCluster(name: string, message?: string): void {
    this.tx(() => {
      const rec = this.getCluster(name);
      if (rec) {
        const now = Date.now();
        this.stmts.endHistory.run(JSON.stringify(nextIntervals(this.intervals(rec.uid), undefined, now)), now, rec.uid);
      }
      this.stmts.deleteCluster.run(name);
      this.emitEvent({ kind: 'cluster-removed', name, message });
    });
  }

  // ---- cost history (cost-report) ----

  private intervals(uid: string): Interval[] {
    const row = this.stmts.getHistory.get(uid) as { intervals: string } | undefined;
    return row ? (JSON.parse(row.intervals) as Interval[]) : [];
  }

  /** Bills a cluster from launch and each start until it stops or goes (one row per uid). */
  private recordHistory(record: ClusterRecord): void {
    const intervals = nextIntervals(this.intervals(record.uid), record.status, record.updatedAt);
    this.stmts.upsertHistory.run({
      uid: record.uid,
      name: record.name,
      launched_at: record.launchedAt,
      intervals: JSON.stringify(intervals),
      record: JSON.stringify(record),
    });
  }

  /** Incarnations alive, or torn down at or after `since` (ms epoch), oldest launch first. */
  clusterHistory(since = 0): Array<{ record: ClusterRecord; intervals: Interval[]; endedAt?: number }> {
    return (this.stmts.historySince.all(since) as Array<{ record: string; intervals: string; ended_at: number | null }>).map((r) => ({
      record: JSON.parse(r.record) as ClusterRecord,
      intervals: JSON.parse(r.intervals) as Interval[],
      ...(r.ended_at !== null ? { endedAt: r.ended_at } : {}),
    }));
  }

  // ---- jobs ----

  putJob(job: JobRecord): void {
    this.tx(() => {
      this.stmts.upsertJob.run({
        cluster_uid: job.clusterUid,
        id: job.id,
        cluster: job.cluster,
        status: job.status,
        submitted_at: job.submittedAt,
        record: JSON.stringify(job),
      });
      this.emitEvent({ kind: 'job', job });
    });
  }

  getJob(clusterUid: string, id: number): JobRecord | undefined {
    return recordOf(this.stmts.getJob.get(clusterUid, id));
  }

  jobsOf(clusterUid: string, limit = 10_000): JobRecord[] {
    return recordsOf(this.stmts.jobsOfUid.all(clusterUid, limit));
  }

  activeJobsOf(clusterUid: string): JobRecord[] {
    return recordsOf(this.stmts.activeJobsOfUid.all(clusterUid));
  }

  /** The uid of the newest incarnation of a cluster name that ran jobs (for logs after down). */
  latestUidOf(name: string): string | undefined {
    return (this.stmts.latestUidOfName.get(name) as { cluster_uid: string } | undefined)?.cluster_uid;
  }

  setJobLog(clusterUid: string, id: number, path: string): void {
    this.stmts.setJobLog.run(path, clusterUid, id);
  }

  jobLog(clusterUid: string, id: number): string | undefined {
    return (this.stmts.getJobLog.get(clusterUid, id) as { log_path: string | null } | undefined)?.log_path ?? undefined;
  }

  // ---- requests ----

  putRequest(req: RequestRecord): RequestRecord {
    return this.tx(() => {
      this.stmts.upsertRequest.run({
        id: req.id,
        cluster: req.cluster,
        kind: req.kind,
        status: req.status,
        created_at: req.createdAt,
        record: JSON.stringify(req),
      });
      this.emitEvent({ kind: 'request', request: req });
      return req;
    });
  }

  getRequest(id: string): RequestRecord | undefined {
    return recordOf(this.stmts.getRequest.get(id));
  }

  recentRequests(limit = 200): RequestRecord[] {
    return recordsOf(this.stmts.recentRequests.all(limit));
  }

  runningRequests(): RequestRecord[] {
    return recordsOf(this.stmts.runningRequests.all());
  }

  // ---- managed jobs ----

  /** Creates a managed job; `task` must already be stripped of secret values. */
  createManaged(record: Omit<ManagedJobRecord, 'id'>, task: unknown): ManagedJobRecord {
    return this.tx(() => {
      const info = this.stmts.insertManaged.run(record.status, record.submittedAt, '{}', JSON.stringify(task));
      const full = { ...record, id: Number(info.lastInsertRowid) } as ManagedJobRecord;
      this.stmts.updateManaged.run(full.status, JSON.stringify(full), full.id);
      this.emitEvent({ kind: 'managed', managed: full });
      return full;
    });
  }

  putManaged(record: ManagedJobRecord): ManagedJobRecord {
    return this.tx(() => {
      this.stmts.updateManaged.run(record.status, JSON.stringify(record), record.id);
      this.emitEvent({ kind: 'managed', managed: record });
      return record;
    });
  }

  getManaged(id: number): ManagedJobRecord | undefined {
    return recordOf(this.stmts.getManaged.get(id));
  }

  managedTask(id: number): unknown {
    const row = this.stmts.getManagedTask.get(id) as { task: string } | undefined;
    return row ? JSON.parse(row.task) : undefined;
  }

  listManaged(limit = 10_000): ManagedJobRecord[] {
    return recordsOf(this.stmts.listManaged.all(limit));
  }

  activeManaged(): ManagedJobRecord[] {
    return recordsOf(this.stmts.activeManaged.all());
  }

  // ---- services ----

  putService(record: ServiceRecord): ServiceRecord {
    return this.tx(() => {
      this.stmts.upsertService.run({ name: record.name, status: record.status, created_at: record.createdAt, record: JSON.stringify(record) });
      this.emitEvent({ kind: 'service', service: record });
      return record;
    });
  }

  getService(name: string): ServiceRecord | undefined {
    return recordOf(this.stmts.getService.get(name));
  }

  listServices(): ServiceRecord[] {
    return recordsOf(this.stmts.allServices.all());
  }

  /** The record and its versions go; `message` is the timeline's line. */
  removeService(name: string, message?: string): void {
    this.tx(() => {
      this.stmts.deleteService.run(name);
      this.stmts.deleteServiceVersions.run(name);
      this.emitEvent({ kind: 'service-removed', name, message });
    });
  }

  /** A version's task; `task` must already be stripped of secret values. */
  putServiceVersion(service: string, version: number, task: unknown): void {
    this.stmts.putServiceVersion.run(service, version, JSON.stringify(task), Date.now());
  }

  serviceVersionTask(service: string, version: number): unknown {
    const row = this.stmts.getServiceVersion.get(service, version) as { task: string } | undefined;
    return row ? JSON.parse(row.task) : undefined;
  }

  // ---- storage (buckets aloft created) ----

  putStorage(rec: StorageRecord): StorageRecord {
    rec.updatedAt = Date.now();
    this.stmts.upsertStorage.run({ name: rec.name, store: rec.store, status: rec.status, created_at: rec.createdAt, record: JSON.stringify(rec) });
    return rec;
  }

  getStorage(name: string, store: string): StorageRecord | undefined {
    return recordOf(this.stmts.getStorage.get(name, store));
  }

  listStorage(): StorageRecord[] {
    return recordsOf(this.stmts.listStorage.all());
  }

  removeStorage(name: string, store: string): void {
    this.stmts.deleteStorage.run(name, store);
  }

  // ---- events ----

  notice(message: string, level: 'info' | 'warn' | 'error' = 'info', cluster?: string): void {
    this.tx(() => {
      this.emitEvent({ kind: 'notice', message, level, name: cluster });
    });
  }

  /** Events after `since`, or undefined when they are no longer kept (the client needs a snapshot). */
  eventsSince(since: number, limit = 100_000): StateEvent[] | undefined {
    const min = (this.stmts.minSeq.get() as { s: number }).s;
    if (since < min - 1) return undefined;
    return (this.stmts.eventsSince.all(since, limit) as Array<{ body: string }>).map((r) => JSON.parse(r.body));
  }

  snapshot(): StateSnapshot {
    const clusters = this.listClusters();
    const jobs: JobRecord[] = [];
    for (const c of clusters) jobs.push(...this.jobsOf(c.uid, 200));
    const events = (this.stmts.recentEvents.all(200) as Array<{ body: string }>)
      .map((r) => JSON.parse(r.body) as StateEvent)
      .filter((e) => e.kind === 'notice' || e.kind === 'cluster-removed' || e.kind === 'service-removed' || e.kind === 'request')
      .reverse();
    return { seq: this.seq, clusters, jobs, requests: this.recentRequests(100), managed: this.listManaged(500), services: this.listServices(), events };
  }
}
