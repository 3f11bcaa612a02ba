// What the provider runs on a pool host: a probe (home, Node.js), the agent upload, and the
// sweep that kills every process of a cluster's runtime directory.
import { createHash } from 'node:crypto';
import { createReadStream, readFileSync, statSync } from 'node:fs';
import { shellQuote } from '../../util/shell.js';
import { UserError } from '../../util/errors.js';
import { AGENT_DIR, type SshTransport } from './transport.js';

export const MIN_NODE_MAJOR = 20;
export const RUNTIME_DIR = '.aloft-runtime';

export class NodeJsMissingError extends UserError {
  constructor(message: string) {
    super(message, 'SSH_NODE_MISSING');
    this.name = 'NodeJsMissingError';
  }
}

// Node.js may be installed where a non-interactive ssh session does not look (nvm, volta, fnm).
const PROBE = String.raw`
echo "home=$HOME"
echo "path=$PATH"
n=$(command -v node 2>/dev/null)
if [ -z "$n" ]; then
  for c in "$HOME"/.nvm/versions/node/*/bin/node "$HOME"/.volta/bin/node "$HOME"/.local/share/fnm/aliases/default/bin/node /usr/local/bin/node /opt/homebrew/bin/node; do
    [ -x "$c" ] && n="$c"
  done
fi
echo "node=$n"
[ -n "$n" ] && echo "version=$("$n" --version 2>/dev/null)"
true
`;

export interface ProbeResult {
  home: string;
  nodePath?: string;
  nodeVersion?: string;
}

export const NODE_INSTALL_HINT =
  'install Node.js 20 or newer for the login user, e.g. `curl -fsSL https://deb.nodesource.com/setup_20.x | sudo bash - && sudo apt-get install -y nodejs`, or with nvm';

/** Checks the host is usable: reachable, a home, Node.js >= 20 (linked into PATH if found elsewhere). */
export async function probeHost(t: SshTransport, where: string): Promise<ProbeResult> {
  const r = await t.exec(PROBE, { timeoutMs: 30_000 });
  const get = (k: string) => r.stdout.split('\n').find((l) => l.startsWith(k + '='))?.slice(k.length + 1).trim();
  const home = get('home');
  if (r.code !== 0 || !home) throw new Error(`probe failed on ${where}: ${r.stderr.trim().split('\n').pop() || `exit code ${r.code}`}`);
  const nodePath = get('node') || undefined;
  const nodeVersion = get('version') || undefined;
  if (!nodePath) {
    throw new NodeJsMissingError(
      `Node.js is not installed on ${where} (no \`node\` on PATH=${get('path') ?? ''} of a non-interactive ssh session); ${NODE_INSTALL_HINT}`,
    );
  }
  const major = Number(nodeVersion?.match(/^v(\d+)\./)?.[1] ?? 0);
  if (major < MIN_NODE_MAJOR) {
    throw new NodeJsMissingError(
      `Node.js ${nodeVersion || '(unknown version)'} at ${nodePath} on ${where} is too old: aloft's agent needs Node.js >= ${MIN_NODE_MAJOR}; ${NODE_INSTALL_HINT}`,
    );
  }
  const onPath = await t.exec('command -v node', { timeoutMs: 15_000 });
  if (onPath.stdout.trim() !== nodePath) {
    const bin = `${home}/${AGENT_DIR}/bin`;
    const l = await t.exec(`mkdir -p ${shellQuote(bin)} && ln -sfn ${shellQuote(nodePath)} ${shellQuote(bin + '/node')}`);
    if (l.code !== 0) throw new Error(`cannot link ${nodePath} on ${where}: ${l.stderr.trim()}`);
  }
  return { home, nodePath, nodeVersion };
}

/** A node's runtime directory on a host: `~/.aloft-runtime/<cluster>-<uid>/node-<rank>`. */
export function runtimeNodeHome(remoteHome: string, cluster: string, clusterUid: string, rank: number): string {
  return `${remoteHome}/${RUNTIME_DIR}/${cluster}-${clusterUid}/node-${rank}`;
}

/** The login home a runtime node directory is under. */
export function loginHomeOf(nodeHome: string): string {
  const cut = nodeHome.indexOf(`/${RUNTIME_DIR}/`);
  if (cut < 0) throw new Error(`node home ${nodeHome} is not under ~/${RUNTIME_DIR}`);
  return nodeHome.slice(0, cut);
}

/**
 * Puts the agent bundle on hosts, once per (host, login home, bundle) at a time: ranks on the
 * same host share one upload. Later launches check the hash again (cheap): a host may have been
 * wiped in between.
 */
export class AgentInstaller {
  private readonly uploads = new Map<string, Promise<string>>();

  /** `host` names the machine (ranks with the same name share an upload); `where` is for messages. */
  ensure(t: SshTransport, nodeHome: string, localBundle: string, host: string, where = host, opts: { fresh?: boolean } = {}): Promise<string> {
    const remoteHome = loginHomeOf(nodeHome);
    const key = `${remoteHome}\0${host}\0${localBundle}`;
    let p = this.uploads.get(key);
    if (!p) {
      const done = () => this.uploads.delete(key);
      p = uploadAgent(t, remoteHome, localBundle, where, opts);
      p.then(done, done);
      this.uploads.set(key, p);
    }
    return p;
  }
}

