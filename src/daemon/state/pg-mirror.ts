// PostgreSQL state (`db: postgresql://…`): the daemon keeps its synchronous Store over an
// in-memory SQLite working copy, and PostgreSQL is the durable store behind it.
//
//  - start: the working copy is built by the same migrations (up to PostgreSQL's schema version)
//    and loaded with every row; pending migrations then run on the working copy and PostgreSQL is
//    rewritten to match in one transaction (so a migration added to db.ts needs nothing else).
//  - run: TEMP triggers note the key of every row a statement touches; between transactions those
//    rows are read back (their state as committed) and appended, in order, to a queue that one
//    connection writes to PostgreSQL — several local transactions in one PostgreSQL transaction
//    (group commit), so PostgreSQL always holds a prefix of the working copy's history.
//  - barrier(): resolves once everything committed so far is in PostgreSQL. The daemon awaits it
//    where it acts on the outside world (before a pipeline stage, before an answer, before an
//    event leaves the process), so a crash loses nothing anyone outside has seen or acted on.
//
// No PostgreSQL round trip ever runs on the daemon's hot path; the event loop only pays for the
// triggers and the read-back. One server per database: a session advisory lock.
import Database from 'better-sqlite3';
import pg from 'pg';
import { MIGRATIONS, migrate, type Db, type Migration } from '../db.js';
import {
  createTableSql,
  insertRowSql,
  keyExpr,
  pgColumns,
  pgKey,
  quoteIdent as q,
  rowByKeySql,
  selectRowsSql,
  tableShapes,
  type TableShape,
} from './shapes.js';

/** Where the state is made durable, and how to wait for it. */
export interface Durability {
  readonly kind: 'sqlite' | 'postgresql';
  /** where the state lives, never with a password */
  readonly location: string;
  /** Resolves once every change committed to the state so far is durable. */
  barrier(): Promise<void>;
  close(): Promise<void>;
}

interface Logger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

type Row = Record<string, unknown>;
interface Batch {
  no: number;
  /** table → row key (JSON) → the row as committed, or null when it is gone */
  tables: Map<string, Map<string, Row | null>>;
  meta: Map<string, string>;
}

export interface PgMirrorOptions {
  url: string;
  migrations?: readonly Migration[];
  log?: Logger;
  /** the writer cannot go on (another server took the database, PostgreSQL refused a row) */
  onFatal?: (err: Error) => void;
}

/** One aloft server per database (pg_try_advisory_lock's key; "aloft" in ASCII). */
const LOCK_KEY = '418581800564';
const CHUNK_ROWS = 2_000;
const quiet: Logger = { info: () => undefined, warn: () => undefined };

/** The writer cannot continue: retrying would not help. */
export class FatalStateError extends Error {}

/** `postgresql://user@host:port/db` — the URL without its password (for messages and logs). */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '';
    u.search = '';
    return u.toString().replace(/:@/, '@');
  } catch {
    return 'postgresql://(unparseable URL)';
  }
}

/** BIGINT and NUMERIC come back as numbers (pg's default is strings, to be exact past 2^53). */
const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === 20 || oid === 1700) return (v: string) => Number(v);
    return (pg.types.getTypeParser as (o: number, f?: string) => unknown)(oid, format);
  },
};

function toPg(v: unknown): unknown {
  if (Buffer.isBuffer(v)) return `\\x${v.toString('hex')}`;
  if (typeof v === 'bigint') return v.toString();
  return v;
}

function pgError(err: unknown): string {
  const e = err as { message?: string; code?: string };
  return `${e?.message ?? String(err)}${e?.code && /^[0-9A-Z]{5}$/.test(e.code) ? ` (SQLSTATE ${e.code})` : ''}`;
}

/** A data, constraint, syntax or feature error: the same write would fail again. */
function isFatal(err: unknown): boolean {
  if (err instanceof FatalStateError) return true;
  const code = (err as { code?: unknown })?.code;
  return typeof code === 'string' && /^(22|23|42|0A|2B)/.test(code);
}

/**
 * A connection holding the database's lock. `lockWaitMs`: on a reconnect the lock may still be
 * held by our own broken session until PostgreSQL notices it is gone, so wait that long for it.
 */
async function connectLocked(url: string, log: Logger, lockWaitMs = 0): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url, types, application_name: 'aloft' } as pg.ClientConfig);
  // A connection that breaks later must not crash the daemon; the writer reconnects.
  client.on('error', (err) => log.warn({ err: pgError(err) }, 'PostgreSQL connection error'));
  try {
    await client.connect();
  } catch (err) {
    await client.end().catch(() => undefined);
    throw new Error(`cannot reach PostgreSQL at ${redactUrl(url)}: ${pgError(err)}`);
  }
  const deadline = Date.now() + lockWaitMs;
  for (;;) {
    const { rows } = await client.query('SELECT pg_try_advisory_lock($1::bigint) AS ok', [LOCK_KEY]);
    if (rows[0]?.ok) return client;
    if (Date.now() >= deadline) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  await client.end().catch(() => undefined);
  throw new FatalStateError(`another aloft server uses the state in ${redactUrl(url)} (its advisory lock is held)`);
}

