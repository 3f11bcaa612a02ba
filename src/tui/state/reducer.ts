// The data the dashboard shows, rebuilt from the daemon's event stream: a snapshot, then events
// in seq order. Pure: (state, messages) → state, so reconnects and replays can be tested exactly.
import type { EventStreamMessage } from '../../protocol/api.js';
import { ACTIVE_JOB_STATUSES, type ClusterRecord, type JobRecord, type ManagedJobRecord, type RequestRecord, type ServiceRecord, type StateEvent } from '../../protocol/model.js';
import type { ConnectionState } from '../../client/types.js';

export const TIMELINE_LIMIT = 1000;

export interface TuiData {
  /** last applied sequence number; events at or below it are replays and are dropped */
  seq: number;
  /** false until the first snapshot arrived */
  loaded: boolean;
  clusters: ReadonlyMap<string, ClusterRecord>;
  /** keyed by jobKey() */
  jobs: ReadonlyMap<string, JobRecord>;
  requests: ReadonlyMap<string, RequestRecord>;
  /** managed jobs by id */
  managed: ReadonlyMap<number, ManagedJobRecord>;
  /** services (SkyServe) by name */
  services: ReadonlyMap<string, ServiceRecord>;
  /** state changes worth a line, oldest first, bounded */
  timeline: readonly StateEvent[];
  connection: ConnectionState;
  connectionDetail?: string;
}

export const emptyData = (): TuiData => ({
  seq: 0,
  loaded: false,
  clusters: new Map(),
  jobs: new Map(),
  requests: new Map(),
  managed: new Map(),
  services: new Map(),
  timeline: [],
  connection: 'connecting',
});

export const jobKey = (j: Pick<JobRecord, 'clusterUid' | 'id'>): string => `${j.clusterUid}/${j.id}`;

export type TuiAction =
  | { type: 'messages'; messages: readonly EventStreamMessage[] }
  | { type: 'connection'; state: ConnectionState; detail?: string };

export function reduce(state: TuiData, action: TuiAction): TuiData {
  if (action.type === 'connection') {
    if (state.connection === action.state && state.connectionDetail === action.detail) return state;
    return { ...state, connection: action.state, connectionDetail: action.detail };
  }
  if (action.messages.length === 0) return state;
  // Copy each collection at most once per batch, then mutate the copies.
  const d = new Draft(state);
  for (const msg of action.messages) {
    if (msg.type === 'snapshot') d.snapshot(msg.snapshot);
    else d.event(msg.event);
  }
  return d.finish();
}

class Draft {
  seq: number;
  loaded: boolean;
  private clusters?: Map<string, ClusterRecord>;
  private jobs?: Map<string, JobRecord>;
  private requests?: Map<string, RequestRecord>;
  private managed?: Map<number, ManagedJobRecord>;
  private services?: Map<string, ServiceRecord>;
  private timeline?: StateEvent[];
  private changed = false;

  constructor(private readonly base: TuiData) {
    this.seq = base.seq;
    this.loaded = base.loaded;
  }

  private c() {
    return (this.clusters ??= new Map(this.base.clusters));
  }
  private j() {
    return (this.jobs ??= new Map(this.base.jobs));
  }
  private r() {
    return (this.requests ??= new Map(this.base.requests));
  }
  private m() {
    return (this.managed ??= new Map(this.base.managed));
  }
  private s() {
    return (this.services ??= new Map(this.base.services));
  }
  private t() {
    return (this.timeline ??= [...this.base.timeline]);
  }

  snapshot(s: import('../../protocol/model.js').StateSnapshot): void {
    this.changed = true;
    this.loaded = true;
    this.seq = s.seq;
    this.clusters = new Map(s.clusters.map((c) => [c.name, c]));
    this.jobs = new Map(s.jobs.map((j) => [jobKey(j), j]));
    this.requests = new Map(s.requests.map((r) => [r.id, r]));
    // A daemon from before managed jobs sends none: that is "no managed jobs", not "keep the old ones".
    this.managed = new Map((s.managed ?? []).map((m) => [m.id, m]));
    this.services = new Map((s.services ?? []).map((x) => [x.name, x]));
    // Keep what we already showed; add the snapshot's lines we have not seen (by seq), minus
    // request updates that repeat the previous line of the same request (progress messages).
    const seen = new Set(this.t().map((e) => e.seq));
    const lastOfRequest = new Map<string, string>();
    for (const e of s.events) {
      if (e.kind === 'request' && e.request) {
        const sig = `${e.request.status}/${e.request.stage ?? ''}`;
        if (lastOfRequest.get(e.request.id) === sig) continue;
        lastOfRequest.set(e.request.id, sig);
      }
      if (!seen.has(e.seq)) this.timeline!.push(e);
    }
    this.timeline!.sort((a, b) => a.seq - b.seq);
  }

