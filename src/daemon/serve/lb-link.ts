// The daemon's end of a service's load balancer (src/serve/lb): starts the process detached (so
// it outlives the daemon), adopts the one already running after a daemon restart, sends it the
// desired config, reads its stats and follows its events. Everything goes over DIR/lb.sock.
import { spawn } from 'node:child_process';
import { existsSync, openSync, closeSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { LB_PROTOCOL, lbFiles, type LbConfig, type LbConfigFile, type LbEvent, type LbStart, type LbState, type LbStats } from '../../serve/lb/protocol.js';
import { eachLine } from '../../util/lines.js';
import { packageRoot } from '../../util/paths.js';
import { processRunning, readPidFile } from '../../util/process.js';

const LB_MAIN = () => join(packageRoot(), 'dist', 'serve', 'lb', 'main.js');

function request<T>(socketPath: string, method: string, path: string, body?: unknown, timeoutMs = 5000): Promise<T> {
  const data = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = http.request(
      { socketPath, method, path, agent: false, headers: data ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) } : {} },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          try {
            const v = JSON.parse(Buffer.concat(chunks).toString('utf8'));
            if ((res.statusCode ?? 500) >= 400) reject(new Error(v.error ?? `HTTP ${res.statusCode}`));
            else resolve(v as T);
          } catch (err) {
            reject(err);
          }
        });
        res.on('error', reject);
      },
    );
    req.setTimeout(timeoutMs, () => req.destroy(new Error('load balancer did not answer in time')));
    req.on('error', reject);
    req.end(data);
  });
}

export class LbLink {
  readonly files;
  private sub?: { req: http.ClientRequest; stopped: boolean };

  constructor(readonly dir: string) {
    this.files = lbFiles(dir);
  }

  /** The running balancer's pid, if one runs for this service (not a zombie, not a reused pid). */
  runningPid(): number | undefined {
    const pid = readPidFile(this.files.pid);
    if (pid === undefined || !processRunning(pid)) return undefined;
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'latin1');
      if (!cmd.includes('lb/main.js') || !cmd.includes(this.dir)) return undefined;
    } catch {
      return undefined;
    }
    return pid;
  }

  async state(timeoutMs = 5000): Promise<LbState> {
    return request<LbState>(this.files.socket, 'GET', '/state', undefined, timeoutMs);
  }

  /** A balancer that answers with our protocol, or undefined. */
  async adopt(): Promise<LbState | undefined> {
    if (this.runningPid() === undefined) return undefined;
    try {
      const s = await this.state(3000);
      return s.protocol === LB_PROTOCOL ? s : undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * Starts the balancer with this config and waits until it listens; resolves with its pid and
   * port, or rejects with what it said (a port taken, a TLS file it cannot read).
   */
  async start(cfg: LbConfig, listen: LbStart, env: NodeJS.ProcessEnv): Promise<{ pid: number; port: number }> {
    // One at a time: whatever still runs for this service (another version, hung) goes first.
    await this.kill();
    this.writeConfig(cfg, listen);
    rmSync(this.files.ready, { force: true });
    const out = openSync(this.files.log, 'a', 0o600);
    let child: ReturnType<typeof spawn>;
    try {
      child = spawn(process.execPath, [LB_MAIN(), this.dir], { detached: true, stdio: ['ignore', out, out], env });
      child.unref();
      child.on('error', () => undefined);
    } finally {
      closeSync(out);
    }
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      if (existsSync(this.files.ready)) {
        let r: { pid?: number; port?: number; error?: string };
        try {
          r = JSON.parse(readFileSync(this.files.ready, 'utf8')) as typeof r;
        } catch {
          r = {}; // a balancer of an older aloft writes it in place: read it again on the next turn
        }
        if (r.error) throw new Error(`the load balancer cannot start: ${r.error}`);
        if (r.pid && r.port) return { pid: r.pid, port: r.port };
      }
      await new Promise((r) => setTimeout(r, 25));
    }
    // Not left behind: it (and any worker it started) would hold the port the next start wants.
    if (child.pid !== undefined) killGroup(child.pid);
    throw new Error('the load balancer did not start within 30s (see `aloft serve logs --load-balancer`)');
  }

  /** config.json: what a (re)started balancer comes up with. Written atomically. */
  writeConfig(cfg: LbConfig, listen: LbStart): void {
    const file: LbConfigFile = { ...cfg, listen };
    writeFileSync(`${this.files.config}.tmp`, JSON.stringify(file), { mode: 0o600 });
    renameSync(`${this.files.config}.tmp`, this.files.config);
  }

  listenOf(): LbStart | undefined {
    try {
      return (JSON.parse(readFileSync(this.files.config, 'utf8')) as LbConfigFile).listen;
    } catch {
      return undefined;
    }
  }

  async push(cfg: LbConfig): Promise<void> {
    const listen = this.listenOf();
    if (listen) this.writeConfig(cfg, listen);
    await request(this.files.socket, 'PUT', '/config', cfg);
  }

  async stats(windowSeconds: number): Promise<LbStats> {
    return request<LbStats>(this.files.socket, 'GET', `/stats?window=${Math.max(1, Math.round(windowSeconds))}`);
  }

  /** Follows the balancer's events until unsubscribed; `onEnd` when the stream breaks (it died?). */
  subscribe(onEvent: (e: LbEvent) => void, onEnd: () => void): () => void {
    this.unsubscribe();
    const sub: { req: http.ClientRequest; stopped: boolean } = { req: undefined as unknown as http.ClientRequest, stopped: false };
    const end = () => {
      if (sub.stopped) return;
      sub.stopped = true;
      onEnd();
    };
    sub.req = http.request({ socketPath: this.files.socket, method: 'GET', path: '/events', agent: false }, (res) => {
      eachLine(res, (line) => {
        try {
          onEvent(JSON.parse(line) as LbEvent);
        } catch {
          /* a torn line: the next event carries on */
        }
      });
      res.on('end', end);
      res.on('error', end);
      res.on('aborted', end);
    });
    sub.req.on('error', end);
    sub.req.end();
    this.sub = sub;
    return () => this.unsubscribe();
  }

  unsubscribe(): void {
    if (!this.sub) return;
    this.sub.stopped = true;
    this.sub.req.destroy();
    this.sub = undefined;
  }

  /** Stops the balancer: asked first, killed if it does not go. */
  async kill(): Promise<void> {
    this.unsubscribe();
    const pid = this.runningPid();
    if (pid === undefined) return;
    await request(this.files.socket, 'POST', '/stop', {}, 2000).catch(() => undefined);
    const deadline = Date.now() + 3000;
    while (processRunning(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
    if (processRunning(pid)) {
      killGroup(pid);
      while (processRunning(pid)) await new Promise((r) => setTimeout(r, 10));
    }
    rmSync(this.files.socket, { force: true });
    rmSync(this.files.pid, { force: true });
  }
}

/** SIGKILL to a balancer's process group (it is started detached): its workers go with it at once. */
function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
}
