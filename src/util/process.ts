// Small process helpers shared by the CLI's daemon starter and the daemon itself.
import { readFileSync } from 'node:fs';

/** True while `pid` exists (EPERM: it exists but belongs to someone else). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return errnoCode(err) === 'EPERM';
  }
}

/**
 * True while `pid` runs: it exists and is not a zombie (a zombie answers signal 0 until reaped,
 * and pid 1 here does not reap orphans). Without /proc, or for another user's process, false.
 */
export function processRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'latin1'));
  } catch {
    return false;
  }
}

/** The `code` of a Node system error (ENOENT, EEXIST, …), if it has one. */
export function errnoCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

/** Resolves true once `pid` is gone, false if it is still there after `timeoutMs`. */
export async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (pidAlive(pid)) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
  return true;
}

/** The pid a pid file names, if the file is there and names one (a positive number). */
export function readPidFile(path: string): number | undefined {
  let pid: number;
  try {
    pid = Number(readFileSync(path, 'utf8').trim());
  } catch {
    return undefined;
  }
  return pid > 0 ? pid : undefined;
}

/** The pid in a daemon's pid file when that process is alive and is an aloft daemon (not a reused pid). */
export function liveDaemonPid(pidFile: string): number | undefined {
  const pid = readPidFile(pidFile);
  if (pid === undefined || !pidAlive(pid)) return undefined;
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'latin1').includes('daemon/main.js') ? pid : undefined;
  } catch {
    return pid; // no /proc: trust the pid file
  }
}