const hashes = new Map<string, { mtimeMs: number; size: number; sha: string }>();

export function bundleHash(file: string): string {
  const st = statSync(file);
  const c = hashes.get(file);
  if (c && c.mtimeMs === st.mtimeMs && c.size === st.size) return c.sha;
  const sha = createHash('sha256').update(readFileSync(file)).digest('hex');
  hashes.set(file, { mtimeMs: st.mtimeMs, size: st.size, sha });
  return sha;
}

/**
 * Puts the bundle at ~/.aloft-agent/agent-<sha>.cjs unless a copy with that hash is there
 * (`fresh`: a machine just created has none, so the look is skipped).
 */
export async function uploadAgent(t: SshTransport, remoteHome: string, localBundle: string, where: string, opts: { fresh?: boolean } = {}): Promise<string> {
  const sha = bundleHash(localBundle);
  const dir = `${remoteHome}/${AGENT_DIR}`;
  const dest = `${dir}/agent-${sha.slice(0, 16)}.cjs`;
  const q = shellQuote(dest);
  if (!opts.fresh) {
    const check = await t.exec(`sha256sum ${q} 2>/dev/null | cut -d' ' -f1`, { timeoutMs: 30_000 });
    if (check.stdout.trim() === sha) return dest;
  }
  // Written under a temporary name and renamed: two ranks on one host may upload at once.
  const up = await t.exec(
    `mkdir -p ${shellQuote(dir)} && tmp=${q}.$$.tmp && cat > "$tmp" && [ "$(sha256sum "$tmp" | cut -d' ' -f1)" = ${sha} ] && mv -f "$tmp" ${q} || { rm -f "$tmp"; exit 1; }`,
    { stdin: createReadStream(localBundle), timeoutMs: 300_000 },
  );
  if (up.code !== 0) throw new Error(`uploading the agent to ${where} failed: ${up.stderr.trim().split('\n').pop() || `exit code ${up.code}`}`);
  return dest;
}

// Runs with the host's node: reads /proc once, kills the process groups each found process
// leads, then stragglers, until none is left. A process belongs to the directory when its
// ALOFT_NODE_DIR (set for the agent, inherited by jobs) or HOME is the directory or below it.
const SWEEP_JS = String.raw`
const fs = require('fs');
const prefix = process.argv[1];
const mine = new Set([process.pid, process.ppid]);
const needles = ['ALOFT_NODE_DIR=' + prefix, 'HOME=' + prefix];
function find() {
  const out = [];
  for (const e of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(e) || mine.has(Number(e))) continue;
    let env;
    try { env = fs.readFileSync('/proc/' + e + '/environ', 'latin1'); } catch { continue; }
    const hit = env.split('\0').some((kv) => needles.some((n) => kv.startsWith(n) && (kv.length === n.length || kv[n.length] === '/')));
    if (hit) out.push(Number(e));
  }
  return out;
}
function pgid(pid) {
  try { const s = fs.readFileSync('/proc/' + pid + '/stat', 'latin1'); return Number(s.slice(s.lastIndexOf(')') + 2).split(' ')[2]); } catch { return 0; }
}
function alive(pid) {
  try { process.kill(pid, 0); const s = fs.readFileSync('/proc/' + pid + '/stat', 'latin1'); return s.slice(s.lastIndexOf(')') + 2)[0] !== 'Z'; } catch { return false; }
}
function signal(pids, sig) {
  for (const p of pids) { if (pgid(p) === p) { try { process.kill(-p, sig); } catch {} } try { process.kill(p, sig); } catch {} }
}
const sleep = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
let killed = 0;
for (let round = 0; round < 6; round++) {
  let pids = find();
  if (pids.length === 0) break;
  killed += pids.length;
  signal(pids, 'SIGTERM');
  for (let i = 0; i < 30 && pids.some(alive); i++) sleep(50);
  signal(pids.filter(alive), 'SIGKILL');
  sleep(50);
}
const left = find().filter(alive);
console.log(JSON.stringify({ killed, left }));
process.exit(left.length ? 1 : 0);
`;

/** Kills every process of `dir` on the host; optionally removes the directory afterwards. */
export async function sweepDir(t: SshTransport, dir: string, where: string, remove: boolean): Promise<void> {
  let cmd = `node -e ${shellQuote(SWEEP_JS)} ${shellQuote(dir)}`;
  // Bucket mounts under the dir are detached first, and rm stays on the dir's filesystem: removing
  // through a live mount would delete the bucket's objects.
  const q = shellQuote(dir);
  if (remove) {
    cmd +=
      ` && { awk -v d=${q} '$2==d || index($2, d "/")==1 {print $2}' /proc/mounts | sort -r | while read -r m; do fusermount3 -uz "$m" 2>/dev/null || fusermount -uz "$m" 2>/dev/null || umount -l "$m" 2>/dev/null; done; true; }` +
      ` && rm -rf --one-file-system ${q}`;
  }
  const r = await t.exec(cmd, { timeoutMs: 60_000 });
  if (r.code !== 0) {
    throw new Error(`cleaning up ${dir} on ${where} failed: ${(r.stderr || r.stdout).trim().split('\n').pop() || `exit code ${r.code}`}`);
  }
}
