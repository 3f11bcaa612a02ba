// A throwaway PostgreSQL cluster (tests and benches): initdb + postgres on a free loopback port
// in a temp dir — as the `postgres` user when running as root, since postgres refuses to run as
// root — stopped and removed by stop(). Debian's packages put the binaries in
// /usr/lib/postgresql/<version>/bin (.ci/install-postgres.sh installs them). Plain JS so that
// bench/*.mjs and the vitest helpers (test/helpers/postgres.ts) share it.
import { spawn, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

async function freePort() {
  const s = createServer();
  await new Promise((r) => s.listen(0, '127.0.0.1', r));
  const port = s.address().port;
  await new Promise((r) => s.close(() => r()));
  return port;
}

export function postgresBinDir() {
  if (process.env.PG_BIN && existsSync(join(process.env.PG_BIN, 'initdb'))) return process.env.PG_BIN;
  const base = '/usr/lib/postgresql';
  if (existsSync(base)) {
    const versions = readdirSync(base)
      .filter((v) => existsSync(join(base, v, 'bin', 'initdb')))
      .sort((a, b) => Number(b) - Number(a));
    if (versions[0]) return join(base, versions[0], 'bin');
  }
  const found = spawnSync('sh', ['-c', 'command -v initdb'], { encoding: 'utf8' }).stdout.trim();
  return found ? join(found, '..') : undefined;
}

function postgresUser() {
  if (process.getuid?.() !== 0) return undefined;
  const uid = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
  const gid = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
  if (uid.status !== 0) throw new Error('running as root but there is no `postgres` user to run PostgreSQL as (apt-get install postgresql)');
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

let seq = 0;

/**
 * @param {{ durable?: boolean }} [opts] durable: fsync and synchronous commits as in production
 *   (benches); without it the cluster trades crash safety of PostgreSQL itself for speed (tests).
 */
export async function startPostgres(opts = {}) {
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
  const port = await freePort();
  const fast = opts.durable ? [] : ['-c', 'fsync=off', '-c', 'full_page_writes=off', '-c', 'synchronous_commit=off'];
  const server = spawn(join(bin, 'postgres'), ['-D', data, '-p', String(port), '-k', dir, '-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=200', ...fast], {
    stdio: ['ignore', 'ignore', 'pipe'],
    ...(as ?? {}),
  });
  let stderr = '';
  server.stderr.on('data', (c) => (stderr += c));
  const admin = `postgresql://postgres@127.0.0.1:${port}/postgres`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    const c = new pg.Client({ connectionString: admin });
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
    ...clusterAt(admin, bin),
    /** the postmaster's pid (its backends are its children) */
    pid: server.pid,
    async stop() {
      if (server.exitCode === null) {
        server.kill('SIGQUIT'); // immediate shutdown: nothing here needs to survive
        await new Promise((r) => server.once('exit', r));
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Databases on a running cluster, given its admin URL. */
export function clusterAt(adminUrl, bin = postgresBinDir()) {
  const port = Number(new URL(adminUrl).port);
  const url = (database = 'postgres') => `postgresql://postgres@127.0.0.1:${port}/${database}`;
  const psql = join(bin ?? '/usr/bin', 'psql');
  const name = (n) => n ?? `aloft_${process.pid}_${Date.now().toString(36)}_${seq++}`;
  const run = (sql) => spawnSync(psql, ['-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', '-d', 'postgres', '-qc', sql], { encoding: 'utf8' });
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
      const r = run(`CREATE DATABASE "${db}"`);
      if (r.status !== 0) throw new Error(`CREATE DATABASE failed: ${r.stderr}`);
      return url(db);
    },
    dropDatabaseSync(db) {
      run(`DROP DATABASE IF EXISTS "${db}" WITH (FORCE)`);
    },
    /** Everything a database holds, as pg_dump prints it (tests look for what must not be there). */
    dumpSync(db) {
      const r = spawnSync(join(bin ?? '/usr/bin', 'pg_dump'), ['-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', db], { encoding: 'utf8', maxBuffer: 1 << 30 });
      if (r.status !== 0) throw new Error(`pg_dump failed: ${r.stderr}`);
      return r.stdout;
    },
  };
}
