// Runs one job across its ranks: rank 0 here, ranks 1..N-1 through the worker agents. Setup runs
// on every rank first; then run on every rank at once. The first rank to fail stops the others.
import { appendFileSync, closeSync, existsSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { AgentJob } from './protocol.js';
import type { JobRuntime } from './journal.js';
import { killGroup, spawnRank, type RankProc } from './proc.js';
import type { AgentClient } from './rpc.js';
import type { JobStatus } from '../protocol/model.js';
import { FLUSH_SCRIPT } from '../storage/node.js';

/** How long a head keeps retrying a worker agent that refuses connections (it died) before the rank is lost. */
const AGENT_GONE_MS = 3000;

/** The submission as kept on disk (spec.json), without secrets. */
export interface StoredSpec {
  name?: string;
  hasSetup: boolean;
  envs: Record<string, string>;
  extraEnv?: Record<string, string>;
  workdir?: string;
}

export function jobDir(nodeDir: string, id: number): string {
  return join(nodeDir, 'jobs', String(id));
}

export const jobFiles = (nodeDir: string, id: number) => {
  const dir = jobDir(nodeDir, id);
  return {
    dir,
    spec: join(dir, 'spec.json'),
    secrets: join(dir, 'secrets.json'),
    runLog: join(dir, 'run.log'),
    script: (phase: 'setup' | 'run') => join(dir, `${phase}.sh`),
    exit: (phase: 'setup' | 'run', rank: number) => join(dir, `exit-${phase}-${rank}`),
  };
};

const madeDirs = new Set<string>();

/** mkdir -p, remembered: thousands of jobs share one workdir and file creation is not free. */
function ensureDir(dir: string): void {
  if (madeDirs.has(dir) && existsSync(dir)) return;
  mkdirSync(dir, { recursive: true });
  madeDirs.add(dir);
}

export interface ClusterView {
  name: string;
  cloud: string;
  region?: string;
  zone?: string;
  /** IPs in rank order */
  ips: string[];
}

export interface RunnerHost {
  nodeDir: string;
  graceMs: number;
  baseEnv(): Record<string, string>;
  cluster(): ClusterView;
  worker(rank: number): Promise<AgentClient>;
  update(id: number, patch: Partial<AgentJob>, rt?: JobRuntime): void;
}

export interface Outcome {
  status: JobStatus;
  exitCode?: number;
  failedRank?: number;
  returnCodes?: Array<number | null>;
}

/** Where a job picks up after an agent restart. */
export interface Resume {
  phase: 'setup' | 'run';
  /** the rank-0 process, still alive, or its recorded exit code */
  proc?: RankProc;
  code?: number;
  /** a gang job: re-attach to the workers' ranks instead of starting them */
  attach?: boolean;
}

interface RankHandle {
  rank: number;
  exited: Promise<number | null>;
  kill(): Promise<void>;
}

export class JobRun {
  cancelled = false;
  private handles: RankHandle[] = [];

  constructor(
    private readonly host: RunnerHost,
    private job: AgentJob,
    private readonly spec: StoredSpec,
    private readonly secrets: Record<string, string>,
  ) {}

  async execute(resume?: Resume): Promise<Outcome> {
    if (this.spec.hasSetup && (!resume || resume.phase === 'setup')) {
      const f = await this.phase('setup', resume);
      if (this.cancelled) return { status: 'CANCELLED' };
      if (f) return { status: 'FAILED_SETUP', exitCode: f.code ?? undefined, failedRank: f.rank, ...codesOf(f) };
      resume = undefined;
    }
    const f = await this.phase('run', resume?.phase === 'run' ? resume : undefined);
    if (this.cancelled) return { status: 'CANCELLED' };
    if (f) {
      const many = this.job.numNodes > 1 ? { failedRank: f.rank, ...codesOf(f) } : {};
      return f.code === null ? { status: 'FAILED_DRIVER', ...many } : { status: 'FAILED', exitCode: f.code, ...many };
    }
    return { status: 'SUCCEEDED', exitCode: 0 };
  }

  async cancel(): Promise<void> {
    this.cancelled = true;
    await Promise.all(this.handles.map((h) => h.kill()));
  }

  private env(rank: number, phase: 'setup' | 'run'): Record<string, string> {
    const c = this.host.cluster();
    const n = this.job.numNodes;
    const ips = c.ips.slice(0, n).join('\n');
    const e: Record<string, string> = {
      ...this.spec.envs,
      ...this.secrets,
      ...(this.spec.extraEnv ?? {}),
      SKYPILOT_NODE_RANK: String(rank),
      SKYPILOT_NODE_IPS: ips,
      SKYPILOT_NUM_NODES: String(n),
      SKYPILOT_NUM_GPUS_PER_NODE: String(this.job.demand.gpus ?? 0),
      SKYPILOT_TASK_ID: this.job.taskId,
      SKYPILOT_CLUSTER_INFO: JSON.stringify({
        cluster_name: c.name,
        cloud: c.cloud,
        region: c.region ?? null,
        zone: c.zone ?? null,
        num_nodes: n,
      }),
      SKYPILOT_JOB_ID: String(this.job.id),
    };
    if (phase === 'setup') {
      e.SKYPILOT_SETUP_NODE_RANK = String(rank);
      e.SKYPILOT_SETUP_NODE_IPS = ips;
      e.SKYPILOT_SETUP_NUM_NODES = String(n);
    }
    return e;
  }

  /** Runs one phase on every rank; the first failure ({rank, code|null, every rank's code}) or undefined. */
  private async phase(phase: 'setup' | 'run', resume?: Resume): Promise<PhaseFailure | undefined> {
    const files = jobFiles(this.host.nodeDir, this.job.id);
    const n = this.job.numNodes;
    let proc: RankProc;
    if (resume?.proc) proc = resume.proc;
    else if (resume?.code !== undefined) proc = { pid: -1, exited: Promise.resolve(resume.code) };
    else {
      const cwd = join(this.host.nodeDir, this.spec.workdir ?? 'sky_workdir');
      ensureDir(cwd);
      proc = spawnRank({
        scriptPath: files.script(phase),
        cwd,
        env: { ...this.host.baseEnv(), ...this.env(0, phase) },
        logPath: files.runLog,
        exitPath: files.exit(phase, 0),
        prefix: n > 1 ? '(head, rank=0, pid={pid}) ' : undefined,
        // MOUNT_CACHED: the job is not over until what it wrote is in the bucket
        after: phase === 'run' ? join(this.host.nodeDir, FLUSH_SCRIPT) : undefined,
      });
    }
    const status: JobStatus = phase === 'setup' ? 'SETTING_UP' : 'RUNNING';
    if (!(resume && this.job.status === status)) {
      const patch: Partial<AgentJob> = { status };
      if (phase === 'run' && !this.job.startedAt) patch.startedAt = Date.now();
      this.job = { ...this.job, ...patch };
      this.host.update(this.job.id, patch, { phase, pid: proc.pid, pstart: proc.pstart });
    }
    const grace = this.host.graceMs;
    let rank0Done = false;
    void proc.exited.then(() => (rank0Done = true));
    // Signalling a group after its leader exited could hit whoever got the pid next.
    this.handles = [{ rank: 0, exited: proc.exited, kill: async () => (rank0Done ? undefined : killGroup(proc.pid, grace, proc.pstart)) }];
    let fd: number | undefined;
    if (n > 1) {
      const offsets = resume?.attach ? forwardedBytes(files.runLog, n) : undefined;
      fd = openSync(files.runLog, 'a', 0o600);
      for (let r = 1; r < n; r++) this.handles.push(this.remote(r, phase, fd, offsets?.[r]));
    }
    if (this.cancelled) void Promise.all(this.handles.map((h) => h.kill()));
    // (a cast, not an annotation: it is assigned in callbacks, which narrowing cannot see)
    let failed = undefined as PhaseFailure | undefined;
    const handles = this.handles;
    const codes = new Array<number | null | undefined>(n).fill(undefined);
    const stopped = new Set<number>();
    await Promise.all(
      handles.map((h) =>
        h.exited.then((code) => {
          codes[h.rank] = code;
          if (code === 0 || failed || this.cancelled) return;
          failed = { rank: h.rank, code };
          for (const o of handles) {
            if (o === h) continue;
            stopped.add(o.rank);
            void o.kill();
          }
        }),
      ),
    );
    if (failed && n > 1) {
      const note = (line: string) => (fd !== undefined ? writeSync(fd, line) : appendFileSync(files.runLog, line));
      // A rank killed for another's failure says so, so its log does not look like its own fault.
      for (const r of stopped) {
        if (codes[r] !== 0) note(`${rankLabel(r)} [aloft] stopped: rank ${failed.rank} failed (${describeCode(failed.code)})\n`);
      }
      // SkyPilot's summary of a gang failure: who failed first, and every rank's code.
      const list = codes.map((c) => (c === null || c === undefined ? 'lost' : String(c))).join(', ');
      note(`[aloft] job ${this.job.id} ${phase} failed on rank ${failed.rank} (${describeCode(failed.code)}); return code list: [${list}]\n`);
    }
    if (fd !== undefined) closeSync(fd);
    if (failed && n > 1) failed.codes = codes.map((c) => (c === undefined ? null : c));
    return failed;
  }

  private remote(rank: number, phase: 'setup' | 'run', fd: number, attachOffset?: number): RankHandle {
    let client: AgentClient | undefined;
    let killed = false;
    let started = false;
    let pending = '';
    const write = (text: string) => {
      pending += text;
      const nl = pending.lastIndexOf('\n');
      if (nl === -1) return;
      writeSync(fd, pending.slice(0, nl + 1));
      pending = pending.slice(nl + 1);
    };
    const flush = () => {
      if (pending) writeSync(fd, pending + '\n');
      pending = '';
    };
    const label = `worker${rank}`;
    const killRemote = async () => {
      try {
        const c = client ?? (await this.host.worker(rank));
        await c.call('killRank', { jobId: this.job.id, phase }, { timeoutMs: this.host.graceMs + 10_000 });
      } catch {
        /* worker gone: nothing left to kill through it */
      }
    };
    const reattachMs = Number(process.env.ALOFT_AGENT_REATTACH_MS ?? 10_000);
    const exited = (async (): Promise<number | null> => {
      // Where the worker's rank log continues: base (answered by the worker) + bytes received.
      let base: number | undefined = attachOffset;
      let received = 0;
      let lostSince: number | undefined;
      for (;;) {
        let code: number | undefined;
        try {
          if (killed && !started) return null;
          client = await this.host.worker(rank);
          const attach = base !== undefined ? { attach: { offset: base + received } } : {};
          if (base !== undefined) {
            base += received;
            received = 0;
          }
          const h = await client.stream(
            'runRank',
            {
              jobId: this.job.id,
              rank,
              phase,
              script: attach.attach ? '' : readFileSync(jobFiles(this.host.nodeDir, this.job.id).script(phase), 'utf8'),
              env: attach.attach ? {} : this.env(rank, phase),
              workdir: this.spec.workdir,
              label,
              ...attach,
            },
            (item: { text?: string; exitCode?: number }) => {
              if (typeof item.text === 'string') {
                write(item.text);
                received += Buffer.byteLength(item.text);
              } else if (typeof item.exitCode === 'number') code = item.exitCode;
            },
          );
          if (base === undefined) base = h.result.offset ?? 0;
          started = true;
          lostSince = undefined;
          // A kill that raced the start found nothing to kill on the worker.
          if (killed) void killRemote();
          await h.done;
          if (code !== undefined) {
            flush();
            return code;
          }
        } catch (err) {
          const e = err as { code?: string; message: string };
          // Never answered: whether it started is unknown, so its output offset is too.
          const hopeless = killed || this.cancelled || e.code === 'NOT_FOUND' || base === undefined;
          lostSince ??= Date.now();
          // Nothing listens where the worker agent was: it died. Wait only as long as a restart
          // of it takes (a version upgrade), not as long as a network blip may last.
          const gone = e.code === 'ECONNREFUSED' || e.code === 'ENOENT';
          if (hopeless || Date.now() - lostSince > (gone ? Math.min(reattachMs, AGENT_GONE_MS) : reattachMs)) {
            flush();
            if (!killed && !this.cancelled) writeSync(fd, `(${label}, rank=${rank}) [aloft] lost rank ${rank}: ${e.message}\n`);
            return null;
          }
        }
        await new Promise((r) => setTimeout(r, 300));
      }
    })();
    let finished = false;
    void exited.then(() => (finished = true));
    return {
      rank,
      exited,
      kill: async () => {
        if (finished) return;
        killed = true;
        if (started || client) await killRemote();
      },
    };
  }
}

interface PhaseFailure {
  rank: number;
  code: number | null;
  /** every rank's code (gang jobs) */
  codes?: Array<number | null>;
}

const codesOf = (f: PhaseFailure) => (f.codes ? { returnCodes: f.codes } : {});

/** The prefix of a rank's lines in a gang job's log (without the pid: the agent writes these). */
function rankLabel(rank: number): string {
  return rank === 0 ? '(head, rank=0)' : `(worker${rank}, rank=${rank})`;
}

function describeCode(code: number | null): string {
  return code === null ? 'its process was lost' : `exit code ${code}`;
}

/** Bytes of each worker rank's lines already copied into run.log (where to re-attach from). */
export function forwardedBytes(runLog: string, numNodes: number): number[] {
  const out = new Array<number>(numNodes).fill(0);
  let data: Buffer;
  try {
    data = readFileSync(runLog);
  } catch {
    return out;
  }
  const prefixes = out.map((_, r) => Buffer.from(`(worker${r}, rank=${r}, pid=`));
  let start = 0;
  while (start < data.length) {
    let nl = data.indexOf(0x0a, start);
    if (nl === -1) break;
    for (let r = 1; r < numNodes; r++) {
      const p = prefixes[r]!;
      if (nl - start >= p.length && data.compare(p, 0, p.length, start, start + p.length) === 0) {
        out[r]! += nl + 1 - start;
        break;
      }
    }
    start = nl + 1;
  }
  return out;
}
