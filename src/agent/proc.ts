// One rank's process on this node. It runs in its own process group (so cancel reaches the whole
// tree) and writes straight to its log file, and a tiny bash wrapper records its exit code in a
// file: the job's output and outcome survive the agent dying mid-job.
import { spawn } from 'node:child_process';
import { appendFileSync, openSync, closeSync, readFileSync } from 'node:fs';

// The job's script runs the way SkyPilot runs it: in an interactive bash (`bash -i`), so the
// node's ~/.bashrc is read first (conda init, PATH edits a setup appended reach run). Two details
// differ from a bare `bash -i script`: bash's own start-up complaints about the missing terminal
// ("cannot set terminal process group", "no job control") are dropped — stderr goes to /dev/null
// only until the rc files are about to run —, and SIGTERM ends the job (an interactive bash
// ignores it, so a cancel would otherwise only stop the current command).
const INTERACTIVE = [
  'exec 2>&3 3>&-',
  'trap "exit 143" TERM',
  '[ -r /etc/bash.bashrc ] && . /etc/bash.bashrc',
  '[ -r ~/.bashrc ] && . ~/.bashrc',
  'source "$0"',
].join('; ');

// $1 script, $2 exit-code file, $3 optional line prefix ({pid} → this process's pid), $4 optional
// script run after it when it exists (MOUNT_CACHED's flush: the rank ends once uploads are done;
// its failure fails a rank that had succeeded).
const WRAPPER = [
  's=$1; e=$2; p=$3; a=$4; set --',
  // $0 of the job is its script's path, as with `bash -i script`.
  `run() { bash --norc -i -c '${INTERACTIVE}' "$s" 3>&2 2>/dev/null; }`,
  'if [ -n "$p" ]; then',
  '  p=${p//\\{pid\\}/$$}',
  // A bash read loop, not awk: Debian's default awk (mawk) buffers a pipe's input, so prefixed
  // lines would only appear when the job ends.
  '  run 2>&1 | while IFS= read -r l || [ -n "$l" ]; do printf \'%s%s\\n\' "$p" "$l"; done',
  '  c=${PIPESTATUS[0]}',
  'else',
  '  run; c=$?',
  'fi',
  'if [ -n "$a" ] && [ -x "$a" ]; then',
  '  if [ -n "$p" ]; then "$a" 2>&1 | while IFS= read -r l || [ -n "$l" ]; do printf \'%s%s\\n\' "$p" "$l"; done; f=${PIPESTATUS[0]}; else "$a" 2>&1; f=$?; fi',
  '  [ "$c" = 0 ] && [ "$f" != 0 ] && c=$f',
  'fi',
  'echo "$c" > "$e"',
  'exit "$c"',
].join('\n');

export interface RankProc {
  pid: number;
  pstart?: string;
  /** exit code (128+n for a signal); null when the process vanished without recording one */
  exited: Promise<number | null>;
}

export interface SpawnRankOptions {
  scriptPath: string;
  cwd: string;
  env: Record<string, string>;
  logPath: string;
  exitPath: string;
  prefix?: string;
  /** run after the script, in the same process group, when the file exists */
  after?: string;
}

const SIGNALS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGABRT: 6, SIGKILL: 9, SIGSEGV: 11, SIGPIPE: 13, SIGALRM: 14, SIGTERM: 15 };

export function spawnRank(o: SpawnRankOptions): RankProc {
  const fd = openSync(o.logPath, 'a', 0o600);
  let child;
  try {
    child = spawn('bash', ['-c', WRAPPER, 'aloft-rank', o.scriptPath, o.exitPath, o.prefix ?? '', o.after ?? ''], {
      cwd: o.cwd,
      env: o.env,
      detached: true,
      stdio: ['ignore', fd, fd],
    });
  } finally {
    closeSync(fd);
  }
  const exited = new Promise<number | null>((resolve) => {
    child.once('error', (err) => {
      try {
        appendFileSync(o.logPath, `[aloft] cannot start the job's process: ${err.message}\n`);
      } catch {
        /* log dir gone */
      }
      resolve(127);
    });
    child.once('exit', (code, signal) => {
      if (code !== null) resolve(code);
      else resolve(128 + (SIGNALS[signal ?? ''] ?? 9));
    });
  });
  const pid = child.pid ?? -1;
  // The wrapper lives in its own group; the agent must not wait for it to exit.
  child.unref();
  return { pid, pstart: pid > 0 ? procStart(pid) : undefined, exited };
}

/** Start time of a process (field 22 of /proc/<pid>/stat), to tell a recycled pid apart. */
export function procStart(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return rest[19];
  } catch {
    return undefined;
  }
}

export function processAlive(pid: number, pstart?: string): boolean {
  if (pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (rest[0] === 'Z') return false;
    if (pstart && rest[19] !== pstart) return false;
  } catch {
    /* no /proc: trust kill(0) */
  }
  return true;
}

export function readExitCode(path: string): number | undefined {
  try {
    const t = readFileSync(path, 'utf8').trim();
    if (!/^\d+$/.test(t)) return undefined;
    return Number(t);
  } catch {
    return undefined;
  }
}

/** A process this agent did not start (found after a restart): polled for its end. */
export function adoptRank(pid: number, pstart: string | undefined, exitPath: string, pollMs = 200): RankProc {
  const exited = new Promise<number | null>((resolve) => {
    const tick = () => {
      if (processAlive(pid, pstart)) {
        setTimeout(tick, pollMs).unref();
        return;
      }
      resolve(readExitCode(exitPath) ?? null);
    };
    tick();
  });
  return { pid, pstart, exited };
}

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * SIGTERM to the whole group, SIGKILL to what is left after `graceMs`. Resolves when it is gone.
 * pids are recycled quickly on busy nodes (pid_max is often 32768), so a group whose leader is a
 * different process now (start time differs) is left alone, and nothing is sent once it is gone.
 */
export async function killGroup(pgid: number, graceMs: number, pstart?: string): Promise<void> {
  if (pgid <= 0) return;
  if (pstart && processAlive(pgid) && !processAlive(pgid, pstart)) return;
  try {
    process.kill(-pgid, 'SIGTERM');
  } catch {
    return;
  }
  const deadline = Date.now() + graceMs;
  while (groupAlive(pgid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
  if (!groupAlive(pgid)) return;
  try {
    process.kill(-pgid, 'SIGKILL');
  } catch {
    return;
  }
  const hard = Date.now() + 3000;
  while (groupAlive(pgid) && Date.now() < hard) await new Promise((r) => setTimeout(r, 25));
}
