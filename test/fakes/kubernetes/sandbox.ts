// Pods as real processes: the container runtime part of the fake.
//
// Why namespaces (the fake needs root, as here and in CI): a pod spec names absolute paths — an
// emptyDir at /opt/aloft shared by an init container and the main container, HOME, /tmp — and a
// client (aloft's provider) is only honestly tested if those paths are real inside the pod and
// the same spec would work on a real cluster. Rewriting paths would test a different spec. So:
//   - one "pause" process per pod holds a PID and UTS namespace (`unshare -p -u -f`): the pod's
//     processes see each other (as with shareProcessNamespace), `hostname` is the pod name, and
//     killing the pause kills every process of the pod at once — nothing a pod started can
//     outlive it, even a daemon that setsid()s away. The pause reads a pipe from the fake, so
//     if the fake dies the pod dies with it.
//   - each container gets its own mount namespace with an overlay root (lower: the host's /,
//     upper: a tmpfs), so mount points can be created anywhere without touching the host, and
//     whatever the container writes outside its volumes vanishes with it, like a container's
//     writable layer. Its own /tmp and /root (HOME), /proc of the pod, a private /dev/shm, the
//     pod's /etc/hosts, and the spec's volumes bind-mounted at their mountPath.
//   - `exec` enters the container with nsenter (mount, PID, UTS namespaces, root, workingDir).
// Not emulated: network namespaces (pods share the host's network: each pod gets its own
// 127.x.y.z address, which any process listening on 0.0.0.0 answers on, but two pods cannot
// listen on the same port of 0.0.0.0 — bind to the pod IP instead), cgroups (limits are not
// enforced), users (everything runs as root), and the image (the root filesystem is the host's).
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const PTY_HELPER = join(dirname(fileURLToPath(import.meta.url)), 'pty-helper.py');

/** A perl single-quoted string literal. */
const pq = (s: string): string => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

const SYS_MOUNT = process.arch === 'arm64' ? 40 : 165;
const SYS_CLOSE = process.arch === 'arm64' ? 57 : 3;
let setupSource: string | undefined;
const setupScript = (): string => (setupSource ??= readFileSync(join(dirname(fileURLToPath(import.meta.url)), 'container-setup.pl'), 'utf8'));

/** The command of a container cannot be started (runc's words); the kubelet reports StartError. */
export class StartError extends Error {}

function children(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

function executable(path: string): boolean {
  try {
    const st = statSync(path);
    return st.isFile() && (st.mode & 0o111) !== 0;
  } catch {
    return false;
  }
}

/** runc's words when `cmd` cannot be found in the container whose main process is `pid`; undefined when it can. */
function missingCommand(pid: number, cmd: string, path: string, cwd: string): string | undefined {
  const root = `/proc/${pid}/root`;
  if (cmd.includes('/')) {
    const abs = cmd.startsWith('/') ? cmd : `${cwd.replace(/\/$/, '')}/${cmd}`;
    return existsSync(root + abs) ? undefined : `exec: "${cmd}": stat ${cmd}: no such file or directory`;
  }
  return path.split(':').some((d) => d && executable(`${root}${d}/${cmd}`)) ? undefined : `exec: "${cmd}": executable file not found in $PATH`;
}

function alive(pid: number): boolean {
  try {
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
}

function kill(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    /* already gone */
  }
}

function waitExit(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((r) => child.once('exit', () => r()));
}

async function readLine(stream: NodeJS.ReadableStream, what: string, stderr: () => string): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const onData = (d: Buffer) => {
      buf += d.toString();
      const i = buf.indexOf('\n');
      if (i >= 0) (stream.off('data', onData), stream.off('end', onEnd), resolve(buf.slice(0, i)));
    };
    const onEnd = () => reject(new Error(`${what} failed: ${stderr().trim() || 'exited early'}`));
    stream.on('data', onData);
    stream.once('end', onEnd);
  });
}

