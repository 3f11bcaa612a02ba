// Keeps a copy of every finished job's log under ALOFT_HOME/logs/<cluster-uid>/<job>.log so
// `aloft logs` works after the cluster is gone (skypilot#2766). Each copy keeps at most the last
// MAX_JOB_LOG bytes; the whole archive is trimmed oldest-first past MAX_ARCHIVE.
import { mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { JobRecord } from '../protocol/model.js';
import type { Logger } from './log.js';
import type { Store } from './store.js';

export const MAX_JOB_LOG = 16 * 1024 * 1024;
const MAX_ARCHIVE = 1024 * 1024 * 1024;

export type LogFetcher = (job: JobRecord) => Promise<Buffer>;

export class LogArchive {
  private queue: JobRecord[] = [];
  private running = false;
  private writtenSinceTrim = 0;
  private idleWaiters: Array<() => void> = [];

  constructor(
    private readonly dir: string,
    private readonly store: Store,
    private readonly log: Logger,
    private readonly fetch: LogFetcher,
  ) {}

  pathFor(job: Pick<JobRecord, 'clusterUid' | 'id'>): string {
    return join(this.dir, job.clusterUid, `${job.id}.log`);
  }

  /** Queues a copy; copies run one at a time off the request path. */
  enqueue(job: JobRecord): void {
    this.queue.push(job);
    if (!this.running) void this.drain();
  }

  /** Copies now (used before down) and waits for queued copies. */
  async archiveNow(jobs: JobRecord[]): Promise<void> {
    for (const j of jobs) this.queue.push(j);
    if (!this.running) void this.drain();
    await this.idle();
  }

  idle(): Promise<void> {
    if (!this.running && this.queue.length === 0) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  private async drain(): Promise<void> {
    this.running = true;
    while (this.queue.length > 0) {
      const job = this.queue.shift()!;
      try {
        let data = await this.fetch(job);
        if (data.length > MAX_JOB_LOG) {
          data = Buffer.concat([Buffer.from(`[aloft: log truncated to its last ${MAX_JOB_LOG} bytes]\n`), data.subarray(data.length - MAX_JOB_LOG)]);
        }
        const path = this.pathFor(job);
        mkdirSync(join(this.dir, job.clusterUid), { recursive: true, mode: 0o700 });
        writeFileSync(path, data, { mode: 0o600 });
        this.store.setJobLog(job.clusterUid, job.id, path);
        this.writtenSinceTrim += data.length;
        if (this.writtenSinceTrim > 64 * 1024 * 1024) {
          this.writtenSinceTrim = 0;
          this.trim();
        }
      } catch (err) {
        this.log.warn({ cluster: job.cluster, job: job.id, err: String(err) }, 'could not archive job log');
      }
    }
    this.running = false;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  private trim(): void {
    const files: Array<{ path: string; size: number; mtime: number }> = [];
    for (const uid of readdirSync(this.dir)) {
      for (const f of readdirSync(join(this.dir, uid))) {
        const path = join(this.dir, uid, f);
        const st = statSync(path);
        files.push({ path, size: st.size, mtime: st.mtimeMs });
      }
    }
    let total = files.reduce((a, f) => a + f.size, 0);
    files.sort((a, b) => a.mtime - b.mtime);
    for (const f of files) {
      if (total <= MAX_ARCHIVE) break;
      rmSync(f.path, { force: true });
      total -= f.size;
    }
  }
}
