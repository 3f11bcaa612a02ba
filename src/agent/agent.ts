// The node's agent: durable job table, FIFO queue with resource-aware admission, gang jobs
// driven from the head, watch streams, autostop. RPC plumbing lives in server.ts.
import { activeSessions } from './sessions.js';
import { EventEmitter } from 'node:events';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AutostopSetting, JobStatus, NodeResources } from '../protocol/model.js';
import { JobRun, jobFiles, type Outcome, type Resume, type RunnerHost, type StoredSpec, type ClusterView } from './jobrun.js';
import { Journal, type JobRuntime } from './journal.js';
import { adoptRank, killGroup, processAlive, readExitCode } from './proc.js';
import type { AgentJob, AgentMethods, AutostopMarker, ClusterConfig, HelloResult, JobSubmission } from './protocol.js';
import { AGENT_PROTOCOL_VERSION, isJobStatusActive } from './protocol.js';
import { RankManager } from './ranks.js';
import { totalGpus } from './resources.js';
import { AgentError, type StreamSink } from './rpc.js';
import { WorkerPool } from './workers.js';
import { agentPaths, describeDemand, makeTaskId, writeAtomic } from './paths.js';
import { schedulePowerOff } from './poweroff.js';
import { jobBaseEnv } from '../util/env.js';

export { agentPaths } from './paths.js';

export interface AgentInit {
  nodeDir: string;
  version: string;
  resources: NodeResources;
  log: (msg: string) => void;
  /** called once the agent wants its process to end (shutdown, autostop) */
  exit: () => void;
}

interface PersistedState {
  config?: ClusterConfig;
  autostop?: AutostopSetting;
}

type Params<M extends keyof AgentMethods> = AgentMethods[M]['params'];

const EPS = 1e-9;

export class Agent extends EventEmitter {
  readonly nodeDir: string;
  readonly paths: ReturnType<typeof agentPaths>;
  readonly journal: Journal;
  readonly ranks: RankManager;
  readonly graceMs = Number(process.env.ALOFT_AGENT_KILL_GRACE_MS ?? 3000);
  private state: PersistedState = {};
  private queue: number[] = [];
  private pending = new Set<number>();
  private live = new Map<number, { run: JobRun; done: Promise<void> }>();
  private used = new Map<number, { cpus: number; gpus: number }>();
  private specCache = new Map<number, { spec: StoredSpec; secrets: Record<string, string> }>();
  private watchers = new Set<StreamSink>();
  private readonly workers: WorkerPool;
  private lastBusyAt = Date.now();
  private shuttingDown = false;
  private autostopTimer: NodeJS.Timeout | undefined;
  private cachedEnv: Record<string, string> | undefined;
  private readonly host: RunnerHost;

  constructor(private readonly init: AgentInit) {
    super();
    this.setMaxListeners(0);
    this.nodeDir = init.nodeDir;
    this.paths = agentPaths(init.nodeDir);
    mkdirSync(this.paths.dir, { recursive: true, mode: 0o700 });
    mkdirSync(join(this.nodeDir, 'jobs'), { recursive: true, mode: 0o700 });
    this.journal = new Journal(this.paths.journal);
    // Jobs that fell out of the table take their directories (logs, scripts) with them.
    this.journal.onDrop = (ids) => {
      for (const id of ids) rmSync(jobFiles(this.nodeDir, id).dir, { recursive: true, force: true });
    };
    try {
      this.state = JSON.parse(readFileSync(this.paths.state, 'utf8')) as PersistedState;
    } catch {
      this.state = {};
    }
    this.workers = new WorkerPool(
      () => this.state.config,
      (rank: number, error: string) => {
        for (const w of this.watchers) w.send({ workerLost: { rank, error } });
      },
    );
    this.ranks = new RankManager(this.nodeDir, () => this.baseEnv(), this.graceMs);
    this.host = {
      nodeDir: this.nodeDir,
      graceMs: this.graceMs,
      baseEnv: () => this.baseEnv(),
      cluster: () => this.clusterView(),
      worker: (rank) => this.workers.get(rank),
      update: (id, patch, rt) => this.update(id, patch, rt),
    };
  }

  /** Re-attaches to what the journal says was running, then starts admitting jobs. */
  start(): void {
    this.recover();
    this.schedule();
    const spm = Number(process.env.ALOFT_AUTOSTOP_SECONDS_PER_MINUTE ?? 60);
    this.autostopTimer = setInterval(() => this.autostopTick(), spm < 60 ? 200 : 5000);
    this.autostopTimer.unref();
  }

