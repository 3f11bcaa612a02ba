// Runs the real CLI (bin/aloft, compiled) against an isolated ALOFT_HOME, and cleans up after:
// every cluster torn down, the daemon stopped, and no process of that home left behind.
// With ALOFT_TEST_REMOTE=1 (the `team-server` vitest project) the home is served by a team API
// server with PostgreSQL state and every CLI call is a remote client of it (remote.ts).
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { REMOTE, startRemoteServer, type RemoteServer } from './remote.js';

export { REMOTE };

export const ROOT = resolve(__dirname, '..', '..');
export const BIN = join(ROOT, 'bin', 'aloft');

/**
 * SkyPilot's example YAMLs (../shared/skypilot-yaml-corpus next to the checkout; from a git
 * worktree under work/wt/NAME, two levels up), or undefined when not checked out.
 */
export function corpusDir(): string | undefined {
  if (process.env.ALOFT_CORPUS_DIR) return existsSync(process.env.ALOFT_CORPUS_DIR) ? process.env.ALOFT_CORPUS_DIR : undefined;
  return [resolve(ROOT, '..', 'shared', 'skypilot-yaml-corpus'), resolve(ROOT, '..', '..', 'shared', 'skypilot-yaml-corpus')].find((d) => existsSync(d));
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface AloftEnv {
  home: string;
  env: Record<string, string>;
  run(args: string[], opts?: { env?: Record<string, string>; timeoutMs?: number; input?: string; cwd?: string }): Promise<RunResult>;
  runSync(args: string[], opts?: { env?: Record<string, string> }): RunResult;
  /** Processes whose environment ties them to this home (agents, jobs, the daemon). */
  leftoverProcesses(): number[];
  daemonPid(): number | undefined;
  /**
   * Env for a call made as an admin: locally nothing (the daemon's own user is one); in the
   * remote run the token of an admin, where the test's user `tester` is a plain user.
   */
  adminEnv(): Record<string, string>;
  /** All the state the daemon has persisted, as text: its SQLite files, or its PostgreSQL database (remote run). */
  stateText(): string;
  /** Rows of a query (`?` placeholders) of the daemon's state: its SQLite file, or its PostgreSQL database (remote run). */
  queryState(sql: string, ...params: unknown[]): Promise<Record<string, unknown>[]>;
  cleanup(): Promise<void>;
}

export function makeHome(prefix = 'aloft-t-'): AloftEnv {
  // Short paths: unix sockets live under the home and have a 108-byte limit.
  const home = mkdtempSync(join(tmpdir(), prefix));
  const userHome = testUserHome();
  const env: Record<string, string> = {
    ALOFT_HOME: home,
    // The "user" of the tests: a home of its own (local nodes' homes are seeded from it), with
    // this machine's pip configuration but none of its shell start-up files — a test must not
    // depend on the developer's ~/.bashrc (here it runs `pyenv init`, slow, and a job killed in
    // the middle of it leaves pyenv's rehash lock behind for every shell of the machine).
    HOME: userHome,
    NO_COLOR: '1',
    ALOFT_AUTOSTOP_SECONDS_PER_MINUTE: process.env.ALOFT_AUTOSTOP_SECONDS_PER_MINUTE ?? '',
    // Service load balancers bind this machine's ports: each home starts its search at a port
    // of its own (20000–31960, below the ephemeral range), so a port one test's `serve down`
    // frees is not taken at once by a service of a test running beside it.
    ALOFT_SERVE_PORT_START: process.env.ALOFT_SERVE_PORT_START ?? String(20_000 + 40 * Math.floor(Math.random() * 300)),
  };
  const fullEnv = (extra?: Record<string, string>) => {
    const e: Record<string, string> = { ...(process.env as Record<string, string>), ...env, ...extra };
    for (const k of Object.keys(e)) if (e[k] === '') delete e[k];
    return e;
  };
  // `aloft daemon …` manages the home's own daemon: in the remote run, the server itself.
  let server: RemoteServer | undefined;
  const CLIENT_KEYS = ['ALOFT_API_SERVER_ENDPOINT', 'ALOFT_API_TOKEN', 'ALOFT_API_WAIT_SECONDS'];
  const serverEnv = (extra?: Record<string, string>) => {
    const e = fullEnv(extra);
    for (const k of CLIENT_KEYS) delete e[k];
    return e;
  };
  if (REMOTE) server = startRemoteServer(home, BIN, serverEnv);
  const envFor = (args: string[], extra?: Record<string, string>) => {
    if (!server) return fullEnv(extra);
    if (args[0] === 'daemon') return serverEnv(extra);
    Object.assign(env, server.clientEnv());
    return fullEnv(extra);
  };
  const self: AloftEnv = {
    home,
    env,
    async run(args, opts = {}) {
      if (server) {
        if (args[0] === 'daemon' && args[1] === 'stop') server.stopped();
        // the first start of the home's daemon makes it the API server (with this call's env);
        // a CLI the test spawns itself finds the client's env in `env` from then on
        else if (args[0] === 'daemon' && args[1] === 'start') Object.assign(env, server.clientEnv(opts.env));
        else if (args[0] !== 'daemon') {
          Object.assign(env, server.clientEnv(opts.env));
          await server.beforeClient(opts.env);
        }
      }
      const result = await new Promise<RunResult>((res, rej) => {
        const child = spawn(process.execPath, [BIN, ...args], {
          env: envFor(args, opts.env),
          cwd: opts.cwd ?? ROOT,
          stdio: ['pipe', 'pipe', 'pipe'],
        });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (c) => (stdout += c));
        child.stderr.on('data', (c) => (stderr += c));
        const timer = setTimeout(() => {
          child.kill('SIGKILL');
          rej(new Error(`aloft ${args.join(' ')} timed out\nstdout: ${stdout}\nstderr: ${stderr}`));
        }, opts.timeoutMs ?? 60_000);
        child.on('close', (code) => {
          clearTimeout(timer);
          res({ code: code ?? -1, stdout, stderr });
        });
        child.stdin.end(opts.input ?? '');
      });
      if (server && args[0] === 'daemon' && args[1] === 'start') server.started();
      return result;
    },
    runSync(args, opts = {}) {
      const r = spawnSync(process.execPath, [BIN, ...args], { env: envFor(args, opts.env), cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
      return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
    },
    leftoverProcesses() {
      const found: number[] = [];
      for (const e of readdirSync('/proc')) {
        if (!/^\d+$/.test(e) || Number(e) === process.pid) continue;
        try {
          const environ = readFileSync(`/proc/${e}/environ`, 'latin1');
          const stat = readFileSync(`/proc/${e}/stat`, 'latin1');
          if (/^\d+ \(.*\) Z/.test(stat)) continue;
          if (environ.split('\0').some((kv) => kv === `ALOFT_HOME=${home}` || kv.startsWith(`ALOFT_NODE_DIR=${home}/`) || kv.startsWith(`HOME=${home}/`))) {
            found.push(Number(e));
          }
        } catch {
          /* gone */
        }
      }
      return found;
    },
    adminEnv() {
      return server ? server.adminEnv() : {};
    },
    daemonPid() {
      try {
        return Number(readFileSync(join(home, 'daemon.pid'), 'utf8'));
      } catch {
        return undefined;
      }
    },
    stateText() {
      if (server) return server.dumpState();
      return readdirSync(home)
        .filter((f) => /^state\.db/.test(f))
        .map((f) => readFileSync(join(home, f), 'latin1'))
        .join('\n');
    },
    async queryState(sql, ...params) {
      if (server) return server.queryState(sql, params);
      const { default: Database } = await import('better-sqlite3');
      const db = new Database(join(home, 'state.db'), { readonly: true, fileMustExist: true });
      try {
        return db.prepare(sql).all(...params) as Record<string, unknown>[];
      } finally {
        db.close();
      }
    },
    async cleanup() {
      // services first: their controllers would replace replica clusters torn down under them
      if (existsSync(join(home, 'serve')) && readdirSync(join(home, 'serve')).length > 0) await self.run(['serve', 'down', '-a', '-y', '--purge'], { timeoutMs: 90_000 }).catch(() => undefined);
      await self.run(['down', '-a', '-y'], { timeoutMs: 60_000 }).catch(() => undefined);
      await self.run(['daemon', 'stop'], { timeoutMs: 30_000 }).catch(() => undefined);
      server?.cleanup();
      for (const pid of self.leftoverProcesses()) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
      rmSync(home, { recursive: true, force: true });
      rmSync(userHome, { recursive: true, force: true });
    },
  };
  return self;
}

/** A fresh user home for a test, with the real user's pip configuration (offline package index). */
export function testUserHome(): string {
  const dir = mkdtempSync(join(tmpdir(), 'aloft-user-'));
  const real = homedir();
  for (const rel of ['.config/pip', '.pip', '.gitconfig']) {
    if (existsSync(join(real, rel))) cpSync(join(real, rel), join(dir, rel), { recursive: true });
  }
  return dir;
}

export async function waitFor<T>(
  fn: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 20_000,
  what = 'condition',
  intervalMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v) return v as T;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}

/** A TCP port on 127.0.0.1 that nothing listens on (bound, then closed). */
export async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}
