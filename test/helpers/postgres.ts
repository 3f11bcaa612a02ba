// A throwaway PostgreSQL cluster for tests: initdb + postgres on a free loopback port in a temp
// dir (as the `postgres` user when the tests run as root, since postgres refuses to run as root),
// stopped and removed at the end. Debian's packages put the binaries in
// /usr/lib/postgresql/<version>/bin (.ci/install-postgres.sh installs them).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';
import pg from 'pg';

async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

export interface PgCluster {
  port: number;
  /** postgresql://postgres@127.0.0.1:PORT/DB */
  url(database?: string): string;
  /** a new empty database; returns its URL */
  createDatabase(name?: string): Promise<string>;
  /** the same, synchronously (psql), for helpers that cannot await */
  createDatabaseSync(name?: string): string;
  dropDatabaseSync(name: string): void;
  stop(): Promise<void>;
}

export function postgresBinDir(): string | undefined {
  if (process.env.PG_BIN && existsSync(join(process.env.PG_BIN, 'initdb'))) return process.env.PG_BIN;
  const base = '/usr/lib/postgresql';
  if (existsSync(base)) {
    const versions = readdirSync(base)
      .filter((v) => existsSync(join(base, v, 'bin', 'initdb')))
      .sort((a, b) => Number(b) - Number(a));
    if (versions[0]) return join(base, versions[0], 'bin');
  }
  const which = spawnSync('sh', ['-c', 'command -v initdb'], { encoding: 'utf8' });
  const found = which.stdout.trim();
  return found ? join(found, '..') : undefined;
}

function postgresUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const uid = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
  const gid = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
  if (uid.status !== 0) throw new Error('tests run as root but there is no `postgres` user to run PostgreSQL as (apt-get install postgresql)');
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

let seq = 0;

export async function startPostgres(): Promise<PgCluster> {
  const bin = postgresBinDir();
  if (!bin) throw new Error('PostgreSQL is not installed (initdb not found); .ci/install-postgres.sh installs it');
  const as = postgresUser();
  const dir = mkdtempSync(join(tmpdir(), 'aloft-pg-'));
  if (as) chownSync(dir, as.uid, as.gid);
  const data = join(dir, 'data');
  const init = spawnSync(join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync', '--no-instructions'], {
    encoding: 'utf8',
    ...(as ?? {}),
  });
  if (init.status !== 0) throw new Error(`initdb failed: ${init.stderr}`);
  const port = await closedPort();
  const server: ChildProcess = spawn(
    join(bin, 'postgres'),
    ['-D', data, '-p', String(port), '-k', dir, '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off', '-c', 'full_page_writes=off', '-c', 'max_connections=200'],
    { stdio: ['ignore', 'ignore', 'pipe'], ...(as ?? {}) },
  );
  let stderr = '';
  server.stderr!.on('data', (c) => (stderr += c));
  const url = (database = 'postgres') => `postgresql://postgres@127.0.0.1:${port}/${database}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    const c = new pg.Client({ connectionString: url() });
    try {
      await c.connect();
      await c.end();
      break;
    } catch {
      await c.end().catch(() => undefined);
      if (server.exitCode !== null || Date.now() > deadline) throw new Error(`postgres did not start: ${stderr}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return {
    ...clusterAt(url(), bin),
    async stop() {
      if (server.exitCode === null) {
        server.kill('SIGQUIT'); // immediate shutdown: nothing here needs to survive
        await new Promise((r) => server.once('exit', r));
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Databases on a running cluster (e.g. the one test/helpers/postgres-setup.ts started). */
export function clusterAt(adminUrl: string, bin = postgresBinDir()): Omit<PgCluster, 'stop'> {
  const u = new URL(adminUrl);
  const port = Number(u.port);
  const url = (database = 'postgres') => `postgresql://postgres@127.0.0.1:${port}/${database}`;
  const psql = join(bin ?? '/usr/bin', 'psql');
  const name = (n?: string) => n ?? `aloft_${process.pid}_${Date.now().toString(36)}_${seq++}`;
  return {
    port,
    url,
    async createDatabase(n) {
      const db = name(n);
      const c = new pg.Client({ connectionString: url() });
      await c.connect();
      try {
        await c.query(`CREATE DATABASE "${db}"`);
      } finally {
        await c.end();
      }
      return url(db);
    },
    createDatabaseSync(n) {
      const db = name(n);
      const r = spawnSync(psql, ['-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', '-d', 'postgres', '-qc', `CREATE DATABASE "${db}"`], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`CREATE DATABASE failed: ${r.stderr}`);
      return url(db);
    },
    dropDatabaseSync(db) {
      spawnSync(psql, ['-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', '-d', 'postgres', '-qc', `DROP DATABASE IF EXISTS "${db}" WITH (FORCE)`], { encoding: 'utf8' });
    },
  };
}

/**
 * The project's cluster when a globalSetup started one, else one of this file's own (stopped by
 * the returned stop()).
 */
export async function testPostgres(injected: string | undefined): Promise<PgCluster> {
  if (injected) return { ...clusterAt(injected), stop: async () => undefined };
  return startPostgres();
}
