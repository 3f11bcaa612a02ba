// The node's durable job table: an append-only JSONL journal (one line per job change, the whole
// job each time, so replay is "last line wins"), compacted now and then into a fresh file that
// atomically replaces the old one. A line is one write(2), so a SIGKILLed agent loses nothing
// it had acknowledged; a torn last line (power loss) is skipped on replay.
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { isJobStatusActive, type AgentJob } from './protocol.js';

/** What the agent needs to re-attach to a job's processes after a restart. */
export interface JobRuntime {
  phase?: 'setup' | 'run';
  /** pid (= process group) of the local rank's process */
  pid?: number;
  /** its start time from /proc/<pid>/stat, so a recycled pid is not mistaken for it */
  pstart?: string;
}

export interface JobEntry {
  seq: number;
  job: AgentJob;
  rt: JobRuntime;
}

interface Line {
  s?: number;
  j?: AgentJob;
  r?: JobRuntime;
  meta?: { nextId: number; seq: number };
}

/** Terminal jobs kept beyond this many are dropped at compaction (oldest first). */
const KEEP_JOBS = 10_000;

export class Journal {
  private fd: number;
  private linesSinceCompact = 0;
  readonly jobs = new Map<number, JobEntry>();
  nextId = 1;
  seq = 0;

  /** called with the ids of finished jobs dropped by a compaction (their files can go too) */
  onDrop: (ids: number[]) => void = () => undefined;

  constructor(private readonly path: string) {
    const r = replayJournal(path);
    for (const [id, e] of r.jobs) this.jobs.set(id, e);
    this.nextId = r.nextId;
    this.seq = r.seq;
    this.linesSinceCompact = r.lines;
    this.fd = openSync(path, 'a', 0o600);
  }

  /** Reserves the next job id (persisted with the job's first line). */
  allocId(): number {
    return this.nextId++;
  }

  /** Records a change; returns the entry with its new sequence number. */
  put(job: AgentJob, rt: JobRuntime): JobEntry {
    const entry: JobEntry = { seq: ++this.seq, job, rt };
    this.jobs.set(job.id, entry);
    writeSync(this.fd, JSON.stringify({ s: entry.seq, j: job, r: rt }) + '\n');
    if (++this.linesSinceCompact > Math.max(20_000, this.jobs.size * 4)) this.compact();
    return entry;
  }

  /** Rewrites the journal with one line per kept job; atomic rename over the old file. */
  compact(): void {
    const entries = [...this.jobs.values()].sort((a, b) => a.job.id - b.job.id);
    let drop = entries.length - KEEP_JOBS;
    const dropped: number[] = [];
    for (const e of entries) {
      if (drop <= 0) break;
      if (isJobStatusActive(e.job.status)) continue;
      this.jobs.delete(e.job.id);
      dropped.push(e.job.id);
      drop--;
    }
    const kept = [...this.jobs.values()].sort((a, b) => a.seq - b.seq);
    const lines = [JSON.stringify({ meta: { nextId: this.nextId, seq: this.seq } })];
    for (const e of kept) lines.push(JSON.stringify({ s: e.seq, j: e.job, r: e.rt }));
    const tmp = `${this.path}.tmp`;
    const fd = openSync(tmp, 'w', 0o600);
    try {
      writeSync(fd, lines.join('\n') + '\n');
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, this.path);
    closeSync(this.fd);
    this.fd = openSync(this.path, 'a', 0o600);
    this.linesSinceCompact = kept.length + 1;
    if (dropped.length > 0) this.onDrop(dropped);
  }

  close(): void {
    try {
      closeSync(this.fd);
    } catch {
      /* already closed */
    }
  }
}

/** Reads a journal without taking it over (no file is opened for writing): last line wins per job. */
export function replayJournal(path: string): { jobs: Map<number, JobEntry>; nextId: number; seq: number; lines: number } {
  const out = { jobs: new Map<number, JobEntry>(), nextId: 1, seq: 0, lines: 0 };
  if (!existsSync(path)) return out;
  const text = readFileSync(path, 'utf8');
  for (const raw of text.split('\n')) {
    if (!raw) continue;
    let l: Line;
    try {
      l = JSON.parse(raw) as Line;
    } catch {
      continue;
    }
    out.lines++;
    if (l.meta) {
      out.nextId = Math.max(out.nextId, l.meta.nextId);
      out.seq = Math.max(out.seq, l.meta.seq);
      continue;
    }
    if (!l.j || typeof l.s !== 'number') continue;
    out.jobs.set(l.j.id, { seq: l.s, job: l.j, rt: l.r ?? {} });
    out.seq = Math.max(out.seq, l.s);
    out.nextId = Math.max(out.nextId, l.j.id + 1);
  }
  return out;
}