export interface Mount {
  source: string;
  target: string;
  readOnly?: boolean;
}

export interface ContainerSpec {
  name: string;
  /** per-container state directory on the host (layer, rootfs, home, tmp) */
  dir: string;
  argv: string[];
  env: Record<string, string>;
  workingDir: string;
  mounts: Mount[];
  /** files of the emulated image: container path → host path */
  files?: Record<string, string>;
  /** paths the emulated image does not have (whited out in the overlay) */
  hide?: string[];
  etcHosts: string;
  stdin: boolean;
}

export interface RunningContainer {
  /** host pid of the container's main process */
  pid: number;
  /** mount namespace id: every process with it belongs to the container */
  mntNs: string;
  process: ChildProcess;
  exited: Promise<{ code: number; signal?: string }>;
  /** lets go of the mount namespace (after the container's last process is gone) */
  release(): void;
}

/** One pod's namespaces and processes. */
export class Sandbox {
  private constructor(
    private readonly unshare: ChildProcess,
    readonly pausePid: number,
  ) {}

  static async create(hostname: string): Promise<Sandbox> {
    const script = 'hostname "$1"; echo ready; while read -r _; do :; done';
    const child = spawn('unshare', ['-p', '-u', '-f', '--kill-child', '--', '/bin/bash', '-c', script, 'pause', hostname], {
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: true,
      env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' },
    });
    let err = '';
    child.stderr!.on('data', (d) => (err += d));
    await readLine(child.stdout!, 'pod sandbox', () => err);
    const [pause] = children(child.pid!);
    if (!pause) throw new Error('pod sandbox: no pause process');
    return new Sandbox(child, pause);
  }

