import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import net from 'node:net';
import { isAbsolute, join } from 'node:path';
import type { Duplex, Readable } from 'node:stream';
import type { ExecOptions, ExecResult, Transport } from '../types.js';
import { shellQuote } from '../../util/shell.js';
import { agentKnobs, nodeEnv } from '../../util/env.js';

export interface LocalNodeOptions {
  /** argv prefix that runs a command inside the node's namespaces (none for a plain node) */
  enter?: (cwd: string) => string[];
  /** for a node with its own filesystem: the host path behind an absolute node path */
  ownPath?: (dest: string) => Promise<string>;
}

/**
 * A node on this machine: commands are child processes (inside the node's namespaces when it has
 * them), files are a directory. Commands get the node's own environment (util/env.ts), never the
 * daemon's: no credentials, no aloft internals but the agent's knobs.
 */
export class LocalTransport implements Transport {
  constructor(
    private readonly home: string,
    private readonly baseEnv: Record<string, string> = {},
    private readonly node: LocalNodeOptions = {},
  ) {}

  exec(command: string, opts: ExecOptions = {}): Promise<ExecResult> {
    return new Promise((resolve, reject) => {
      mkdirSync(this.home, { recursive: true });
      const argv = [...(this.node.enter?.(this.home) ?? []), 'bash', '-c', command];
      const child = spawn(argv[0]!, argv.slice(1), {
        cwd: this.home,
        // SHLVL=1: bash reads ~/.bashrc even for `bash -c` when its stdin is a socket (it takes
        // that for an ssh login), and Node's stdio pipes are sockets. A transport command is not a
        // login; the job's own shell reads the node's ~/.bashrc on purpose (agent/proc.ts).
        env: { ...nodeEnv(process.env), ...agentKnobs(process.env), SHLVL: '1', ...this.baseEnv, ...opts.env },
        stdio: ['pipe', 'pipe', 'pipe'],
        signal: opts.signal,
      });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      let timer: NodeJS.Timeout | undefined;
      if (opts.timeoutMs) timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs);
      child.stdout.on('data', (c: Buffer) => (opts.onStdout ? opts.onStdout(c) : out.push(c)));
      child.stderr.on('data', (c: Buffer) => (opts.onStderr ? opts.onStderr(c) : err.push(c)));
      child.on('error', (e) => {
        if (timer) clearTimeout(timer);
        reject(e);
      });
      child.on('close', (code, signal) => {
        if (timer) clearTimeout(timer);
        resolve({
          code: code ?? (signal ? 128 + 9 : 1),
          stdout: Buffer.concat(out).toString('utf8'),
          stderr: Buffer.concat(err).toString('utf8'),
        });
      });
      child.stdin.on('error', () => {
        /* the command may exit before reading its stdin */
      });
      const input = opts.stdin;
      if (input === undefined) child.stdin.end();
      else if (typeof input === 'string' || Buffer.isBuffer(input)) child.stdin.end(input);
      else {
        // A source that breaks mid-stream (a tar of a directory that changed) must end the
        // command, not leave it waiting for input forever.
        (input as Readable).once('error', (e) => {
          child.kill('SIGKILL');
          reject(e);
        });
        (input as Readable).pipe(child.stdin);
      }
    });
  }

  async upload(tar: Readable, destDir: string): Promise<void> {
    let dest: string;
    if (!isAbsolute(destDir)) dest = join(this.home, destDir);
    else if (this.node.ownPath) dest = await this.node.ownPath(destDir);
    else dest = destDir;
    mkdirSync(dest, { recursive: true });
    const r = await this.exec(`tar -xf - -C ${shellQuote(dest)}`, { stdin: tar });
    if (r.code !== 0) throw new Error(`upload to ${destDir} failed: ${r.stderr.trim()}`);
  }

  async ownDir(dir: string): Promise<void> {
    if (isAbsolute(dir) && this.node.ownPath) mkdirSync(await this.node.ownPath(dir), { recursive: true });
  }

  connect(socketPath: string): Promise<Duplex> {
    const path = isAbsolute(socketPath) ? socketPath : join(this.home, socketPath);
    return new Promise((resolve, reject) => {
      const sock = net.connect(path);
      sock.once('connect', () => {
        sock.off('error', reject);
        resolve(sock);
      });
      sock.once('error', reject);
    });
  }

  close(): void {}
}
