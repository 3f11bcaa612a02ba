// PostgreSQL state (src/daemon/state): the same migrations on both backends, the Store over the
// working copy made durable in PostgreSQL, one server per database, a dropped connection ridden
// out, and a process SIGKILLed mid-write leaving a gap-free prefix of its events.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { MIGRATIONS, migrate, type Db, type Migration } from '../../src/daemon/db.js';
import { PgMirror } from '../../src/daemon/state/pg-mirror.js';
import { pgColumns, quoteIdent as q, selectRowsSql, tableShapes, type TableShape } from '../../src/daemon/state/shapes.js';
import { Store } from '../../src/daemon/store.js';
import { recordTask } from '../../src/daemon/submitted.js';
import { Users } from '../../src/daemon/team/users.js';
import type { ClusterRecord } from '../../src/protocol/model.js';
import { testPostgres, type PgCluster } from '../helpers/postgres.js';
import { localCluster } from '../helpers/records.js';

const ROOT = resolve(__dirname, '..', '..');

/** Migrations beyond today's, exercising what later ones may do: a column with a data update,
 *  a table without a primary key, SQLite's table rebuild (create, copy, drop, rename), a drop. */
const EXTRA: Migration[] = [
  (db) => db.exec(`ALTER TABLE clusters ADD COLUMN note TEXT NOT NULL DEFAULT 'none'; UPDATE clusters SET note = name || '!'`),
  (db) => db.exec(`CREATE TABLE history (ts INTEGER NOT NULL, what TEXT NOT NULL, cost REAL)`),
  (db) =>
    db.exec(`
      CREATE TABLE requests_new (id TEXT PRIMARY KEY, cluster TEXT NOT NULL, kind TEXT NOT NULL, status TEXT NOT NULL,
                                 created_at INTEGER NOT NULL, record TEXT NOT NULL, weight REAL);
      INSERT INTO requests_new SELECT *, 1.5 FROM requests;
      DROP TABLE requests;
      ALTER TABLE requests_new RENAME TO requests;
    `),
  (db) => db.exec(`INSERT INTO history (ts, what, cost) SELECT created_at, 'request ' || id, 0.25 FROM requests; DROP TABLE submitted_tasks`),
];
const ALL = [...MIGRATIONS, ...EXTRA];

/**
 * One row in every table, its values made from the table, the column and `tag`. A `record` is JSON
 * (migrations read records: cluster_history's takes each cluster's launchedAt from it).
 */
function seed(db: Db, tag: number): void {
  for (const t of tableShapes(db)) {
    const values = t.columns.map((c, i) =>
      c.pg === 'BIGINT'
        ? tag * 1000 + i
        : c.pg === 'DOUBLE PRECISION'
          ? tag + 0.5
          : c.pg === 'BYTEA'
            ? Buffer.from([tag, i])
            : c.name === 'record'
              ? JSON.stringify({ launchedAt: tag * 1000, v: `${t.name}.${c.name}.${tag}` })
              : `${t.name}.${c.name}.${tag}`,
    );
    db.prepare(`INSERT INTO ${q(t.name)} (${t.columns.map((c) => q(c.name)).join(', ')}) VALUES (${values.map(() => '?').join(', ')})`).run(...values);
  }
}

const norm = (v: unknown): unknown => (Buffer.isBuffer(v) ? `\\x${v.toString('hex')}` : v === null ? null : String(v));
const sortRows = (rows: unknown[][]) => rows.map((r) => JSON.stringify(r)).sort();

/** Every table's rows (values as text), from the working copy or any SQLite database. */
function dumpSqlite(db: Db): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const t of tableShapes(db)) {
    out[t.name] = sortRows((db.prepare(selectRowsSql(t)).all() as Record<string, unknown>[]).map((r) => pgColumns(t).map((c) => norm(r[c.name]))));
  }
  return out;
}

async function dumpPg(client: pg.Client, shapes: TableShape[]): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const t of shapes) {
    const cols = pgColumns(t);
    const res = await client.query({ text: `SELECT ${cols.map((c) => q(c.name)).join(', ')} FROM ${q(t.name)}`, rowMode: 'array' });
    out[t.name] = sortRows((res.rows as unknown[][]).map((r) => r.map(norm)));
  }
  return out;
}

