// Following a request's stages and a job's output, for launch/exec/logs/start/stop/down.
import type { DaemonClient } from '../client/client.js';
import type { JobRecord, RequestRecord } from '../protocol/model.js';
import { DaemonUnreachable } from '../client/http.js';
import { UserError } from '../util/errors.js';
import { note, reviveFor } from './context.js';

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
 * Runs a log stream, and if the daemon goes away mid-stream (crash, upgrade) while following,
 * restarts it and opens the stream again, skipping what was already written: the job keeps
 * running on its node, so the reader should not notice more than a note.
 */
export async function reattaching(
  open: (write: (text: string) => void) => { done: Promise<void> },
  opts: { follow: boolean; stopped: () => boolean; revive: () => Promise<unknown>; out?: NodeJS.WritableStream },
): Promise<void> {
  const out = opts.out ?? process.stdout;
  let printed = 0; // characters written so far
  for (let attempt = 0; ; attempt++) {
    let skip = printed;
    const h = open((text) => {
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
    try {
      await h.done;
      return;
    } catch (err) {
      if (!(err instanceof DaemonUnreachable) || opts.stopped() || !opts.follow || attempt >= 3) throw err;
      note('aloft: lost the daemon; the job keeps running. Re-attaching…');
      await opts.revive();
    }
  }
}

/** Streams a job's log to stdout; resolves with the job's final record. Ctrl-C detaches. */
export async function followLogs(
  client: DaemonClient,
  q: { cluster: string; job?: number; follow: boolean; tail?: number; rank?: number },
  detachHint = true,
  /** where the job's output goes: stderr when stdout carries JSON */
  out: NodeJS.WritableStream = process.stdout,
): Promise<{ job: JobRecord | null; detached: boolean }> {
  let job: JobRecord | null = null;
  let detached = false;
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
    await reattaching(
      (write) =>
        (current = client.streamLogs(q, (item) => {
          if (item.type === 'text') write(item.text);
          else job = item.job;
        })),
      { follow: q.follow, stopped: () => detached, revive: reviveFor(client), out },
    );
  } finally {
    process.off('SIGINT', onSig);
  }
  return { job, detached };
}

/** SkyPilot-like exit status for a finished job: 0 when it succeeded. */
export function jobExitCode(job: JobRecord | null): number {
  if (!job) return 1;
  if (job.status === 'SUCCEEDED') return 0;
  if (job.exitCode !== undefined && job.exitCode > 0 && job.exitCode < 256) return job.exitCode;
  return job.status === 'CANCELLED' ? 130 : 1;
}

/** `logs` exit code of a job still running (--no-follow), as SkyPilot's JobExitCode.NOT_FINISHED. */
export const LOGS_NOT_FINISHED = 101;

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
      return LOGS_NOT_FINISHED;
  }
}