  event(e: StateEvent): void {
    if (e.seq <= this.seq) return;
    this.seq = e.seq;
    this.changed = true;
    let noteworthy = false;
    switch (e.kind) {
      case 'cluster': {
        const c = e.cluster;
        if (!c) break;
        const prev = this.c().get(c.name);
        if (prev && prev.uid !== c.uid) this.dropJobsOf(prev.uid);
        noteworthy = !prev || prev.status !== c.status || prev.uid !== c.uid;
        this.clusters!.set(c.name, c);
        break;
      }
      case 'cluster-removed': {
        const prev = e.name ? this.c().get(e.name) : undefined;
        if (prev) {
          this.clusters!.delete(prev.name);
          this.dropJobsOf(prev.uid);
        }
        noteworthy = true;
        break;
      }
      case 'job': {
        const job = e.job;
        if (!job) break;
        const prev = this.j().get(jobKey(job));
        noteworthy = !prev || prev.status !== job.status;
        this.jobs!.set(jobKey(job), job);
        break;
      }
      case 'request': {
        const req = e.request;
        if (!req) break;
        const prev = this.r().get(req.id);
        noteworthy = !prev || prev.status !== req.status || prev.stage !== req.stage;
        this.requests!.set(req.id, req);
        break;
      }
      case 'managed': {
        const m = e.managed;
        if (!m) break;
        const prev = this.m().get(m.id);
        // A recovery may go RECOVERING → RUNNING between two events we see; the count still moves.
        noteworthy = !prev || prev.status !== m.status || prev.recoveries !== m.recoveries;
        this.managed!.set(m.id, m);
        break;
      }
      case 'service': {
        const x = e.service;
        if (!x) break;
        const prev = this.s().get(x.name);
        // metrics tick every few seconds: only status changes are worth a line
        noteworthy = !prev || prev.status !== x.status || prev.version !== x.version;
        this.services!.set(x.name, x);
        break;
      }
      case 'service-removed':
        if (e.name) this.s().delete(e.name);
        noteworthy = true;
        break;
      case 'notice':
        noteworthy = true;
        break;
    }
    if (noteworthy) this.t().push(e);
  }

  private dropJobsOf(uid: string): void {
    const jobs = this.j();
    for (const [k, j] of jobs) if (j.clusterUid === uid) jobs.delete(k);
  }

  finish(): TuiData {
    if (!this.changed) return this.base;
    let timeline = this.timeline ?? this.base.timeline;
    if (timeline.length > TIMELINE_LIMIT) timeline = timeline.slice(timeline.length - TIMELINE_LIMIT);
    return {
      ...this.base,
      seq: this.seq,
      loaded: this.loaded,
      clusters: this.clusters ?? this.base.clusters,
      jobs: this.jobs ?? this.base.jobs,
      requests: this.requests ?? this.base.requests,
      managed: this.managed ?? this.base.managed,
      services: this.services ?? this.base.services,
      timeline,
    };
  }
}

/** Jobs of the current incarnation of a cluster, newest first. */
export function jobsOfCluster(data: TuiData, cluster: string): JobRecord[] {
  const c = data.clusters.get(cluster);
  const out: JobRecord[] = [];
  for (const j of data.jobs.values()) {
    if (j.cluster === cluster && (!c || j.clusterUid === c.uid)) out.push(j);
  }
  return out.sort((a, b) => b.id - a.id);
}

/** Each cluster's active jobs (INIT, PENDING, SETTING_UP, RUNNING), by cluster uid. */
export function activeJobsByCluster(jobs: ReadonlyMap<string, JobRecord>): Map<string, JobRecord[]> {
  const out = new Map<string, JobRecord[]>();
  for (const j of jobs.values()) {
    if (!ACTIVE_JOB_STATUSES.has(j.status)) continue;
    const list = out.get(j.clusterUid);
    if (list) list.push(j);
    else out.set(j.clusterUid, [j]);
  }
  return out;
}

export function lastJobOf(data: TuiData, c: ClusterRecord): JobRecord | undefined {
  return c.lastJobId === undefined ? undefined : data.jobs.get(`${c.uid}/${c.lastJobId}`);
}
