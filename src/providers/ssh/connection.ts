// One ssh2 connection to one host, opened on first use and again after it drops. Channels
// (commands, socket forwards) are multiplexed over it; the connection closes itself when idle.
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { Client, type ClientChannel, type ConnectConfig } from 'ssh2';
import { UserError } from '../../util/errors.js';
import type { KnownHosts } from './known-hosts.js';

export interface SshEndpoint {
  host: string;
  port: number;
  user: string;
  identityFile?: string;
  password?: string;
}

export interface SshConnectionOptions {
  knownHosts: KnownHosts;
  connectTimeoutMs?: number;
  /** interval of ssh keepalives; the connection counts as dead after 3 unanswered */
  keepaliveMs?: number;
  /** closes the connection after this long without an open channel (0 = never) */
  idleCloseMs?: number;
}

export interface ExitInfo {
  seen?: boolean;
  code?: number;
  /** e.g. SIGTERM */
  signal?: string;
}

export class SshConnectError extends UserError {
  constructor(message: string) {
    super(message, 'SSH_CONNECT');
    this.name = 'SshConnectError';
  }
}

export function describeEndpoint(e: SshEndpoint): string {
  return `${e.user}@${e.host}:${e.port}`;
}

// OpenSSH allows 10 sessions per connection by default; stay under it and queue the rest.
const MAX_SESSIONS = 8;

const DEFAULT_KEYS = ['id_ed25519', 'id_ecdsa', 'id_rsa'];

function friendlyError(e: SshEndpoint, err: Error & { code?: string; level?: string }): string {
  const who = describeEndpoint(e);
  const code = err.code ?? '';
  if (code === 'ECONNREFUSED') return `cannot reach ${who}: connection refused`;
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return `cannot reach ${who}: unknown host ${e.host}`;
  if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH') return `cannot reach ${who}: host unreachable`;
  if (code === 'ETIMEDOUT' || /Timed out while waiting for handshake/.test(err.message)) return `cannot reach ${who}: timed out`;
  if (err.level === 'client-authentication' || /authentication methods failed/.test(err.message)) {
    const how = e.identityFile ? `key ${e.identityFile}` : e.password !== undefined ? 'password' : 'default keys and ssh-agent';
    return `authentication failed for ${who} (tried ${how}); check user and identity_file in the pool`;
  }
  return `ssh to ${who} failed: ${err.message.split('\n')[0]}`;
}

export class SshConnection {
  private client?: Client;
  private connecting?: Promise<Client>;
  private open = 0;
  private idleTimer?: NodeJS.Timeout;
  private sessions = 0;
  private waiting: Array<() => void> = [];

  constructor(
    readonly endpoint: SshEndpoint,
    private readonly opts: SshConnectionOptions,
  ) {}

  get options(): Readonly<SshConnectionOptions> {
    return this.opts;
  }

  private authConfig(): Partial<ConnectConfig> {
    const e = this.endpoint;
    const cfg: Partial<ConnectConfig> = {};
    let keyFile = e.identityFile;
    if (keyFile) {
      if (!existsSync(keyFile)) throw new SshConnectError(`identity_file ${keyFile} for ${describeEndpoint(e)} does not exist`);
    } else if (e.password === undefined) {
      keyFile = DEFAULT_KEYS.map((k) => join(homedir(), '.ssh', k)).find((p) => existsSync(p));
    }
    if (keyFile) cfg.privateKey = readFileSync(keyFile);
    if (e.password !== undefined) cfg.password = e.password;
    if (process.env.SSH_AUTH_SOCK) cfg.agent = process.env.SSH_AUTH_SOCK;
    return cfg;
  }

  /** The live client, connecting (or reconnecting after a drop) when needed. */
  get(): Promise<Client> {
    if (this.client) return Promise.resolve(this.client);
    this.connecting ??= this.dial().finally(() => (this.connecting = undefined));
    return this.connecting;
  }

