// Following a request's stages and a job's output, for launch/exec/logs/start/stop/down.
import type { DaemonClient } from '../client/client.js';
import { randomBytes } from 'node:crypto';
import type { JobRecord, RequestRecord } from '../protocol/model.js';
import { DaemonUnreachable } from '../client/http.js';
import { unseenText } from '../client/resume.js';
import { UserError } from '../util/errors.js';
import { daemon, ExitCode, note, reviveFor } from './context.js';

/** A fresh idempotency key for a launch or exec: a retry with it is the same call (protocol/schemas.ts). */
export function newRequestId(kind: 'launch' | 'exec'): string {
  return `${kind}-${randomBytes(8).toString('hex')}`;
}

/**
 * Runs `call`; if the daemon goes away before answering (killed, replaced), starts one again and
 * repeats the call. Only for calls that are safe to repeat: reads, and launch/exec with their key.
 */
export async function retrying<T>(call: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await call();
    } catch (err) {
      if (!(err instanceof DaemonUnreachable) || attempt >= 3) throw err;
      // The client this command made: a local daemon is started again, a remote server waited for.
      const c = await daemon();
      note(c.remote ? 'aloft: lost the API server; waiting for it…' : 'aloft: lost the daemon; starting it again…');
      await reviveFor(c)();
    }
  }
}

export interface FollowRequestOptions {
  /** print nothing but the outcome */
  quiet?: boolean;
  /**
   * Ctrl-C stops following (exit 130) and says that the operation goes on in the daemon, and
   * how to follow or cancel it — instead of dying silently mid-stage.
   */
  interruptible?: boolean;
}

export async function followRequest(client: DaemonClient, id: string, opts: boolean | FollowRequestOptions = false): Promise<RequestRecord> {
  const o = typeof opts === 'boolean' ? { quiet: opts } : opts;
  let final: RequestRecord | undefined;
  const started = Date.now();
  let printed = 0; // stage/progress items shown so far: a stream opened again replays them
  let interrupted = false;
  let current: { abort(): void } | undefined;
  const onSig = () => {
    interrupted = true;
    current?.abort();
  };
  if (o.interruptible) process.once('SIGINT', onSig);
  try {
    // The daemon dying mid-launch does not end the launch: the next daemon settles the request
    // (recover.ts), and this follows it there.
    await retrying(async () => {
      if (interrupted) return;
      let replayed = 0;
      const h = client.streamRequest(id, (item) => {
        if (item.type === 'done') return void (final = item.request);
        if (replayed++ < printed) return;
        printed++;
        if (o.quiet) return;
        if (item.type === 'stage') note(`  ⚙ ${item.stage}${item.message ? `: ${item.message}` : ''}  (${(Math.max(0, item.ts - started) / 1000).toFixed(1)}s)`);
        else note(`    ${item.message}`);
      });
      current = h;
      try {
        await h.done;
      } catch (err) {
        if (!interrupted) throw err;
      }
    });
  } finally {
    process.off('SIGINT', onSig);
  }
  if (interrupted && !final) {
    note(`\naloft: stopped following; request ${id} goes on in the daemon.`);
    note(`  follow it:  aloft requests follow ${id}`);
    note(`  cancel it:  aloft requests cancel ${id}`);
    throw new ExitCode(130);
  }
  if (!final) throw new UserError(`lost track of request ${id}; see \`aloft requests\``);
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
    const unseen = unseenText(printed);
    const h = open((chunk) => {
      const text = unseen(chunk);
      if (text === undefined) return;
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

/**
 * Exit status of `launch` / `exec` for a job they followed to its end, SkyPilot's JobExitCode as
 * `logs` uses it: 0 succeeded, 100 failed (any kind; the job's own code is in the closing line),
 * 103 cancelled. A job that could not be followed to its end (no record) is 1.
 */
export function jobExitCode(job: JobRecord | null): number {
  if (!job) return 1;
  return logsExitCode(job);
}

/** The closing line of a followed job: its status, its own exit code, and for a gang the ranks'. */
export function describeEnd(job: JobRecord): string {
  const head = `Job ${job.id} ${job.status}`;
  const code = job.exitCode !== undefined ? `exit code ${job.exitCode}` : undefined;
  switch (job.status) {
    case 'SUCCEEDED':
    case 'CANCELLED':
      return `${head}.`;
    case 'FAILED':
    case 'FAILED_SETUP': {
      const what = job.status === 'FAILED_SETUP' ? 'setup ' : '';
      const where = job.failedRank !== undefined ? ` on rank ${job.failedRank}` : '';
      const list = job.returnCodes ? `; return code list: [${job.returnCodes.map((c) => (c === null ? 'lost' : String(c))).join(', ')}]` : '';
      return `${head}${where} (${what}${code ?? 'no exit code'})${list}.`;
    }
    case 'FAILED_DRIVER':
      return `${head}: ${job.endReason ?? `its process was lost${job.failedRank !== undefined ? ` on rank ${job.failedRank}` : ''}`}.`;
    default:
      return `${head}.`;
  }
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
