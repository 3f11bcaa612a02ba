// What happens on a node for bucket mounts, as bash over the node's Transport — the same on every
// infra (a local node, an ssh host, a pod, a VM): check for rclone/FUSE/git and install what is
// missing, write the credentials (0600), COPY with `rclone copy`, MOUNT / MOUNT_CACHED with
// `rclone mount`, wait for MOUNT_CACHED uploads, unmount. Node files live in
// <node home>/.aloft-storage/ (0700):
//   rclone.conf, rc.env   credentials / the mounts' remote-control login (0600), for the cluster's life
//   mounts/<id>.{dest,src,mode,pid,port}   one per mount point
//   logs/<id>.log, cache/<id>/             rclone's log and MOUNT_CACHED's local cache
//   flush.sh                               run by the agent after a job's run (MOUNT_CACHED only)
import { createHash, randomBytes } from 'node:crypto';
import { posix } from 'node:path';
import type { Transport } from '../providers/types.js';
import { shellQuote } from '../util/shell.js';
import type { StorageMode } from '../spec/types.js';

export const STORAGE_DIR = '.aloft-storage';
/** The agent runs this after a job's run phase when it exists (src/agent/proc.ts). */
export const FLUSH_SCRIPT = `${STORAGE_DIR}/flush.sh`;

/** rclone and its FUSE mounts (1.60) refuse an AWS_CA_BUNDLE on plain-http endpoints; Go reads SSL_CERT_FILE. */
const PRELUDE = [
  'unset AWS_CA_BUNDLE',
  `S="$PWD/${STORAGE_DIR}"`,
  'export RCLONE_CONFIG="$S/rclone.conf"',
  'is_mounted() { mountpoint -q "$1" 2>/dev/null || awk -v p="$1" \'$2==p{f=1} END{exit !f}\' /proc/mounts; }',
  'unmount() { fusermount3 -u "$1" 2>/dev/null || fusermount -u "$1" 2>/dev/null || umount "$1" 2>/dev/null || fusermount3 -uz "$1" 2>/dev/null || fusermount -uz "$1" 2>/dev/null || umount -l "$1" 2>/dev/null; }',
  // an absolute mount point outside the node's home may need root to create (SkyPilot does the same)
  'prep_dir() { mkdir -p "$1" 2>/dev/null || { sudo -n mkdir -p "$1" && sudo -n chown "$(id -u):$(id -g)" "$1"; }; }',
].join('\n');

export class NodeStorageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NodeStorageError';
  }
}

const lastLines = (s: string, n = 2) => s.trim().split('\n').filter(Boolean).slice(-n).join(' | ');

async function run(t: Transport, script: string, what: string, opts: { stdin?: string; timeoutMs?: number } = {}): Promise<string> {
  const r = await t.exec(`${PRELUDE}\n${script}`, { ...(opts.stdin !== undefined ? { stdin: opts.stdin } : {}), timeoutMs: opts.timeoutMs ?? 600_000 });
  if (r.code !== 0) throw new NodeStorageError(`${what}: ${lastLines(r.stderr || r.stdout) || `exit code ${r.code}`}`);
  return r.stdout;
}

export interface ToolNeeds {
  rclone: boolean;
  fuse: boolean;
  git: boolean;
}

export interface ToolCheck {
  /** packages to install (rclone, fuse3, git) */
  missing: string[];
  /** /dev/fuse is absent: nothing to install can fix that */
  noFuseDevice: boolean;
}

export async function checkTools(t: Transport, needs: ToolNeeds): Promise<ToolCheck> {
  const script = [
    'm=""',
    needs.rclone ? 'command -v rclone >/dev/null 2>&1 || m="$m rclone"' : '',
    needs.fuse ? '{ command -v fusermount3 || command -v fusermount; } >/dev/null 2>&1 || m="$m fuse3"' : '',
    needs.git ? 'command -v git >/dev/null 2>&1 || m="$m git"' : '',
    'echo "missing=$m"',
    needs.fuse ? '[ -e /dev/fuse ] || echo nofuse' : '',
  ].join('\n');
  const out = await t.exec(script, { timeoutMs: 60_000 });
  const missing = (/missing=(.*)/.exec(out.stdout)?.[1] ?? '').trim().split(/\s+/).filter(Boolean);
  return { missing, noFuseDevice: /^nofuse$/m.test(out.stdout) };
}