  /** Starts a container's main process; resolves once its mounts are in place. */
  async start(c: ContainerSpec): Promise<RunningContainer> {
    const root = join(c.dir, 'rootfs');
    const layer = join(c.dir, 'layer');
    const home = join(c.dir, 'home');
    const tmp = join(c.dir, 'tmp');
    for (const d of [root, layer, home, tmp]) mkdirSync(d, { recursive: true });
    // Package variables assigned before the script's `use strict` (which then declares them).
    const prelude = [
      `$SYS_MOUNT = ${SYS_MOUNT}; $SYS_CLOSE = ${SYS_CLOSE};`,
      `($R, $L, $HOME_SRC, $TMP_SRC, $HOSTS, $WD) = (${[root, layer, home, tmp, c.etcHosts, c.workingDir].map(pq).join(', ')});`,
      `@HIDE = (${(c.hide ?? []).map(pq).join(', ')});`,
      `@FILES = (${Object.entries(c.files ?? {}).map(([t, src]) => `[${pq(t)}, ${pq(src)}]`).join(', ')});`,
      `@MOUNTS = (${c.mounts.map((m) => `[${pq(m.source)}, ${pq(m.target)}, ${m.readOnly ? 1 : 0}]`).join(', ')});`,
      `%CENV = (${Object.entries(c.env).map(([k, v]) => `${pq(k)} => ${pq(v)}`).join(', ')});`,
      `@CMD = (${c.argv.map(pq).join(', ')});`,
    ];
    const setup = join(c.dir, 'setup.pl');
    writeFileSync(setup, prelude.join('\n') + '\n' + setupScript());
    const child = spawn('nsenter', ['-t', String(this.pausePid), '-p', '-u', '--', 'unshare', '-m', '--propagation', 'private', '--', '/usr/bin/perl', setup], {
      stdio: [c.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe', 'pipe', 'pipe'],
      env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' },
    });
    const exited = new Promise<{ code: number; signal?: string }>((resolve) =>
      child.once('exit', (code, signal) => resolve(signal ? { code: 128 + (signalNumber(signal) ?? 9), signal } : { code: code ?? 0 })),
    );
    let err = '';
    const collect = (d: Buffer) => (err += d);
    child.stderr!.on('data', collect);
    const ctl = child.stdio[3] as NodeJS.ReadableStream;
    const go = child.stdio[4] as NodeJS.WritableStream;
    go.on('error', () => {});
    let line: string;
    try {
      line = await readLine(ctl, `container ${c.name}`, () => err);
    } finally {
      child.stderr!.off('data', collect);
    }
    if (line.startsWith('error ')) throw new StartError(line.slice('error '.length));
    const pid = Number(line.split(' ')[1]);
    let nsFd: number;
    let mntNs: string;
    try {
      if (!(pid > 0)) throw new Error(`bad handshake '${line}'`);
      nsFd = openSync(`/proc/${pid}/ns/mnt`, 'r');
      mntNs = readlinkSync(`/proc/${pid}/ns/mnt`);
    } catch (e) {
      (go as unknown as { destroy(): void }).destroy(); // EOF instead of "go": the setup exits
      throw new Error(`container ${c.name}: ${(e as Error).message}`);
    }
    go.end('go\n');
    let released = false;
    const release = () => {
      if (!released) closeSync(nsFd);
      released = true;
    };
    return { pid, mntNs, process: child, exited, release };
  }

  /**
   * Runs a command in a running container (`kubectl exec`). With tty, the command runs on a pty
   * (pty-helper.py) and fd 3 of the returned process takes "COLS ROWS" resize lines.
   */
  exec(c: RunningContainer, argv: string[], opts: { env: Record<string, string>; workingDir: string; tty: boolean }): ChildProcess {
    // A command the container does not have fails the way runc reports it: exit code 126 and
    // its message on stderr. Looked up in the container's root through /proc/PID/root.
    const missing = missingCommand(c.pid, argv[0]!, opts.env['PATH'] ?? '', opts.workingDir);
    if (missing)
      return spawn('/bin/sh', ['-c', 'printf "%s\\n" "$1" >&2; exit 126', 'sh', `OCI runtime exec failed: exec failed: unable to start container process: ${missing}: unknown`], { stdio: ['pipe', 'pipe', 'pipe', 'pipe'] });
    const nsArgs = ['-t', String(c.pid), '-m', '-p', '-u', '-r', '-W', opts.workingDir, '--', ...argv];
    const env = opts.tty ? { ...opts.env, TERM: opts.env['TERM'] ?? 'xterm' } : opts.env;
    if (opts.tty) return spawn('/usr/bin/python3', [PTY_HELPER, 'nsenter', ...nsArgs], { stdio: ['pipe', 'pipe', 'pipe', 'pipe'], env: { ...env, PATH: '/usr/sbin:/usr/bin:/sbin:/bin' } });
    // nsenter resolves the command with the container's PATH after entering its root.
    return spawn('/usr/bin/nsenter', nsArgs, { stdio: ['pipe', 'pipe', 'pipe'], env });
  }

  /** Signals every process of a container (its mount namespace), main process first. */
  signalContainer(c: RunningContainer, sig: NodeJS.Signals): void {
    if (sig !== 'SIGKILL') return kill(c.pid, sig);
    for (const pid of this.processesOf(c)) kill(pid, sig);
  }

  processesOf(c: RunningContainer): number[] {
    if (!c.mntNs) return [];
    const out: number[] = [];
    for (const e of readdirSync('/proc')) {
      if (!/^\d+$/.test(e)) continue;
      try {
        if (readlinkSync(`/proc/${e}/ns/mnt`) === c.mntNs && alive(Number(e))) out.push(Number(e));
      } catch {
        /* gone */
      }
    }
    return out;
  }

  get alive(): boolean {
    return alive(this.pausePid);
  }

  /** Kills every process of the pod (the PID namespace dies with its init) and waits for it. */
  async destroy(): Promise<void> {
    kill(this.pausePid, 'SIGKILL');
    this.unshare.stdin?.destroy();
    await waitExit(this.unshare);
  }
}

function signalNumber(sig: string): number | undefined {
  return (osConstants.signals as Record<string, number>)[sig];
}
