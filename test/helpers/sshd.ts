// A real OpenSSH server on loopback for tests: own config, throwaway host and client keys, a free
// port, stopped by pid. Logs in as the current user (root in CI).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';

export const SSHD = '/usr/sbin/sshd';

// Every key, config and fake PATH of this test process lives under one directory, removed on exit.
let root: string | undefined;
export function sshTempDir(prefix: string): string {
  if (!root) {
    const r = mkdtempSync(join(tmpdir(), 'aloft-sshd-'));
    root = r;
    process.once('exit', () => rmSync(r, { recursive: true, force: true }));
  }
  return mkdtempSync(join(root, prefix));
}

/** Removes everything sshTempDir made (call in afterAll, after the servers are stopped). */
export function removeSshTemp(): void {
  if (root) rmSync(root, { recursive: true, force: true });
  root = undefined;
}

export function sshdAvailable(): boolean {
  return existsSync(SSHD) && existsSync('/usr/bin/ssh-keygen');
}

export interface SshdOptions {
  /** PATH of sessions on the server (to hide `node`, or show a fake one) */
  path?: string;
  /** $HOME of sessions (keeps tests out of the real home; two servers may share one, like one machine) */
  home?: string;
  /** more variables set for every session (SetEnv) */
  env?: Record<string, string>;
  /** reuse a port (restart on the same address) */
  port?: number;
  /** reuse a client key dir from an earlier server (so the same identity works) */
  clientKeyDir?: string;
}

export interface Sshd {
  host: string;
  port: number;
  user: string;
  identityFile: string;
  hostKeyPub: string;
  dir: string;
  pid: number;
  /** stops the server (sessions it spawned keep running, like a real dropped connection) */
  stop(): Promise<void>;
  /** same port and client key, new host key */
  restartWithNewHostKey(): Promise<Sshd>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

function keygen(file: string): void {
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', file], { stdio: 'ignore' });
}

/** Whether a server on host:port speaks first (an sshd sends its banner): it is up. */
export function answersSsh(port: number, host: string): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const s = net.connect(port, host);
    s.once('data', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

async function waitListening(port: number, child: ChildProcess, stderr: () => string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`sshd exited: ${stderr()}`);
    if (await answersSsh(port, '127.0.0.1')) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`sshd did not listen on ${port}: ${stderr()}`);
}

export async function startSshd(opts: SshdOptions = {}): Promise<Sshd> {
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const dir = sshTempDir('sshd-');
  const clientDir = opts.clientKeyDir ?? dir;
  const identityFile = join(clientDir, 'client_key');
  if (!existsSync(identityFile)) keygen(identityFile);
  const hostKey = join(dir, 'host_key');
  keygen(hostKey);
  const authorized = join(dir, 'authorized_keys');
  writeFileSync(authorized, readFileSync(identityFile + '.pub'), { mode: 0o600 });
  const port = opts.port ?? (await freePort());
  const lines = [
    `ListenAddress 127.0.0.1`,
    `Port ${port}`,
    `HostKey ${hostKey}`,
    `PidFile ${join(dir, 'sshd.pid')}`,
    `AuthorizedKeysFile ${authorized}`,
    `StrictModes no`,
    `UsePAM no`,
    `PasswordAuthentication no`,
    `KbdInteractiveAuthentication no`,
    `PubkeyAuthentication yes`,
    `PermitRootLogin yes`,
    `AllowStreamLocalForwarding yes`,
    `AllowTcpForwarding yes`,
    `LogLevel ERROR`,
    `MaxSessions 50`,
    `MaxStartups 50:30:100`,
  ];
  const setEnv: string[] = [];
  if (opts.path) setEnv.push(`PATH=${opts.path}`);
  if (opts.home) setEnv.push(`HOME=${opts.home}`);
  for (const [k, v] of Object.entries(opts.env ?? {})) setEnv.push(`${k}=${v}`);
  if (setEnv.length) lines.push(`SetEnv ${setEnv.join(' ')}`);
  const config = join(dir, 'sshd_config');
  writeFileSync(config, lines.join('\n') + '\n');
  const child = spawn(SSHD, ['-D', '-e', '-f', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  await waitListening(port, child, () => err);
  const hostKeyPub = readFileSync(hostKey + '.pub', 'utf8').trim();
  const self: Sshd = {
    host: '127.0.0.1',
    port,
    user: userInfo().username,
    identityFile,
    hostKeyPub,
    dir,
    pid: child.pid!,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      // The first server's dir holds the client key, which a restarted server still needs.
      if (clientDir !== dir) rmSync(dir, { recursive: true, force: true });
    },
    async restartWithNewHostKey() {
      await self.stop();
      return startSshd({ ...opts, port, clientKeyDir: clientDir });
    },
  };
  return self;
}

/**
 * A directory of symlinks to the tools a node needs (bash, tar, coreutils...) but not `node`:
 * used as the server's PATH to simulate a host without Node.js. `extra` adds files (a fake node).
 */
export function pathWithoutNode(extra: Record<string, string> = {}): string {
  const bin = sshTempDir('nonode-');
  const tools = [
    'bash', 'sh', 'env', 'mkdir', 'tar', 'cat', 'rm', 'mv', 'cp', 'ln', 'chmod', 'ls', 'sha256sum', 'awk', 'sed',
    'grep', 'nproc', 'getconf', 'head', 'tail', 'printf', 'echo', 'sleep', 'kill', 'id', 'uname', 'tr', 'cut', 'sort',
    'dirname', 'basename', 'readlink', 'test', 'true', 'false', 'mktemp', 'wc', 'ps', 'setsid', 'nohup', 'xargs', 'find', 'stat', 'date', 'pkill', 'pgrep',
  ];
  for (const t of tools) {
    for (const d of ['/usr/bin', '/bin', '/usr/sbin', '/sbin']) {
      if (existsSync(join(d, t))) {
        symlinkSync(join(d, t), join(bin, t));
        break;
      }
    }
  }
  for (const [name, content] of Object.entries(extra)) writeFileSync(join(bin, name), content, { mode: 0o755 });
  return bin;
}