/**
 * Installs packages with the node's package manager, as root or through passwordless sudo (what
 * cloud images and most ssh hosts give). Throws with what to run by hand when it cannot.
 */
export async function installTools(t: Transport, packages: string[]): Promise<string> {
  const pkgs = packages.map(shellQuote).join(' ');
  const script = `
if [ "$(id -u)" = 0 ]; then SUDO=""; elif sudo -n true 2>/dev/null; then SUDO="sudo -n"; else echo "neither root nor passwordless sudo" >&2; exit 10; fi
if command -v apt-get >/dev/null 2>&1; then pm=apt-get; $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ${pkgs} >/dev/null
elif command -v dnf >/dev/null 2>&1; then pm=dnf; $SUDO dnf install -y -q ${pkgs} >/dev/null
elif command -v yum >/dev/null 2>&1; then pm=yum; $SUDO yum install -y -q ${pkgs} >/dev/null
elif command -v apk >/dev/null 2>&1; then pm=apk; $SUDO apk add -q ${pkgs} >/dev/null
elif command -v zypper >/dev/null 2>&1; then pm=zypper; $SUDO zypper -n -q install ${pkgs} >/dev/null
else echo "no package manager (apt-get, dnf, yum, apk, zypper)" >&2; exit 11; fi || { echo "$pm install ${packages.join(' ')} failed" >&2; exit 12; }
echo "$pm"`;
  const r = await t.exec(script, { timeoutMs: 900_000 });
  if (r.code !== 0) {
    throw new NodeStorageError(`cannot install ${packages.join(', ')} (${lastLines(r.stderr) || `exit code ${r.code}`}); install them on the node (e.g. sudo apt-get install ${packages.join(' ')})`);
  }
  return r.stdout.trim().split('\n').pop() ?? 'the package manager';
}

/** Writes rclone.conf and the mounts' rc login, 0600 in a 0700 dir, through stdin (never a command line). */
export async function writeCredentials(t: Transport, rcloneConf: string): Promise<void> {
  const rcPass = randomBytes(18).toString('base64url');
  await run(
    t,
    `umask 077
mkdir -p "$S/mounts" "$S/logs" "$S/cache" && chmod 700 "$S"
IFS= read -r pass
printf 'RCLONE_RC_USER=aloft\\nRCLONE_RC_PASS=%s\\n' "$pass" > "$S/rc.env.tmp" && mv -f "$S/rc.env.tmp" "$S/rc.env"
cat > "$S/rclone.conf.tmp" && mv -f "$S/rclone.conf.tmp" "$S/rclone.conf"`,
    'writing storage credentials',
    { stdin: `${rcPass}\n${rcloneConf}` },
  );
}

export interface NodeMount {
  /** where, as the node sees it: relative to the node's home, or absolute */
  path: string;
  /** s3://bucket/prefix, for the messages a job's log gets */
  url?: string;
  mode: StorageMode;
  /** rclone's `remote:bucket/prefix` */
  source: string;
  /** copy one object to a file at `path` (a shorthand naming an object) */
  object?: boolean;
  readOnly?: boolean;
  rcloneFlags?: string[];
}

const mountId = (path: string) => createHash('sha256').update(path).digest('hex').slice(0, 12);

/**
 * An absolute mount point (or a copied object's directory) as the node's own, where the node has
 * a filesystem of its own: a COPY to /data on an isolated local node lands on disk, not in the
 * node's in-memory root. (`/` itself is never claimed: destinations are checked before.)
 */
async function ownMountDir(t: Transport, dir: string): Promise<void> {
  if (dir.startsWith('/') && posix.normalize(dir) !== '/') await t.ownDir?.(dir);
}

/** COPY: the objects under the source into `path` (or one object to the file `path`), node ← bucket directly. */
export async function copyIn(t: Transport, m: NodeMount): Promise<void> {
  await ownMountDir(t, m.object ? posix.dirname(m.path) : m.path);
  const p = shellQuote(m.path);
  const src = shellQuote(m.source);
  await run(
    t,
    m.object ? `prep_dir "$(dirname ${p})" && rclone copyto ${src} ${p}` : `prep_dir ${p} && rclone copy ${src} ${p} --transfers=32 --checkers=32`,
    `COPY ${m.source} → ${m.path}`,
  );
}

