// Where an agent keeps its files on the node, and small naming helpers.
//
//   NODE_DIR/agent/            0700: agent.sock (0600), agent.pid, agent.json ({pid, socket, tcp?}),
//                              agent.log, journal.jsonl (job table), state.json (cluster config, autostop)
//   NODE_DIR/jobs/<id>/        run.sh, setup.sh, spec.json (no secrets), secrets.json (0600, removed when
//                              the job ends), run.log (every rank's lines), exit-<phase>-<rank>
//                              on workers: <phase>-<rank>.sh, rank-<rank>.log, pid-<phase>-<rank>
//   NODE_DIR/sky_workdir/      default working directory of jobs (HOME=NODE_DIR)
//   NODE_DIR/autostopped.json  written by the head agent when autostop fires
import { createHash } from 'node:crypto';
import { chmodSync, lstatSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Unix socket paths are limited to 107 bytes; Node silently truncates longer ones. */
const MAX_SOCKET_PATH = 100;

function socketPath(dir: string, nodeDir: string): string {
  const p = join(dir, 'agent.sock');
  if (Buffer.byteLength(p) <= MAX_SOCKET_PATH) return p;
  // Too deep a node dir: a short, stable name in a private dir under the temp dir instead.
  const h = createHash('sha256').update(nodeDir).digest('hex').slice(0, 16);
  const uid = typeof process.getuid === 'function' ? process.getuid() : 0;
  return join(tmpdir(), `aloft-agents-${uid}`, `${h}.sock`);
}

export function agentPaths(nodeDir: string) {
  const dir = join(nodeDir, 'agent');
  return {
    dir,
    socket: socketPath(dir, nodeDir),
    pid: join(dir, 'agent.pid'),
    log: join(dir, 'agent.log'),
    journal: join(dir, 'journal.jsonl'),
    state: join(dir, 'state.json'),
    info: join(dir, 'agent.json'),
    marker: join(nodeDir, 'autostopped.json'),
  };
}

/**
 * Makes `dir` a directory only we can use, as ssh does for its control sockets: one we own with
 * looser modes is tightened to 0700; a symlink, a non-directory or someone else's directory (a
 * shared temp dir where another user got there first) is refused, since whoever controls it could
 * put their own socket where the daemon sends secrets.
 */
export function ensurePrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = lstatSync(dir);
  if (st.isSymbolicLink() || !st.isDirectory()) throw new Error(`${dir} is not a directory (a symlink?); refusing to keep agent sockets there`);
  const uid = typeof process.getuid === 'function' ? process.getuid() : undefined;
  if (uid !== undefined && st.uid !== uid) {
    throw new Error(`${dir} belongs to uid ${st.uid}, not to this user (${uid}); refusing to keep agent sockets there (remove it, or set TMPDIR)`);
  }
  if ((st.mode & 0o077) !== 0) chmodSync(dir, 0o700);
}

export function writeAtomic(path: string, data: string): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, data, { mode: 0o600 });
  renameSync(tmp, path);
}

/** SkyPilot-style task id: sky-YYYY-MM-DD-HH-MM-SS-ffffff_<cluster>_<job>. */
export function makeTaskId(at: number, cluster: string, jobId: number): string {
  const d = new Date(at);
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  const stamp = `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}-${p(d.getHours())}-${p(d.getMinutes())}-${p(d.getSeconds())}`;
  return `sky-${stamp}-${p(d.getMilliseconds() * 1000, 6)}_${cluster}_${jobId}`;
}

export function describeDemand(numNodes: number, d: { cpus: number; gpus: number; accelerator?: string }): string {
  const parts = [`CPU:${d.cpus}`];
  if (d.gpus > 0) parts.push(`${d.accelerator ?? 'GPU'}:${d.gpus}`);
  return `${numNodes}x[${parts.join(', ')}]`;
}