  private baseEnv(): Record<string, string> {
    if (!this.cachedEnv) {
      const env = jobBaseEnv(process.env);
      env.HOME = this.nodeDir;
      env.ALOFT_NODE_DIR = this.nodeDir;
      this.cachedEnv = env;
    }
    return this.cachedEnv;
  }

  private clusterView(): ClusterView {
    const c = this.state.config;
    if (!c) return { name: 'local', cloud: 'local', ips: ['127.0.0.1'] };
    const ips = [...c.nodes].sort((a, b) => a.rank - b.rank).map((n) => n.ip);
    return { name: c.clusterName, cloud: c.cloud, region: c.region, zone: c.zone, ips };
  }

  private capacity(rank: number): NodeResources | undefined {
    const n = this.state.config?.nodes.find((x) => x.rank === rank);
    if (n) return n.resources;
    return rank === 0 ? this.init.resources : undefined;
  }

  private nodeCount(): number {
    return this.state.config?.nodes.length ?? 1;
  }

  private saveState(): void {
    writeAtomic(this.paths.state, JSON.stringify(this.state));
  }

  // ------------------------------------------------------------ table

  private put(job: AgentJob, rt: JobRuntime): void {
    const e = this.journal.put(job, rt);
    for (const w of this.watchers) w.send({ seq: e.seq, job });
    this.emit('job', job);
  }

  private update(id: number, patch: Partial<AgentJob>, rt?: JobRuntime): void {
    const e = this.journal.jobs.get(id);
    if (!e) return;
    this.put({ ...e.job, ...patch }, rt ?? e.rt);
  }

  getJob(id: number): AgentJob | undefined {
    return this.journal.jobs.get(id)?.job;
  }

  // ------------------------------------------------------------ RPC methods

  hello(): HelloResult {
    return {
      protocol: AGENT_PROTOCOL_VERSION,
      version: this.init.version,
      pid: process.pid,
      nodeDir: this.nodeDir,
      resources: this.init.resources,
      seq: this.journal.seq,
      configured: !!this.state.config,
      ...(this.state.config ? { clusterName: this.state.config.clusterName } : {}),
    };
  }

  configure(c: ClusterConfig): { ok: true } {
    if (!c || !Array.isArray(c.nodes) || c.nodes.length === 0) throw new AgentError('configure needs at least one node', 'BAD_REQUEST');
    const changed = JSON.stringify(this.state.config?.nodes) !== JSON.stringify(c.nodes) || this.state.config?.token !== c.token;
    this.state.config = c;
    // The daemon's record is the truth about autostop; configure carries all of it.
    this.state.autostop = c.autostop;
    this.lastBusyAt = Date.now();
    this.saveState();
    if (changed) this.workers.drop();
    this.schedule();
    // Ranks left on workers by jobs this head no longer runs (a worker or head agent was lost
    // mid-job) are stopped now that the cluster is (re)configured.
    void this.workers.reconcile(this.activeGangJobs());
    return { ok: true };
  }

  private activeGangJobs(): number[] {
    return [...this.journal.jobs.values()].filter((e) => e.job.numNodes > 1 && isJobStatusActive(e.job.status)).map((e) => e.job.id);
  }