/** rclone flags of a MOUNT_CACHED mount; the user's (type presets, config.mount_cached) come last and win. */
function cachedFlags(id: string, extra: string[]): string {
  return [
    '--vfs-cache-mode=full',
    // rclone's default is 5 s; a job's end waits for the upload, so start it sooner
    '--vfs-write-back=1s',
    '--vfs-cache-poll-interval=10s',
    '--dir-cache-time=10s',
    `--cache-dir=$S/cache/${id}`,
    '--rc',
    '--rc-addr=127.0.0.1:0',
    ...extra.map(shellQuote),
  ].join(' ');
}

/**
 * MOUNT (no cache: a file is uploaded as it is written and is in the bucket once closed) or
 * MOUNT_CACHED (a local cache written back asynchronously; flush.sh waits for it). Re-mounting the
 * same source is a no-op; another source at the same point replaces the mount.
 */
export async function mount(t: Transport, m: NodeMount): Promise<string[]> {
  await ownMountDir(t, m.path);
  const id = mountId(m.path);
  const cached = m.mode === 'MOUNT_CACHED';
  const flags = [
    cached ? cachedFlags(id, m.rcloneFlags ?? []) : '--vfs-cache-mode=off --dir-cache-time=10s',
    m.readOnly ? '--read-only' : '',
    '--allow-non-empty',
  ].join(' ');
  const script = `
d=${shellQuote(m.path)}; src=${shellQuote(m.source)}; id=${id}
prep_dir "$(dirname "$d")" || { echo "cannot create $(dirname "$d")" >&2; exit 1; }
# not \`cd "$d"\`: a mount whose rclone was killed (a preempted node) answers ENOTCONN until unmounted
abs="$(cd "$(dirname "$d")" && pwd -P)"; abs="\${abs%/}/$(basename "$d")"
# a mount point that is a symlink (an isolated local node's own /data) is mounted, and listed, at its target
if [ -L "$abs" ]; then t=$(readlink "$abs"); case "$t" in /*) abs="$t";; *) abs="$(dirname "$abs")/$t";; esac; fi
if is_mounted "$abs"; then
  if [ "$(cat "$S/mounts/$id.src" 2>/dev/null)" = "$src" ] && kill -0 "$(cat "$S/mounts/$id.pid" 2>/dev/null)" 2>/dev/null; then echo already; exit 0; fi
  unmount "$abs"
fi
prep_dir "$abs" || { echo "cannot create mount point $abs" >&2; exit 1; }
${cached ? 'set -a; . "$S/rc.env"; set +a' : ''}
: > "$S/logs/$id.log"
# supported flags only: an older rclone (Debian 12 has 1.60) lacks some of SkyPilot's tuning knobs
help=$(rclone mount --help 2>&1; rclone help flags 2>&1)
keep=""; dropped=""
for f in ${flags}; do case "$f" in --*) n="\${f%%=*}"; if printf '%s' "$help" | grep -q -- "$n[ =,]"; then keep="$keep $f"; else dropped="$dropped $n"; fi;; *) keep="$keep $f";; esac; done
[ -n "$dropped" ] && echo "dropped:$dropped"
setsid rclone mount "$src" "$abs" $keep --log-file "$S/logs/$id.log" --log-level NOTICE </dev/null >/dev/null 2>&1 &
pid=$!
echo "$pid" > "$S/mounts/$id.pid"; printf '%s' "$src" > "$S/mounts/$id.src"; printf '%s' ${shellQuote(m.url ?? m.source)} > "$S/mounts/$id.url"; printf '%s' "$abs" > "$S/mounts/$id.dest"; echo ${m.mode} > "$S/mounts/$id.mode"
for i in $(seq 1 300); do
  if is_mounted "$abs"; then break; fi
  if ! kill -0 "$pid" 2>/dev/null; then echo "rclone mount exited: $(tail -n 3 "$S/logs/$id.log" | tr '\\n' ' ')" >&2; rm -f "$S/mounts/$id."*; exit 1; fi
  sleep 0.1
done
is_mounted "$abs" || { kill "$pid" 2>/dev/null; echo "rclone mount did not come up in 30 s: $(tail -n 3 "$S/logs/$id.log" | tr '\\n' ' ')" >&2; exit 1; }
${
  cached
    ? `for i in $(seq 1 100); do port=$(grep -o 'Serving remote control on http://127.0.0.1:[0-9]*' "$S/logs/$id.log" | tail -n 1 | sed 's/.*://'); [ -n "$port" ] && break; sleep 0.1; done
[ -n "$port" ] || { echo "rclone's remote control did not start" >&2; exit 1; }
echo "$port" > "$S/mounts/$id.port"`
    : 'rm -f "$S/mounts/$id.port"'
}
echo mounted`;
  const out = await run(t, script, `${m.mode} ${m.source} → ${m.path}`, { timeoutMs: 120_000 });
  if (cached) await writeFlushScript(t);
  // an older rclone without some of the tuning flags mounts without them; say so
  const dropped = /dropped:(.*)/.exec(out)?.[1]?.trim();
  return dropped ? [`rclone on the node lacks ${dropped}; mounted without`] : [];
}

