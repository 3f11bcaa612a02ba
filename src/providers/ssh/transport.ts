// The Transport of a node reached over ssh: commands run with bash in the node's home, uploads
// are a tar stream into `tar -x` (no rsync, no scp), and agent sockets are reached through
// OpenSSH's streamlocal forwarding.
import { posix } from 'node:path';
import type { Duplex, Readable } from 'node:stream';
import { shellQuote } from '../../util/shell.js';
import type { ExecOptions, ExecResult, Transport } from '../types.js';
import { commandScript } from '../command-script.js';
import type { ClientChannel } from 'ssh2';
import { describeEndpoint, SshConnection, type ExitInfo, type SshConnectionOptions, type SshEndpoint } from './connection.js';

/** Where aloft keeps its own files on a host (agent bundles, a `node` link). */
export const AGENT_DIR = '.aloft-agent';

export interface SshTransportOptions {
  /** the node's home: commands start there, relative paths are under it (default: the login dir) */
  home?: string;
  /** exported to every command (e.g. ALOFT_NODE_DIR, so a sweep finds the node's processes) */
  env?: Record<string, string>;
  /** close() ends the connection (false when a provider shares it between transports) */
  ownsConnection?: boolean;
}

const SIGNALS: Record<string, number> = { HUP: 1, INT: 2, QUIT: 3, ABRT: 6, KILL: 9, SEGV: 11, PIPE: 13, ALRM: 14, TERM: 15 };

export class SshTransport implements Transport {
  constructor(
    readonly connection: SshConnection,
    private readonly opts: SshTransportOptions = {},
  ) {}

  static open(endpoint: SshEndpoint, conn: SshConnectionOptions, opts: SshTransportOptions = {}): SshTransport {
    return new SshTransport(new SshConnection(endpoint, conn), { ownsConnection: true, ...opts });
  }

  get home(): string | undefined {
    return this.opts.home;
  }

  /** The remote command line: the login shell starts bash, which sets up and runs `command`. */
  wrap(command: string, env: Record<string, string> = {}, timeoutMs?: number): string {
    const script = commandScript(command, {
      // A Node.js found outside PATH (nvm, volta...) is linked here by the provider.
      prelude: [`export PATH="$HOME/${AGENT_DIR}/bin:$PATH"`],
      env: { ...this.opts.env, ...env },
      home: this.opts.home,
      timeoutMs,
    });
    return `exec bash -c ${shellQuote(script)}`;
  }

  async exec(command: string, opts: ExecOptions = {}): Promise<ExecResult> {
    const conn = this.connection;
    const releaseSession = await conn.session();
    const release = conn.hold();
    let ch: ClientChannel;
    let exit: ExitInfo;
    try {
      ({ ch, exit } = await conn.exec(this.wrap(command, opts.env, opts.timeoutMs)));
    } catch (err) {
      release();
      releaseSession();
      throw err;
    }
    return new Promise<ExecResult>((resolve, reject) => {
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      let killed = false;
      let done = false;
      let timer: NodeJS.Timeout | undefined;
      let forced: NodeJS.Timeout | undefined;
      const kill = () => {
        if (killed) return;
        killed = true;
        try {
          ch.signal('KILL');
        } catch {
          /* older servers ignore signals; closing the channel is the fallback */
        }
        ch.close();
        // A process that ignores all this keeps the channel open; do not wait for it.
        forced = setTimeout(finish, 2000);
      };
      // The remote `timeout` normally ends the command; this is the backstop.
      if (opts.timeoutMs) timer = setTimeout(kill, opts.timeoutMs + 3000);
      const onAbort = () => kill();
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      ch.on('data', (c: Buffer) => (opts.onStdout ? opts.onStdout(c) : out.push(c)));
      ch.stderr.on('data', (c: Buffer) => (opts.onStderr ? opts.onStderr(c) : err.push(c)));
      ch.on('error', () => {
        /* surfaces as close without an exit status */
      });
      const finish = () => {
        if (done) return;
        done = true;
        if (timer) clearTimeout(timer);
        if (forced) clearTimeout(forced);
        opts.signal?.removeEventListener('abort', onAbort);
        release();
        releaseSession();
        let code: number | undefined;
        if (exit.code !== undefined) code = exit.code;
        else if (exit.signal) code = 128 + (SIGNALS[exit.signal.replace(/^SIG/, '')] ?? 1);
        if (code === undefined && !killed) {
          reject(new Error(`connection to ${describeEndpoint(conn.endpoint)} was lost while running a command`));
          return;
        }
        resolve({
          code: code ?? 128 + 9,
          stdout: Buffer.concat(out).toString('utf8'),
          stderr: Buffer.concat(err).toString('utf8'),
        });
      };
      ch.on('close', finish);
      const input = opts.stdin;
      if (input === undefined) ch.end();
      else if (typeof input === 'string' || Buffer.isBuffer(input)) ch.end(input);
      else {
        input.on('error', () => kill());
        input.pipe(ch);
      }
    });
  }

  async upload(tar: Readable, destDir: string): Promise<void> {
    const d = shellQuote(destDir);
    const r = await this.exec(`mkdir -p ${d} && tar -xf - -C ${d}`, { stdin: tar });
    if (r.code !== 0) {
      throw new Error(`upload to ${destDir} on ${describeEndpoint(this.connection.endpoint)} failed: ${r.stderr.trim().split('\n').pop()}`);
    }
  }

  async connect(socketPath: string): Promise<Duplex> {
    const path = posix.isAbsolute(socketPath) || !this.opts.home ? socketPath : posix.join(this.opts.home, socketPath);
    const release = this.connection.hold();
    try {
      const ch = await this.connection.forwardStreamLocal(path);
      ch.once('close', release);
      return ch;
    } catch (err) {
      release();
      throw err;
    }
  }

  close(): void {
    if (this.opts.ownsConnection) this.connection.close();
  }
}