  submit(sub: JobSubmission): { jobId: number } {
    if (!sub || typeof sub.run !== 'string') throw new AgentError('submit needs a run script', 'BAD_REQUEST');
    // A retry of a submission whose answer was lost (the daemon died): the job it made, not a second one.
    const known = sub.requestId !== undefined ? this.jobOfRequest(sub.requestId) : undefined;
    if (known !== undefined) return { jobId: known };
    if (this.shuttingDown) throw new AgentError('agent is shutting down', 'SHUTTING_DOWN');
    const numNodes = sub.numNodes ?? 1;
    if (!Number.isInteger(numNodes) || numNodes < 1) throw new AgentError(`bad numNodes ${numNodes}`, 'BAD_REQUEST');
    const demand = { cpus: Number(sub.demand?.cpus ?? 0), gpus: Number(sub.demand?.gpus ?? 0), ...(sub.demand?.accelerator ? { accelerator: sub.demand.accelerator } : {}) };
    if (numNodes > this.nodeCount()) {
      throw new AgentError(`job needs ${numNodes} node(s); the cluster has ${this.nodeCount()}`, 'INFEASIBLE');
    }
    for (let r = 0; r < numNodes; r++) {
      const cap = this.capacity(r);
      if (!cap) continue;
      if (demand.cpus > cap.cpus + EPS || demand.gpus > totalGpus(cap, demand.accelerator) + EPS) {
        throw new AgentError(
          `job asks for ${describeDemand(1, demand)} per node; node ${r} has CPU:${cap.cpus}${demand.gpus ? `, GPU:${totalGpus(cap, demand.accelerator)}` : ''}`,
          'INFEASIBLE',
        );
      }
    }
    const id = this.journal.allocId();
    const files = jobFiles(this.nodeDir, id);
    mkdirSync(files.dir, { recursive: true, mode: 0o700 });
    writeFileSync(files.script('run'), sub.run, { mode: 0o600 });
    if (sub.setup) writeFileSync(files.script('setup'), sub.setup, { mode: 0o600 });
    const spec: StoredSpec = {
      ...(sub.name ? { name: sub.name } : {}),
      hasSetup: !!sub.setup,
      envs: sub.envs ?? {},
      ...(sub.extraEnv ? { extraEnv: sub.extraEnv } : {}),
      ...(sub.workdir ? { workdir: sub.workdir } : {}),
    };
    writeFileSync(files.spec, JSON.stringify(spec), { mode: 0o600 });
    const secrets = sub.secrets ?? {};
    const secretNames = Object.keys(secrets);
    if (secretNames.length > 0) writeFileSync(files.secrets, JSON.stringify(secrets), { mode: 0o600 });
    writeFileSync(files.runLog, '', { flag: 'a', mode: 0o600 });
    const now = Date.now();
    const job: AgentJob = {
      id,
      ...(sub.name ? { name: sub.name } : {}),
      status: 'PENDING',
      numNodes,
      demand,
      resources: describeDemand(numNodes, demand),
      submittedAt: now,
      taskId: sub.taskId ?? makeTaskId(now, this.clusterView().name, id),
      ...(secretNames.length > 0 ? { secretNames } : {}),
      ...(typeof sub.user === 'string' && sub.user ? { user: sub.user.slice(0, 64) } : {}),
      ...(sub.requestId !== undefined ? { requestId: sub.requestId } : {}),
    };
    this.specCache.set(id, { spec, secrets });
    this.put(job, {});
    this.queue.push(id);
    this.pending.add(id);
    this.lastBusyAt = now;
    this.schedule();
    return { jobId: id };
  }

  async cancel(p: Params<'cancel'>): Promise<{ cancelled: number[] }> {
    const ids = p.all
      ? [...this.journal.jobs.values()].filter((e) => isJobStatusActive(e.job.status)).map((e) => e.job.id)
      : (p.jobIds ?? []).filter((id) => {
          const j = this.getJob(id);
          return j && isJobStatusActive(j.status);
        });
    const waits: Promise<void>[] = [];
    for (const id of ids) {
      if (this.pending.delete(id)) {
        this.specCache.delete(id);
        this.finishBookkeeping(id, { status: 'CANCELLED' });
        continue;
      }
      const l = this.live.get(id);
      if (l) waits.push(l.run.cancel().then(() => l.done));
    }
    await Promise.all(waits);
    this.schedule();
    return { cancelled: ids };
  }

  /** The job submitted with `requestId`, if the journal has one (submissions are idempotent on it). */
  private jobOfRequest(requestId: string): number | undefined {
    for (const e of this.journal.jobs.values()) if (e.job.requestId === requestId) return e.job.id;
    return undefined;
  }

  jobs(p: Params<'jobs'>): { jobs: AgentJob[]; seq: number } {
    let list: AgentJob[];
    if (typeof p?.requestId === 'string') {
      const id = this.jobOfRequest(p.requestId);
      list = id === undefined ? [] : [this.getJob(id)!];
    } else if (p?.jobIds && p.jobIds.length > 0) list = p.jobIds.map((id) => this.getJob(id)).filter((j): j is AgentJob => !!j);
    else list = [...this.journal.jobs.values()].map((e) => e.job);
    list.sort((a, b) => a.id - b.id);
    return { jobs: list, seq: this.journal.seq };
  }

  watch(p: Params<'watch'>, sink: StreamSink): { seq: number } {
    let since = Number(p?.sinceSeq ?? 0);
    // A journal that restarted from scratch (node re-created) has lower numbers: replay it all.
    if (since > this.journal.seq) since = 0;
    const missed = [...this.journal.jobs.values()].filter((e) => e.seq > since).sort((a, b) => a.seq - b.seq);
    for (const e of missed) sink.send({ seq: e.seq, job: e.job });
    this.watchers.add(sink);
    sink.onClose(() => this.watchers.delete(sink));
    return { seq: this.journal.seq };
  }

