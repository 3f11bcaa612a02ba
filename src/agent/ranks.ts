// The worker side of a gang job: the head agent asks this node to run one rank (runRank) and
// streams its output back; killRank stops it. The rank's output stays in
// <node>/jobs/<id>/rank-<r>.log on this node, and its pid in pid-<phase>-<r>, so a head that lost
// its stream (restart, dropped connection) can re-attach from the offset it had reached.
import { mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import type { AgentMethods } from './protocol.js';
import { adoptRank, killGroup, processAlive, readExitCode, spawnRank, type RankProc } from './proc.js';
import { AgentError, type StreamSink } from './rpc.js';
import { FileTailer } from './tail.js';
import { FLUSH_SCRIPT } from '../storage/node.js';

type RunRankParams = AgentMethods['runRank']['params'];

interface RankEntry {
  jobId: number;
  phase: 'setup' | 'run';
  proc: RankProc;
}

export class RankManager {
  private ranks = new Map<string, RankEntry>();

  constructor(
    private readonly nodeDir: string,
    private readonly baseEnv: () => Record<string, string>,
    private readonly graceMs: number,
  ) {}

  private files(jobId: number, phase: 'setup' | 'run', rank: number) {
    const dir = join(this.nodeDir, 'jobs', String(jobId));
    return {
      dir,
      script: join(dir, `${phase}-${rank}.sh`),
      log: join(dir, `rank-${rank}.log`),
      exit: join(dir, `exit-${phase}-${rank}`),
      pid: join(dir, `pid-${phase}-${rank}`),
    };
  }

  run(p: RunRankParams, sink: StreamSink | undefined): { pid: number; offset: number } {
    const f = this.files(p.jobId, p.phase, p.rank);
    const key = `${p.jobId}:${p.phase}`;
    if (p.attach) return this.attach(p, key, f, p.attach.offset, sink);
    mkdirSync(f.dir, { recursive: true, mode: 0o700 });
    const cwd = join(this.nodeDir, p.workdir ?? 'sky_workdir');
    mkdirSync(cwd, { recursive: true });
    writeFileSync(f.script, p.script, { mode: 0o600 });
    let offset = 0;
    try {
      offset = statSync(f.log).size;
    } catch {
      /* new */
    }
    const proc = spawnRank({
      scriptPath: f.script,
      cwd,
      env: { ...this.baseEnv(), ...p.env },
      logPath: f.log,
      exitPath: f.exit,
      prefix: p.label ? `(${p.label}, rank=${p.rank}, pid={pid}) ` : undefined,
      after: p.phase === 'run' ? join(this.nodeDir, FLUSH_SCRIPT) : undefined,
    });
    writeFileSync(f.pid, `${proc.pid} ${proc.pstart ?? ''}`, { mode: 0o600 });
    this.track(key, { jobId: p.jobId, phase: p.phase, proc });
    if (sink) this.stream(proc, f.log, offset, sink);
    return { pid: proc.pid, offset };
  }

  private attach(
    p: RunRankParams,
    key: string,
    f: ReturnType<RankManager['files']>,
    offset: number,
    sink: StreamSink | undefined,
  ): { pid: number; offset: number } {
    let proc = this.ranks.get(key)?.proc;
    if (!proc) {
      let pid = -1;
      let pstart: string | undefined;
      try {
        const [a, b] = readFileSync(f.pid, 'utf8').trim().split(' ');
        pid = Number(a);
        pstart = b || undefined;
      } catch {
        /* never started here */
      }
      const code = readExitCode(f.exit);
      if (code !== undefined) proc = { pid, exited: Promise.resolve(code) };
      else if (pid > 0 && processAlive(pid, pstart)) {
        proc = adoptRank(pid, pstart, f.exit);
        this.track(key, { jobId: p.jobId, phase: p.phase, proc });
      } else throw new AgentError(`rank ${p.rank} of job ${p.jobId} (${p.phase}) is not running here`, 'NOT_FOUND');
    }
    if (sink) this.stream(proc, f.log, offset, sink);
    return { pid: proc.pid, offset };
  }

  private track(key: string, entry: RankEntry): void {
    this.ranks.set(key, entry);
    void entry.proc.exited.then(() => {
      if (this.ranks.get(key) === entry) this.ranks.delete(key);
    });
  }

  private stream(proc: RankProc, logPath: string, offset: number, sink: StreamSink): void {
    const dec = new StringDecoder('utf8');
    const tailer = new FileTailer(logPath, offset, async (chunk) => {
      const text = dec.write(chunk);
      if (text) sink.send({ text });
      await sink.drained();
    });
    tailer.start();
    // The head went away: the rank keeps running, nobody reads its output over the wire.
    sink.onClose(() => tailer.stop());
    void proc.exited.then(async (code) => {
      await tailer.finish();
      if (sink.closed) return;
      const rest = dec.end();
      if (rest) sink.send({ text: rest });
      sink.send({ exitCode: code ?? 255 });
      sink.end();
    });
  }

  async kill(jobId: number, phase?: 'setup' | 'run'): Promise<void> {
    const procs = new Map<number, string | undefined>(
      [...this.ranks.values()].filter((e) => e.jobId === jobId && (!phase || e.phase === phase)).map((e) => [e.proc.pid, e.proc.pstart]),
    );
    // Ranks started by an earlier incarnation of this agent are known only by their pid files.
    const dir = join(this.nodeDir, 'jobs', String(jobId));
    let names: string[] = [];
    try {
      names = readdirSync(dir);
    } catch {
      /* no such job here */
    }
    for (const n of names) {
      const m = n.match(/^pid-(setup|run)-\d+$/);
      if (!m || (phase && m[1] !== phase)) continue;
      try {
        const [a, b] = readFileSync(join(dir, n), 'utf8').trim().split(' ');
        if (processAlive(Number(a), b || undefined)) procs.set(Number(a), b || undefined);
      } catch {
        /* raced with cleanup */
      }
    }
    await Promise.all([...procs].map(([pid, pstart]) => killGroup(pid, this.graceMs, pstart)));
  }

  /** Kills ranks of jobs other than `keep` (found by their pid files: earlier agents' ranks too). */
  async reconcile(keep: Set<number>): Promise<number[]> {
    const root = join(this.nodeDir, 'jobs');
    let ids: string[] = [];
    try {
      ids = readdirSync(root);
    } catch {
      return [];
    }
    const killed: number[] = [];
    for (const id of ids) {
      const jobId = Number(id);
      if (!Number.isInteger(jobId) || keep.has(jobId)) continue;
      let names: string[];
      try {
        names = readdirSync(join(root, id));
      } catch {
        continue;
      }
      if (names.some((n) => /^pid-(setup|run)-\d+$/.test(n) && this.pidFileAlive(join(root, id, n)))) {
        await this.kill(jobId);
        killed.push(jobId);
      }
    }
    return killed;
  }

  private pidFileAlive(path: string): boolean {
    try {
      const [a, b] = readFileSync(path, 'utf8').trim().split(' ');
      return processAlive(Number(a), b || undefined);
    } catch {
      return false;
    }
  }

  async killAll(): Promise<void> {
    await Promise.all([...this.ranks.values()].map((e) => killGroup(e.proc.pid, this.graceMs, e.proc.pstart)));
  }

  get size(): number {
    return this.ranks.size;
  }
}