const FLUSH = `#!/bin/bash
# Written by aloft. A job's run ends only after every MOUNT_CACHED mount of this node has uploaded
# what was written to it: rclone's remote control (vfs/stats) tells how many uploads are queued.
S="$(cd "$(dirname "$0")" && pwd)"
ls "$S"/mounts/*.port >/dev/null 2>&1 || exit 0
unset AWS_CA_BUNDLE
set -a; . "$S/rc.env"; set +a
export RCLONE_CONFIG=/dev/null
num() { printf '%s' "$1" | sed -n "s/.*\\"$2\\": *\\([0-9]*\\).*/\\1/p" | head -n 1; }
rc=0
for f in "$S"/mounts/*.port; do
  id=$(basename "$f" .port); port=$(cat "$f"); src=$(cat "$S/mounts/$id.url" 2>/dev/null)
  t0=$(date +%s); said=0; last=0
  while :; do
    out=$(rclone rc --url "http://127.0.0.1:$port/" vfs/stats 2>&1) || { echo "[aloft] MOUNT_CACHED $src: cannot ask rclone about uploads ($(printf '%s' "$out" | tail -n 1)); files not uploaded yet stay in the node's cache"; rc=1; break; }
    q=$(num "$out" uploadsQueued); p=$(num "$out" uploadsInProgress)
    [ "\${q:-0}" = 0 ] && [ "\${p:-0}" = 0 ] && break
    now=$(date +%s)
    if [ $((now - t0)) -ge 1 ] && [ $((now - last)) -ge 10 ]; then echo "[aloft] waiting for MOUNT_CACHED uploads to $src: $q queued, $p uploading"; last=$now; said=1; fi
    sleep 0.2
  done
  [ $said = 1 ] && echo "[aloft] MOUNT_CACHED uploads to $src done after $(( $(date +%s) - t0 ))s"
done
exit $rc
`;

async function writeFlushScript(t: Transport): Promise<void> {
  await run(t, `umask 077; cat > "$S/flush.sh.tmp" && chmod 700 "$S/flush.sh.tmp" && mv -f "$S/flush.sh.tmp" "$S/flush.sh"`, 'writing the MOUNT_CACHED flush script', { stdin: FLUSH });
}

/**
 * Unmounts every bucket of the node (stop, down), after MOUNT_CACHED uploads finished when
 * `flush` (bounded by flushTimeoutMs: a node being torn down does not wait forever).
 */
export async function unmountAll(t: Transport, opts: { flush: boolean; flushTimeoutMs?: number }): Promise<string> {
  const secs = Math.ceil((opts.flushTimeoutMs ?? 300_000) / 1000);
  const r = await t.exec(
    `${PRELUDE}
[ -d "$S/mounts" ] || exit 0
${opts.flush ? `[ -x "$S/flush.sh" ] && { timeout ${secs} "$S/flush.sh" || echo "flush incomplete" >&2; }` : ''}
for f in "$S"/mounts/*.dest; do
  [ -e "$f" ] || continue
  id=$(basename "$f" .dest); d=$(cat "$f"); pid=$(cat "$S/mounts/$id.pid" 2>/dev/null)
  is_mounted "$d" && unmount "$d"
  [ -n "$pid" ] && kill "$pid" 2>/dev/null
  rm -f "$S/mounts/$id".*
done
true`,
    { timeoutMs: (secs + 60) * 1000 },
  );
  return r.stderr.trim();
}