  setAutostop(p: Params<'setAutostop'>): { ok: true } {
    if ('cancel' in p && p.cancel) this.state.autostop = undefined;
    else {
      const s = p as AutostopSetting;
      if (typeof s.idleMinutes !== 'number' || s.idleMinutes < 0) throw new AgentError('idleMinutes must be a number ≥ 0', 'BAD_REQUEST');
      this.state.autostop = { idleMinutes: s.idleMinutes, down: !!s.down };
    }
    this.lastBusyAt = Date.now();
    this.saveState();
    return { ok: true };
  }

  info(): AgentMethods['info']['result'] {
    const active = this.live.size + this.pending.size;
    return {
      idleSeconds: active > 0 ? 0 : Math.floor((Date.now() - this.lastBusyAt) / 1000),
      ...(this.state.autostop ? { autostop: this.state.autostop } : {}),
      runningJobs: this.live.size,
    };
  }

  workerHealth(): Promise<AgentMethods['workerHealth']['result']> {
    return this.workers.health();
  }

  /** Kills every job (they end CANCELLED) and the workers' ranks, then asks the process to exit. */
  async shutdown(reason = 'shutdown', powerOffAfterMs?: number): Promise<{ ok: true }> {
    this.init.log(`shutting down (${reason})`);
    this.shuttingDown = true;
    await this.cancel({ all: true });
    await this.ranks.killAll();
    await this.workers.shutdownAll(reason, this.graceMs + 10_000, powerOffAfterMs);
    if (powerOffAfterMs !== undefined) schedulePowerOff(powerOffAfterMs, this.init.log);
    setTimeout(() => this.stopAndExit(), 50);
    return { ok: true };
  }

  private stopAndExit(): void {
    if (this.autostopTimer) clearInterval(this.autostopTimer);
    this.workers.drop();
    this.journal.close();
    this.init.exit();
  }

  // ------------------------------------------------------------ scheduling

  private fits(job: AgentJob): boolean {
    for (let r = 0; r < job.numNodes; r++) {
      const cap = this.capacity(r);
      if (!cap) continue;
      const u = this.used.get(r) ?? { cpus: 0, gpus: 0 };
      if (u.cpus + job.demand.cpus > cap.cpus + EPS) return false;
      if (job.demand.gpus > 0 && u.gpus + job.demand.gpus > totalGpus(cap, job.demand.accelerator) + EPS) return false;
    }
    return true;
  }

  private alloc(job: AgentJob, sign: 1 | -1): void {
    for (let r = 0; r < job.numNodes; r++) {
      const u = this.used.get(r) ?? { cpus: 0, gpus: 0 };
      u.cpus = Math.max(0, u.cpus + sign * job.demand.cpus);
      u.gpus = Math.max(0, u.gpus + sign * job.demand.gpus);
      this.used.set(r, u);
    }
  }

  private schedule(): void {
    if (this.shuttingDown) return;
    while (this.queue.length > 0) {
      const id = this.queue[0]!;
      const job = this.getJob(id);
      if (!job || !this.pending.has(id)) {
        this.queue.shift();
        continue;
      }
      // Strict FIFO: the head of the queue blocks later jobs until it fits.
      if (!this.fits(job)) break;
      this.queue.shift();
      this.pending.delete(id);
      this.launch(job);
    }
  }

  private loadSpec(id: number): { spec: StoredSpec; secrets: Record<string, string> } {
    const cached = this.specCache.get(id);
    if (cached) {
      this.specCache.delete(id);
      return cached;
    }
    const files = jobFiles(this.nodeDir, id);
    const spec = JSON.parse(readFileSync(files.spec, 'utf8')) as StoredSpec;
    let secrets: Record<string, string> = {};
    try {
      secrets = JSON.parse(readFileSync(files.secrets, 'utf8')) as Record<string, string>;
    } catch {
      /* none */
    }
    return { spec, secrets };
  }

  private launch(job: AgentJob, resume?: Resume): void {
    let loaded;
    try {
      loaded = this.loadSpec(job.id);
    } catch (err) {
      this.init.log(`job ${job.id}: cannot read its spec: ${(err as Error).message}`);
      this.finishBookkeeping(job.id, { status: 'FAILED_DRIVER' });
      return;
    }
    this.alloc(job, 1);
    const run = new JobRun(this.host, job, loaded.spec, loaded.secrets);
    const done = run
      .execute(resume)
      .catch((err: Error): Outcome => {
        this.init.log(`job ${job.id}: driver error: ${err.message}`);
        return { status: 'FAILED_DRIVER' };
      })
      .then((outcome) => {
        this.live.delete(job.id);
        this.alloc(job, -1);
        this.finishBookkeeping(job.id, outcome);
        this.schedule();
      });
    this.live.set(job.id, { run, done });
  }