  private dial(): Promise<Client> {
    const e = this.endpoint;
    return new Promise<Client>((resolve, reject) => {
      let auth: Partial<ConnectConfig>;
      try {
        auth = this.authConfig();
      } catch (err) {
        reject(err);
        return;
      }
      const client = new Client();
      let verifyError: Error | undefined;
      let settled = false;
      client.on('ready', () => {
        settled = true;
        this.client = client;
        this.armIdle();
        resolve(client);
      });
      client.on('error', (err: Error & { code?: string; level?: string }) => {
        if (settled) return; // a drop after ready: 'close' follows and clears the client
        settled = true;
        reject(verifyError ?? new SshConnectError(friendlyError(e, err)));
      });
      client.on('close', () => {
        if (this.client === client) this.client = undefined;
        if (!settled) {
          settled = true;
          reject(verifyError ?? new SshConnectError(`cannot reach ${describeEndpoint(e)}: connection closed`));
        }
      });
      client.connect({
        host: e.host,
        port: e.port,
        username: e.user,
        readyTimeout: this.opts.connectTimeoutMs ?? 15_000,
        keepaliveInterval: this.opts.keepaliveMs ?? 15_000,
        keepaliveCountMax: 3,
        hostVerifier: (key: Buffer) => {
          try {
            this.opts.knownHosts.verify(e.host, e.port, key);
            return true;
          } catch (err) {
            verifyError = err as Error;
            return false;
          }
        },
        ...auth,
      });
    });
  }

  private armIdle(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    const ms = this.opts.idleCloseMs ?? 30_000;
    if (ms <= 0 || this.open > 0 || !this.client) return;
    this.idleTimer = setTimeout(() => {
      if (this.open === 0) this.close();
    }, ms);
    this.idleTimer.unref();
  }

  /** Counts an open channel (keeps the connection from closing while it is idle). */
  hold(): () => void {
    this.open++;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.open--;
      this.armIdle();
    };
  }

  /** Waits for a free session slot; returns its release function. */
  async session(): Promise<() => void> {
    if (this.sessions >= MAX_SESSIONS) await new Promise<void>((r) => this.waiting.push(r));
    this.sessions++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.sessions--;
      this.waiting.shift()?.();
    };
  }

  /**
   * Starts a command. Its exit status is captured here, synchronously: ssh2 may parse the exit
   * and the close in the same tick as the channel's confirmation, before a caller could listen.
   */
  exec(command: string): Promise<{ ch: ClientChannel; exit: ExitInfo }> {
    return this.get().then(
      (client) =>
        new Promise<{ ch: ClientChannel; exit: ExitInfo }>((resolve, reject) => {
          client.exec(command, (err, ch) => {
            if (err) return reject(this.channelError(err));
            const exit: ExitInfo = {};
            ch.once('exit', (code: number | null, signal?: string) => {
              exit.seen = true;
              if (typeof code === 'number') exit.code = code;
              if (signal) exit.signal = signal;
            });
            resolve({ ch, exit });
          });
        }),
    );
  }

  forwardStreamLocal(socketPath: string): Promise<ClientChannel> {
    return this.get().then(
      (client) =>
        new Promise<ClientChannel>((resolve, reject) => {
          client.openssh_forwardOutStreamLocal(socketPath, (err, ch) =>
            err ? reject(new Error(`cannot open ${socketPath} on ${describeEndpoint(this.endpoint)}: ${err.message}`)) : resolve(ch),
          );
        }),
    );
  }

  private channelError(err: Error): Error {
    return new Error(`ssh to ${describeEndpoint(this.endpoint)}: ${err.message}`);
  }

  /** Drops the connection as if the network went away (for tests of reconnection). */
  destroySocket(): void {
    const sock = (this.client as unknown as { _sock?: { destroy(): void } } | undefined)?._sock;
    sock?.destroy();
  }

  get connected(): boolean {
    return this.client !== undefined;
  }

  close(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    const c = this.client;
    this.client = undefined;
    c?.end();
  }
}
