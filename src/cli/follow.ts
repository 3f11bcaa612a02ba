// Following a request's stages and a job's output, for launch/exec/logs/start/stop/down.
import type { DaemonClient } from '../client/client.js';
import type { JobRecord, RequestRecord } from '../protocol/model.js';
import { DaemonUnreachable } from '../client/http.js';
import { UserError } from '../util/errors.js';
import { aloftHome } from '../util/paths.js';
import { note } from './context.js';

export async function followRequest(client: DaemonClient, id: string, quiet = false): Promise<RequestRecord> {
  let final: RequestRecord | undefined;
  const started = Date.now();
  const h = client.streamRequest(id, (item) => {
    if (item.type === 'done') final = item.request;
    else if (quiet) return;
    else if (item.type === 'stage') note(`  ⚙ ${item.stage}${item.message ? `: ${item.message}` : ''}  (${(Math.max(0, item.ts - started) / 1000).toFixed(1)}s)`);
    else note(`    ${item.message}`);
  });
  await h.done;
  if (!final) throw new UserError(`lost track of request ${id}; see \`aloft status\``);
  return final;
}

/**
 * Streams a job's log to stdout; resolves with the job's final record. Ctrl-C detaches. If the
 * daemon goes away mid-stream (crash, upgrade), the job keeps running on its node: a following
 * stream restarts the daemon and re-attaches, skipping what was already printed.
 */
export async function followLogs(
  client: DaemonClient,
  q: { cluster: string; job?: number; follow: boolean; tail?: number; rank?: number },
  detachHint = true,
  /** where the job's output goes: stderr when stdout carries JSON */
  out: NodeJS.WritableStream = process.stdout,
): Promise<{ job: JobRecord | null; detached: boolean }> {
  let job: JobRecord | null = null;
  let detached = false;
  let printed = 0; // characters of the log written so far
  let current: { abort(): void } | undefined;
  const onSig = () => {
    detached = true;
    current?.abort();
    if (detachHint) {
      note(`\naloft: detached; the job keeps running. Re-attach with: aloft logs ${q.cluster}${q.job !== undefined ? ` ${q.job}` : ''}`);
    }
  };
  process.once('SIGINT', onSig);
  try {
    for (let reattach = 0; ; reattach++) {
      let skip = printed;
      const h = client.streamLogs(q, (item) => {
        if (item.type !== 'text') {
          job = item.job;
          return;
        }
        let text = item.text;
        if (skip > 0) {
          if (text.length <= skip) {
            skip -= text.length;
            return;
          }
          text = text.slice(skip);
          skip = 0;
        }
        printed += text.length;
        out.write(text);
      });
      current = h;
      try {
        await h.done;
        return { job, detached };
      } catch (err) {
        if (!(err instanceof DaemonUnreachable) || detached || !q.follow || reattach >= 3) throw err;
        note('aloft: lost the daemon; the job keeps running. Re-attaching…');
        const { ensureDaemon } = await import('../client/spawn.js');
        await ensureDaemon(aloftHome());
      }
    }
  } finally {
    process.off('SIGINT', onSig);
  }
}

/** SkyPilot-like exit status for a finished job: 0 when it succeeded. */
export function jobExitCode(job: JobRecord | null): number {
  if (!job) return 1;
  if (job.status === 'SUCCEEDED') return 0;
  if (job.exitCode !== undefined && job.exitCode > 0 && job.exitCode < 256) return job.exitCode;
  return job.status === 'CANCELLED' ? 130 : 1;
}

/**
 * Exit status of `aloft logs`, SkyPilot's JobExitCode: 0 succeeded, 100 failed, 101 not finished
 * (--no-follow on a live job), 103 cancelled — so scripts can tell them apart.
 */
export function logsExitCode(job: JobRecord | null): number {
  if (!job) return 0;
  switch (job.status) {
    case 'SUCCEEDED':
      return 0;
    case 'CANCELLED':
      return 103;
    case 'FAILED':
    case 'FAILED_SETUP':
    case 'FAILED_DRIVER':
      return 100;
    default:
      return 101;
  }
}