  private finishBookkeeping(id: number, o: Outcome): void {
    const patch: Partial<AgentJob> = { status: o.status, endedAt: Date.now() };
    if (o.exitCode !== undefined) patch.exitCode = o.exitCode;
    if (o.failedRank !== undefined) patch.failedRank = o.failedRank;
    if (o.returnCodes !== undefined) patch.returnCodes = o.returnCodes;
    this.update(id, patch, {});
    rmSync(jobFiles(this.nodeDir, id).secrets, { force: true });
    this.lastBusyAt = Date.now();
  }

  // ------------------------------------------------------------ restart recovery

  private recover(): void {
    const entries = [...this.journal.jobs.values()].filter((e) => isJobStatusActive(e.job.status)).sort((a, b) => a.job.id - b.job.id);
    for (const e of entries) {
      const job = e.job;
      if (job.status === 'INIT' || job.status === 'PENDING') {
        this.queue.push(job.id);
        this.pending.add(job.id);
        continue;
      }
      const phase = e.rt.phase ?? (job.status === 'SETTING_UP' ? 'setup' : 'run');
      const exitPath = jobFiles(this.nodeDir, job.id).exit(phase, 0);
      const code = readExitCode(exitPath);
      let resume: Resume | undefined;
      if (code !== undefined) resume = { phase, code };
      else if (e.rt.pid && processAlive(e.rt.pid, e.rt.pstart)) resume = { phase, proc: adoptRank(e.rt.pid, e.rt.pstart, exitPath) };
      if (!resume) {
        this.init.log(`job ${job.id}: its process is gone without an exit code`);
        // Its children may outlive it in its process group (the group id cannot be reused while
        // they live): they are orphans now.
        if (e.rt.pid) void killGroup(e.rt.pid, this.graceMs, e.rt.pstart);
        // Whatever runs of it on the workers is orphaned now.
        this.workers.killJob(job.id, job.numNodes, this.graceMs + 10_000);
        this.finishBookkeeping(job.id, { status: 'FAILED_DRIVER' });
        continue;
      }
      // Gang jobs pick up the workers' ranks where the old head left their output.
      if (job.numNodes > 1) resume.attach = true;
      this.launch(job, resume);
    }
  }

  // ------------------------------------------------------------ autostop

  private autostopTick(): void {
    if (this.shuttingDown) return;
    const now = Date.now();
    if (this.live.size + this.pending.size > 0) {
      this.lastBusyAt = now;
      return;
    }
    const a = this.state.autostop;
    if (!a) return;
    if (activeSessions(this.nodeDir) > 0) {
      this.lastBusyAt = now;
      return;
    }
    const spm = Number(process.env.ALOFT_AUTOSTOP_SECONDS_PER_MINUTE ?? 60);
    if (now - this.lastBusyAt >= a.idleMinutes * spm * 1000) void this.fireAutostop(a);
  }

  private async fireAutostop(a: AutostopSetting): Promise<void> {
    this.shuttingDown = true;
    const spm = Number(process.env.ALOFT_AUTOSTOP_SECONDS_PER_MINUTE ?? 60);
    const marker: AutostopMarker = { at: Date.now(), down: a.down, idleMinutes: a.idleMinutes };
    this.init.log(`autostop: idle for ${a.idleMinutes} minute(s) → ${a.down ? 'down' : 'stop'}`);
    writeAtomic(this.paths.marker, JSON.stringify(marker));
    const daemonListening = this.watchers.size > 0;
    for (const w of this.watchers) w.send({ autostop: marker });
    await Promise.all([...this.watchers].map((w) => w.drained()));
    // Cloud VMs power themselves off: at once when no daemon listens (it may be away for days),
    // else after one autostop minute, by which the daemon has stopped or torn them down through
    // the cloud's API (after copying the job logs off the head).
    const powerOffAfterMs = this.state.config?.powerOff ? (daemonListening ? spm * 1000 : 0) : undefined;
    await this.workers.shutdownAll('autostop', this.graceMs + 10_000, powerOffAfterMs);
    if (powerOffAfterMs !== undefined) schedulePowerOff(powerOffAfterMs, this.init.log);
    setTimeout(() => this.stopAndExit(), 100);
  }

  /** Job statuses, for the logs stream's end condition. */
  statusOf(id: number): JobStatus | undefined {
    return this.getJob(id)?.status;
  }
}
