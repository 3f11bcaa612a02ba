// The worker side of a gang job: the head agent asks this node to run one rank (runRank) and
// streams its output back; killRank stops it. The rank's output also stays in
// <node>/jobs/<id>/rank-<r>.log on this node.
import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import type { AgentMethods } from './protocol.js';
import { killGroup, spawnRank, type RankProc } from './proc.js';
import type { StreamSink } from './rpc.js';
import { FileTailer } from './tail.js';

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

  run(p: RunRankParams, sink: StreamSink | undefined): { pid: number } {
    const dir = join(this.nodeDir, 'jobs', String(p.jobId));
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const cwd = join(this.nodeDir, p.workdir ?? 'sky_workdir');
    mkdirSync(cwd, { recursive: true });
    const scriptPath = join(dir, `${p.phase}-${p.rank}.sh`);
    writeFileSync(scriptPath, p.script, { mode: 0o600 });
    const logPath = join(dir, `rank-${p.rank}.log`);
    let offset = 0;
    try {
      offset = statSync(logPath).size;
    } catch {
      /* new */
    }
    const proc = spawnRank({
      scriptPath,
      cwd,
      env: { ...this.baseEnv(), ...p.env },
      logPath,
      exitPath: join(dir, `exit-${p.phase}-${p.rank}`),
      prefix: p.label ? `(${p.label}, rank=${p.rank}, pid={pid}) ` : undefined,
    });
    const key = `${p.jobId}:${p.phase}`;
    const entry: RankEntry = { jobId: p.jobId, phase: p.phase, proc };
    this.ranks.set(key, entry);
    const dec = new StringDecoder('utf8');
    const tailer = sink
      ? new FileTailer(logPath, offset, async (chunk) => {
          const text = dec.write(chunk);
          if (text) sink.send({ text });
          await sink.drained();
        })
      : undefined;
    tailer?.start();
    // The head went away: the rank keeps running, nobody reads its output over the wire.
    sink?.onClose(() => tailer?.stop());
    void proc.exited.then(async (code) => {
      if (this.ranks.get(key) === entry) this.ranks.delete(key);
      if (!tailer || !sink) return;
      await tailer.finish();
      const rest = dec.end();
      if (rest) sink.send({ text: rest });
      sink.send({ exitCode: code ?? 255 });
      sink.end();
    });
    return { pid: proc.pid };
  }

  async kill(jobId: number, phase?: 'setup' | 'run'): Promise<void> {
    const victims = [...this.ranks.values()].filter((e) => e.jobId === jobId && (!phase || e.phase === phase));
    await Promise.all(victims.map((e) => killGroup(e.proc.pid, this.graceMs)));
  }

  async killAll(): Promise<void> {
    await Promise.all([...this.ranks.values()].map((e) => killGroup(e.proc.pid, this.graceMs)));
  }

  get size(): number {
    return this.ranks.size;
  }
}