function upsertSql(t: TableShape): string {
  const cols = pgColumns(t).map((c) => q(c.name));
  const key = pgKey(t);
  const rest = pgColumns(t).filter((c) => !key.includes(c.name));
  const onConflict = rest.length
    ? `DO UPDATE SET ${rest.map((c) => `${q(c.name)} = EXCLUDED.${q(c.name)}`).join(', ')}`
    : 'DO NOTHING';
  return (
    `INSERT INTO ${q(t.name)} (${cols.join(', ')}) SELECT ${cols.join(', ')} FROM json_populate_recordset(NULL::${q(t.name)}, $1::json) ` +
    `ON CONFLICT (${key.map(q).join(', ')}) ${onConflict}`
  );
}

function deleteSql(t: TableShape): string {
  const on = pgKey(t)
    .map((k) => `x.${q(k)} = d.${q(k)}`)
    .join(' AND ');
  return `DELETE FROM ${q(t.name)} AS x USING json_populate_recordset(NULL::${q(t.name)}, $1::json) AS d WHERE ${on}`;
}

async function writeRows(client: pg.Client, sql: string, rows: Row[]): Promise<void> {
  for (let i = 0; i < rows.length; i += CHUNK_ROWS) {
    await client.query(sql, [JSON.stringify(rows.slice(i, i + CHUNK_ROWS))]);
  }
}

function pgRow(row: Row): Row {
  const out: Row = {};
  for (const [k, v] of Object.entries(row)) out[k] = toPg(v);
  return out;
}

async function readMeta(client: pg.Client): Promise<Map<string, string>> {
  const { rows } = await client.query('SELECT key, value FROM aloft_meta');
  return new Map(rows.map((r: { key: string; value: string }) => [r.key, r.value]));
}

async function putMeta(client: pg.Client, meta: Map<string, string>): Promise<void> {
  for (const [key, value] of meta) {
    await client.query('INSERT INTO aloft_meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value', [key, value]);
  }
}

function sequencesOf(db: Db): string | undefined {
  const exists = db.prepare(`SELECT 1 FROM main.sqlite_master WHERE name = 'sqlite_sequence'`).get();
  if (!exists) return undefined;
  return JSON.stringify(db.prepare('SELECT name, seq FROM main.sqlite_sequence ORDER BY name').all());
}

export class PgMirror implements Durability {
  readonly kind = 'postgresql' as const;
  readonly location: string;
  private shapes = new Map<string, TableShape>();
  private rowStmts = new Map<string, Database.Statement>();
  private readChanges: Database.Statement;
  private clearChanges: Database.Statement;
  private queue: Batch[] = [];
  private batchNo = 0;
  private durableNo = 0;
  private waiters: Array<{ no: number; resolve: () => void; reject: (e: Error) => void }> = [];
  private writing = false;
  private dirty = false;
  private scheduled = false;
  private closing = false;
  private fatal?: Error;
  private lastSequences: string | undefined;
  private client?: pg.Client;
  private readonly log: Logger;

  /** Connects, takes the database's lock, loads (and migrates) the state. */
  static async open(opts: PgMirrorOptions): Promise<PgMirror> {
    const log = opts.log ?? quiet;
    const migrations = opts.migrations ?? MIGRATIONS;
    const client = await connectLocked(opts.url, log);
    const db = new Database(':memory:');
    try {
      await client.query('CREATE TABLE IF NOT EXISTS aloft_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)');
      const meta = await readMeta(client);
      const version = Number(meta.get('schema_version') ?? '0');
      if (version > migrations.length) {
        throw new Error(`state schema v${version} in PostgreSQL is newer than this aloft understands (v${migrations.length}); upgrade aloft`);
      }
      migrate(db, version, migrations);
      const before = tableShapes(db);
      await load(client, db, before, meta.get('sqlite_sequence'));
      if (version < migrations.length) {
        migrate(db, migrations.length, migrations);
        await rewrite(client, db, before, tableShapes(db), migrations.length);
        log.info({ from: version, to: migrations.length }, 'PostgreSQL state migrated');
      }
      return new PgMirror(opts, log, client, db);
    } catch (err) {
      db.close();
      await client.end().catch(() => undefined);
      if (err instanceof FatalStateError || /^cannot reach PostgreSQL/.test((err as Error).message)) throw err;
      throw new Error(`PostgreSQL state at ${redactUrl(opts.url)}: ${pgError(err)}`);
    }
  }

