// The end-to-end suite's second run (vitest project `team-server`, ALOFT_TEST_REMOTE=1): the
// test's home is served by a team API server — TCP on loopback, PostgreSQL state in a database
// of its own, a token for a user `tester` — and every CLI call the test makes is a remote client
// of it (ALOFT_API_SERVER_ENDPOINT + ALOFT_API_TOKEN): it uploads its workdirs, follows logs and
// events over TCP. `aloft daemon …` stays what it is, the management of the home's own daemon
// (the server). As a real server runs under a supervisor (systemd, Kubernetes), a watchdog starts
// the server again when a test kills it; the client rides the restart out
// (ALOFT_API_WAIT_SECONDS) instead of starting a daemon itself.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { inject } from 'vitest';
import { clusterAt } from './postgres.js';

export const REMOTE = process.env.ALOFT_TEST_REMOTE === '1';

/** The API server serving a test home (remote run), for tests that send raw requests. */
export interface RemoteApi {
  url: string;
  token: string;
}
const servedHomes = new Map<string, () => Record<string, string>>();

/** Where raw API requests for `home` go in the remote run: its server over TCP, with the token; else undefined (the unix socket). */
export function remoteApiOf(home: string): RemoteApi | undefined {
  const env = servedHomes.get(home)?.();
  return env ? { url: env.ALOFT_API_SERVER_ENDPOINT!, token: env.ALOFT_API_TOKEN! } : undefined;
}

export interface RemoteServer {
  /**
   * Starts the server on first use (so knobs a test puts in its env after makeHome, or in the
   * first call's env, reach it, as they reach a local daemon started by the first CLI call);
   * answers what a client needs: endpoint, token, patience for restarts.
   */
  clientEnv(extra?: Record<string, string>): Record<string, string>;
  /**
   * a client call is about to run: a server stopped on purpose is started first, with that
   * call's env (as a CLI call starts the local daemon it finds stopped)
   */
  beforeClient(extra?: Record<string, string>): Promise<void>;
  /** `aloft daemon stop` ran: leave the server down until someone needs it */
  stopped(): void;
  started(): void;
  /** a client env with an admin's token (an admin `root` made on first use) */
  adminEnv(): Record<string, string>;
  /** what PostgreSQL holds for this server */
  dumpState(): string;
  /** rows of a query of the server's PostgreSQL state (`?` placeholders) */
  queryState(sql: string, params: unknown[]): Promise<Record<string, unknown>[]>;
  cleanup(): void;
}

function freePort(): number {
  const r = spawnSync(process.execPath, ['-e', "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"], {
    encoding: 'utf8',
  });
  return Number(r.stdout.trim());
}

function alive(home: string): boolean {
  try {
    const pid = Number(readFileSync(join(home, 'daemon.pid'), 'utf8'));
    process.kill(pid, 0);
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'latin1'));
  } catch {
    return false;
  }
}

export function startRemoteServer(home: string, bin: string, serverEnv: (extra?: Record<string, string>) => Record<string, string>): RemoteServer {
  const pg = clusterAt(inject('pgUrl'));
  const dbName = `aloft_e2e_${process.pid}_${Date.now().toString(36)}`;
  let client: Record<string, string> | undefined;
  let db: string | undefined;
  let port: number | undefined;
  const up = (extra?: Record<string, string>): Record<string, string> => {
    if (client) return client;
    db ??= pg.createDatabaseSync(dbName);
    port ??= freePort();
    const endpoint = `http://127.0.0.1:${port}`;
    const cli = (args: string[]) => spawnSync(process.execPath, [bin, ...args], { env: serverEnv(extra), encoding: 'utf8', timeout: 60_000 });
    const started = cli(['api', 'start', '--host', '127.0.0.1', '--port', String(port), '--db', db]);
    if (started.status !== 0) {
      // The home's config.yaml is broken (a test about that): the client, reading the same file,
      // refuses before it would reach the server. Start it on a later call.
      return { ALOFT_API_SERVER_ENDPOINT: endpoint, ALOFT_API_TOKEN: 'none-yet', ALOFT_API_WAIT_SECONDS: '0' };
    }
    for (const args of [['api', 'users', 'add', 'tester'], ['api', 'tokens', 'create', '--user', 'tester']]) {
      const r = cli(args);
      if (r.status !== 0) throw new Error(`aloft ${args.join(' ')} (server home) failed: ${r.stderr}`);
      if (args[2] === 'create') client = { ALOFT_API_SERVER_ENDPOINT: endpoint, ALOFT_API_TOKEN: r.stdout.trim(), ALOFT_API_WAIT_SECONDS: '90' };
    }
    return client!;
  };

  let pgClient: Promise<import('pg').Client> | undefined;
  let admin: Record<string, string> | undefined;
  const adminEnv = (): Record<string, string> => {
    if (admin) return admin;
    const base = up();
    const cli = (args: string[]) => spawnSync(process.execPath, [bin, ...args], { env: serverEnv(), encoding: 'utf8', timeout: 60_000 });
    for (const args of [['api', 'users', 'add', 'root', '--role', 'admin'], ['api', 'tokens', 'create', '--user', 'root']]) {
      const r = cli(args);
      if (r.status !== 0) throw new Error(`aloft ${args.join(' ')} (server home) failed: ${r.stderr}`);
      if (args[2] === 'create') admin = { ...base, ALOFT_API_TOKEN: r.stdout.trim() };
    }
    return admin!;
  };

  let wanted = true;
  let starting: Promise<void> | undefined;
  const start = (extra?: Record<string, string>) =>
    (starting ??= new Promise<void>((resolve) => {
      const child = spawn(process.execPath, [bin, 'daemon', 'start'], { env: serverEnv(extra), stdio: 'ignore' });
      child.on('exit', () => {
        starting = undefined;
        resolve();
      });
    }));
  const watchdog = setInterval(() => {
    if (client && wanted && !starting && existsSync(home) && !alive(home)) void start();
  }, 300);
  watchdog.unref();

  servedHomes.set(home, up);
  return {
    clientEnv: up,
    adminEnv,
    async beforeClient(extra) {
      if (!wanted) {
        wanted = true;
        if (!alive(home)) await start(extra);
      }
    },
    stopped() {
      wanted = false;
    },
    started() {
      wanted = true;
    },
    dumpState() {
      return db ? pg.dumpSync(dbName) : '';
    },
    async queryState(sql, params) {
      if (!db) return [];
      // one connection kept for the home's life: a test polling the state is not slowed by connects
      pgClient ??= import('pg').then(async ({ default: pgLib }) => {
        const c = new pgLib.Client({ connectionString: db });
        c.on('error', () => undefined); // the database is dropped under it at cleanup
        await c.connect();
        return c;
      });
      let n = 0;
      return (await (await pgClient).query(sql.replace(/\?/g, () => `$${++n}`), params)).rows;
    },
    cleanup() {
      void pgClient?.then((c) => c.end()).catch(() => undefined);
      servedHomes.delete(home);
      wanted = false;
      clearInterval(watchdog);
      if (db) pg.dropDatabaseSync(dbName);
    },
  };
}