async function pgTables(client: pg.Client): Promise<Record<string, string[]>> {
  const { rows } = await client.query(
    `SELECT table_name, column_name, data_type FROM information_schema.columns WHERE table_schema = 'public' AND table_name <> 'aloft_meta' ORDER BY table_name, ordinal_position`,
  );
  const out: Record<string, string[]> = {};
  for (const r of rows as Array<{ table_name: string; column_name: string; data_type: string }>) (out[r.table_name] ??= []).push(`${r.column_name}:${r.data_type}`);
  return out;
}

const cluster = (name: string): ClusterRecord => localCluster(name, { user: 'alice' });

describe('PostgreSQL state', () => {
  let pgc: PgCluster;
  const open: PgMirror[] = [];
  const mirror = async (url: string, migrations: readonly Migration[] = MIGRATIONS) => {
    const m = await PgMirror.open({ url, migrations });
    open.push(m);
    return m;
  };
  const admin = async (url: string) => {
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    return c;
  };

  beforeAll(async () => {
    pgc = await testPostgres(inject('pgUrl'));
  }, 120_000);
  afterAll(async () => {
    for (const m of open) await m.close().catch(() => undefined);
    await pgc?.stop();
  });

  it('every migration runs on both backends: from each version, with data, to the last — same tables, same rows', async () => {
    for (let from = 0; from < ALL.length; from++) {
      // SQLite: the state file as the local daemon keeps it.
      const file = join(mkdtempSync(join(tmpdir(), 'aloft-mig-')), 'state.db');
      const lite = new Database(file);
      migrate(lite, from, ALL);
      seed(lite, from + 1);
      migrate(lite, ALL.length, ALL);
      // PostgreSQL: a server of version `from` wrote the state; one of the last version loads it.
      const url = await pgc.createDatabase();
      const older = await mirror(url, ALL.slice(0, from));
      seed(older.db, from + 1);
      await older.barrier();
      await older.close();
      const newer = await mirror(url, ALL);
      const c = await admin(url);
      try {
        const shapes = tableShapes(newer.db);
        expect(shapes.map((t) => t.name), `from v${from}`).toEqual(tableShapes(lite).map((t) => t.name));
        expect(dumpSqlite(newer.db), `working copy from v${from}`).toEqual(dumpSqlite(lite));
        expect(await dumpPg(c, shapes), `PostgreSQL from v${from}`).toEqual(dumpSqlite(lite));
        // PostgreSQL holds exactly the working copy's tables and columns (+ the rowid of a keyless table).
        const expected = Object.fromEntries(shapes.map((t) => [t.name, pgColumns(t).map((col) => `${col.name}:${col.pg.toLowerCase()}`)]));
        expect(await pgTables(c)).toEqual(expected);
        const { rows } = await c.query(`SELECT value FROM aloft_meta WHERE key = 'schema_version'`);
        expect(rows[0].value).toBe(String(ALL.length));
      } finally {
        await c.end();
        await newer.close();
        lite.close();
      }
    }
  });

  it('the Store over PostgreSQL: everything durable after durable(), reloaded as it was, event numbers included', async () => {
    const url = await pgc.createDatabase();
    const m = await mirror(url);
    const store = new Store(m.db, m);
    const users = new Users(m.db);
    store.putCluster(cluster('a'));
    store.putCluster(cluster('b'));
    store.setInternal('a', { agentSeq: 7, nodes: [] });
    store.putJob({ cluster: 'a', clusterUid: 'a-uid', id: 1, status: 'RUNNING', numNodes: 1, demand: { cpus: 1, gpus: 0 }, resources: 'x', submittedAt: 5, taskId: 't', user: 'alice' });
    store.putRequest({ id: 'launch-1', kind: 'launch', cluster: 'a', status: 'RUNNING', createdAt: 3, user: 'alice' });
    const mj = store.createManaged(
      { status: 'PENDING', resources: 'r', submittedAt: 9, jobDurationMs: 0, recoveries: 0, restartsOnErrors: 0, strategy: 'FAILOVER', maxRestartsOnErrors: 0, recoverOnExitCodes: [], taskId: 'm', attempts: [], blockedRegions: [], useSpot: false },
      { run: 'x' },
    );
    recordTask(m.db, 'request:launch-1', { numNodes: 1, resources: { mode: 'single', candidates: [] }, envs: {}, secrets: { K: 'v' }, fileMounts: [], run: 'x' });
    users.add('alice', 'admin');
    const { token } = users.createToken('alice');
    store.removeCluster('b');
    store.notice('hello');
    const before = dumpSqlite(m.db);
    const seq = store.currentSeq;
    await store.durable();
    await m.close();

    const again = await mirror(url);
    const reloaded = new Store(again.db, again);
    expect(dumpSqlite(again.db)).toEqual(before);
    expect(reloaded.currentSeq).toBe(seq);
    expect(reloaded.eventsSince(0)!.map((e) => e.seq)).toEqual(Array.from({ length: seq }, (_, i) => i + 1));
    expect(reloaded.getInternal('a')).toEqual({ agentSeq: 7, nodes: [] });
    expect(reloaded.listClusters().map((c) => [c.name, c.user])).toEqual([['a', 'alice']]);
    expect(new Users(again.db).verify(token)?.user).toBe('alice');
    // AUTOINCREMENT goes on after the ids PostgreSQL had
    const next = reloaded.createManaged({ ...mj, status: 'PENDING' }, { run: 'y' });
    expect(next.id).toBe(mj.id + 1);
    // the secret's value is nowhere in PostgreSQL
    const c = await admin(url);
    const all = await dumpPg(c, tableShapes(again.db));
    await c.end();
    expect(JSON.stringify(all)).not.toContain('"v"');
    expect(JSON.stringify(all)).toContain('<redacted>');
  });

  it('one server per database: a second one is refused while the first holds it', async () => {
    const url = await pgc.createDatabase();
    const first = await mirror(url);
    await expect(PgMirror.open({ url })).rejects.toThrow(/another aloft server uses the state in postgresql:\/\/postgres@127\.0\.0\.1:\d+\/\w+ \(its advisory lock is held\)/);
    await first.close();
    const second = await mirror(url);
    expect(second.kind).toBe('postgresql');
  });

  it('a connection PostgreSQL drops is opened again; barriers wait for it, nothing is lost', async () => {
    const url = await pgc.createDatabase();
    const m = await mirror(url);
    const store = new Store(m.db, m);
    store.putCluster(cluster('before'));
    await store.durable();
    const c = await admin(url);
    const killed = await c.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'aloft' AND datname = current_database()`);
    expect(killed.rowCount).toBe(1);
    store.putCluster(cluster('after'));
    await store.durable();
    const { rows } = await c.query('SELECT name FROM clusters ORDER BY name');
    expect(rows.map((r: { name: string }) => r.name)).toEqual(['after', 'before']);
    await c.end();
  });

  it('a writer SIGKILLed mid-stream leaves a gap-free prefix of its events, at least up to its last durable()', async () => {
    const dist = join(ROOT, 'dist', 'daemon');
    if (!existsSync(join(dist, 'state', 'pg-mirror.js'))) throw new Error('run `npm run build` first');
    const url = await pgc.createDatabase();
    const script = join(mkdtempSync(join(tmpdir(), 'aloft-pgw-')), 'writer.mjs');
    writeFileSync(
      script,
      `import { PgMirror } from ${JSON.stringify(join(dist, 'state', 'pg-mirror.js'))};
       import { Store } from ${JSON.stringify(join(dist, 'store.js'))};
       const m = await PgMirror.open({ url: process.argv[2] });
       const s = new Store(m.db, m);
       for (let i = 1; ; i++) {
         s.tx(() => { s.notice('n' + i); if (i % 3 === 0) s.putCluster(${JSON.stringify(cluster('c'))}); });
         if (i % 25 === 0) { await s.durable(); process.stdout.write('durable ' + s.currentSeq + '\\n'); }
         else if (i % 5 === 0) await new Promise((r) => setImmediate(r));
       }`,
    );
    const child = spawn(process.execPath, [script, url], { stdio: ['ignore', 'pipe', 'inherit'] });
    let lastDurable = 0;
    let reports = 0;
    await new Promise<void>((done) => {
      child.stdout.on('data', (d: Buffer) => {
        for (const m of String(d).matchAll(/durable (\d+)/g)) {
          lastDurable = Number(m[1]);
          if (++reports === 4) {
            child.kill('SIGKILL');
            done();
          }
        }
      });
    });
    await new Promise((r) => child.once('exit', r));
    const m = await mirror(url);
    const store = new Store(m.db, m);
    const seqs = store.eventsSince(0)!.map((e) => e.seq);
    expect(seqs.length).toBeGreaterThanOrEqual(lastDurable);
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 1));
    expect(store.currentSeq).toBe(seqs.length);
    // what the tables say agrees with the events (both come from the same committed transactions)
    const clusterEvents = store.eventsSince(0)!.filter((e) => e.kind === 'cluster').length;
    expect(store.listClusters().length).toBe(clusterEvents > 0 ? 1 : 0);
  });
});