  private constructor(
    private readonly opts: PgMirrorOptions,
    log: Logger,
    client: pg.Client,
    readonly db: Db,
  ) {
    this.log = log;
    this.location = redactUrl(opts.url);
    this.watch(client);
    this.lastSequences = sequencesOf(db);
    for (const t of tableShapes(db)) this.shapes.set(t.name, t);
    db.function('aloft_dirty', { deterministic: false }, () => {
      this.markDirty();
      return null;
    });
    db.exec('CREATE TEMP TABLE aloft_changes (tbl TEXT NOT NULL, k TEXT NOT NULL)');
    for (const t of this.shapes.values()) {
      const lit = `'${t.name.replace(/'/g, "''")}'`;
      const note = (row: 'NEW' | 'OLD') => `INSERT INTO aloft_changes VALUES (${lit}, ${keyExpr(t, row)});`;
      const on = `ON main.${q(t.name)}`;
      db.exec(`
        CREATE TEMP TRIGGER ${q(`aloft_i_${t.name}`)} AFTER INSERT ${on} BEGIN ${note('NEW')} SELECT aloft_dirty(); END;
        CREATE TEMP TRIGGER ${q(`aloft_u_${t.name}`)} AFTER UPDATE ${on} BEGIN ${note('OLD')} ${note('NEW')} SELECT aloft_dirty(); END;
        CREATE TEMP TRIGGER ${q(`aloft_d_${t.name}`)} AFTER DELETE ${on} BEGIN ${note('OLD')} SELECT aloft_dirty(); END;
      `);
    }
    this.readChanges = db.prepare('SELECT DISTINCT tbl, k FROM aloft_changes');
    this.clearChanges = db.prepare('DELETE FROM aloft_changes');
  }

  private watch(client: pg.Client): void {
    this.client = client;
    client.on('end', () => {
      if (this.client === client) this.client = undefined;
    });
  }

  barrier(): Promise<void> {
    if (this.fatal) return Promise.reject(this.fatal);
    this.capture();
    // Changes made inside a transaction still open (a barrier asked for from within one) are
    // captured with the next batch.
    const target = this.dirty ? this.batchNo + 1 : this.batchNo;
    if (this.durableNo >= target) return Promise.resolve();
    return new Promise((resolve, reject) => this.waiters.push({ no: target, resolve, reject }));
  }

  async close(): Promise<void> {
    this.closing = true;
    await Promise.race([this.barrier().catch(() => undefined), new Promise((r) => setTimeout(r, 10_000).unref())]);
    const c = this.client;
    this.client = undefined;
    await c?.end().catch(() => undefined);
    try {
      this.db.close();
    } catch {
      /* closed already */
    }
  }

  private markDirty(): void {
    this.dirty = true;
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.capture();
    });
  }

  /** Reads the rows touched since the last capture, as committed, into the next batch. */
  private capture(): void {
    if (!this.dirty || !this.db.open) return;
    if (this.db.inTransaction) {
      // Only committed state may leave: look again once the transaction is over.
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => {
          this.scheduled = false;
          this.capture();
        });
      }
      return;
    }
    this.dirty = false;
    const changed = this.readChanges.all() as Array<{ tbl: string; k: string }>;
    this.clearChanges.run();
    const batch: Batch = { no: ++this.batchNo, tables: new Map(), meta: new Map() };
    for (const { tbl, k } of changed) {
      const t = this.shapes.get(tbl);
      if (!t) continue;
      let stmt = this.rowStmts.get(tbl);
      if (!stmt) {
        stmt = this.db.prepare(rowByKeySql(t));
        this.rowStmts.set(tbl, stmt);
      }
      let rows = batch.tables.get(tbl);
      if (!rows) batch.tables.set(tbl, (rows = new Map()));
      rows.set(k, (stmt.get(...(JSON.parse(k) as unknown[])) as Row | undefined) ?? null);
    }
    const seqs = sequencesOf(this.db);
    if (seqs !== this.lastSequences && seqs !== undefined) {
      batch.meta.set('sqlite_sequence', seqs);
      this.lastSequences = seqs;
    }
    this.queue.push(batch);
    if (!this.writing) void this.writeLoop();
  }

  private async writeLoop(): Promise<void> {
    this.writing = true;
    try {
      while (this.queue.length > 0 && !this.fatal) {
        const batches = this.queue.splice(0, this.queue.length);
        const merged = mergeBatches(batches);
        try {
          if (merged.tables.size > 0 || merged.meta.size > 0) await this.commitWithRetry(merged);
        } catch (err) {
          this.fail(err as Error);
          return;
        }
        this.durableNo = batches[batches.length - 1]!.no;
        const ready = this.waiters.filter((w) => w.no <= this.durableNo);
        this.waiters = this.waiters.filter((w) => w.no > this.durableNo);
        for (const w of ready) w.resolve();
      }
    } finally {
      this.writing = false;
    }
  }

  private async commitWithRetry(batch: Batch): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        if (!this.client) this.watch(await connectLocked(this.opts.url, this.log, 60_000));
        await commit(this.client!, this.shapes, batch);
        if (attempt > 0) this.log.info({ attempts: attempt + 1 }, 'PostgreSQL state written again');
        return;
      } catch (err) {
        if (isFatal(err)) throw err instanceof FatalStateError ? err : new FatalStateError(`PostgreSQL refused the state: ${pgError(err)}`);
        if (attempt === 0 || attempt % 20 === 0) {
          this.log.warn({ err: pgError(err), at: this.location, attempt }, 'cannot write the state to PostgreSQL; retrying');
        }
        const c = this.client;
        this.client = undefined;
        await c?.end().catch(() => undefined);
        if (this.closing && attempt >= 3) throw new FatalStateError(`PostgreSQL unreachable while stopping: ${pgError(err)}`);
        await new Promise((r) => setTimeout(r, Math.min(5_000, 50 * 2 ** attempt)));
      }
    }
  }

  private fail(err: Error): void {
    this.fatal = err;
    const waiting = this.waiters;
    this.waiters = [];
    for (const w of waiting) w.reject(err);
    this.opts.onFatal?.(err);
  }
}

