// `agent reap`: run by the daemon on a node whose agent is gone (src/daemon/reap.ts). It reads the
// journal without taking it over and says what became of the given jobs' processes.
import { readFileSync, rmSync } from 'node:fs';
import { readPidFile } from '../util/process.js';
import { jobFiles } from './jobrun.js';
import { replayJournal } from './journal.js';
import { agentPaths } from './paths.js';
import { processAlive, readExitCode } from './proc.js';
import { isJobStatusActive, type ReapedJob } from './protocol.js';

/** The pid of the live agent process that holds this node's pid file, if any. */
export function agentPid(pidPath: string): number | undefined {
  const pid = readPidFile(pidPath);
  if (pid === undefined || pid === process.pid || !processAlive(pid)) return undefined;
  try {
    if (!readFileSync(`/proc/${pid}/cmdline`, 'latin1').includes('serve')) return undefined;
  } catch {
    /* no /proc: trust the pid file */
  }
  return pid;
}

/**
 * Which of `ids` still have a live process, and which ended (exit code) or vanished. Jobs that
 * will never start another phase lose their secrets file now; nothing else changes (the journal
 * is the next agent's to take over). A live agent owns its jobs: then nothing is looked at.
 */
export function reap(nodeDir: string, ids: number[]): { agentAlive: true; pid: number } | { agentAlive: false; jobs: ReapedJob[] } {
  const p = agentPaths(nodeDir);
  const owner = agentPid(p.pid);
  if (owner !== undefined) return { agentAlive: true, pid: owner };
  const wanted = new Set(ids);
  const jobs: ReapedJob[] = [];
  for (const { job, rt } of replayJournal(p.journal).jobs.values()) {
    if (!wanted.has(job.id)) continue;
    if (!isJobStatusActive(job.status)) {
      jobs.push({ id: job.id, alive: false, final: job });
      continue;
    }
    if (job.status === 'INIT' || job.status === 'PENDING') continue; // never started: the next agent will
    const phase = rt.phase ?? (job.status === 'SETTING_UP' ? 'setup' : 'run');
    const exitCode = readExitCode(jobFiles(nodeDir, job.id).exit(phase, 0));
    const alive = rt.pid !== undefined && processAlive(rt.pid, rt.pstart);
    jobs.push({ id: job.id, phase, alive, ...(exitCode !== undefined ? { exitCode } : {}) });
    // a finished run, a failed setup, a vanished process: no phase of it will start again
    if (!alive && (exitCode === undefined || phase === 'run' || exitCode !== 0)) rmSync(jobFiles(nodeDir, job.id).secrets, { force: true });
  }
  return { agentAlive: false, jobs };
}