function mergeBatches(batches: Batch[]): Batch {
  if (batches.length === 1) return batches[0]!;
  const out: Batch = { no: batches[batches.length - 1]!.no, tables: new Map(), meta: new Map() };
  for (const b of batches) {
    for (const [tbl, rows] of b.tables) {
      let into = out.tables.get(tbl);
      if (!into) out.tables.set(tbl, (into = new Map()));
      for (const [k, row] of rows) into.set(k, row);
    }
    for (const [k, v] of b.meta) out.meta.set(k, v);
  }
  return out;
}

async function commit(client: pg.Client, shapes: Map<string, TableShape>, batch: Batch): Promise<void> {
  await client.query('BEGIN');
  try {
    for (const [tbl, rows] of batch.tables) {
      const t = shapes.get(tbl)!;
      const key = pgKey(t);
      const ups: Row[] = [];
      const dels: Row[] = [];
      for (const [k, row] of rows) {
        if (row) ups.push(pgRow(row));
        else {
          const values = JSON.parse(k) as unknown[];
          dels.push(Object.fromEntries(key.map((c, i) => [c, values[i]])));
        }
      }
      if (dels.length) await writeRows(client, deleteSql(t), dels);
      if (ups.length) await writeRows(client, upsertSql(t), ups);
    }
    await putMeta(client, batch.meta);
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

async function load(client: pg.Client, db: Db, shapes: TableShape[], sequences: string | undefined): Promise<void> {
  for (const t of shapes) {
    const cols = pgColumns(t).map((c) => q(c.name));
    const res = await client.query({ text: `SELECT ${cols.join(', ')} FROM ${q(t.name)}`, rowMode: 'array' });
    const insert = db.prepare(insertRowSql(t));
    db.transaction(() => {
      for (const r of res.rows as unknown[][]) insert.run(...r);
    })();
  }
  if (sequences) {
    const upd = db.prepare('UPDATE main.sqlite_sequence SET seq = max(seq, ?) WHERE name = ?');
    const ins = db.prepare('INSERT INTO main.sqlite_sequence (name, seq) SELECT ?, ? WHERE NOT EXISTS (SELECT 1 FROM main.sqlite_sequence WHERE name = ?)');
    for (const s of JSON.parse(sequences) as Array<{ name: string; seq: number }>) {
      upd.run(s.seq, s.name);
      ins.run(s.name, s.seq, s.name);
    }
  }
}

/** After migrations: PostgreSQL's tables replaced by the working copy's, in one transaction. */
async function rewrite(client: pg.Client, db: Db, before: TableShape[], after: TableShape[], version: number): Promise<void> {
  await client.query('BEGIN');
  try {
    for (const t of before) await client.query(`DROP TABLE IF EXISTS ${q(t.name)}`);
    for (const t of after) {
      await client.query(createTableSql(t));
      const rows = (db.prepare(selectRowsSql(t)).all() as Row[]).map(pgRow);
      const cols = pgColumns(t).map((c) => q(c.name));
      await writeRows(client, `INSERT INTO ${q(t.name)} (${cols.join(', ')}) SELECT ${cols.join(', ')} FROM json_populate_recordset(NULL::${q(t.name)}, $1::json)`, rows);
    }
    const meta = new Map([['schema_version', String(version)]]);
    const seqs = sequencesOf(db);
    if (seqs) meta.set('sqlite_sequence', seqs);
    await putMeta(client, meta);
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}
