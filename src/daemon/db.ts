// Opens the state database (better-sqlite3, WAL) and brings its schema up to date.
// Records are stored as JSON next to the few columns we query by, so adding a field to a
// record needs no migration; migrations are for tables and indexes.

import { chmodSync, closeSync, openSync } from 'node:fs';
import Database from 'better-sqlite3';

type Db = Database.Database;
export type Migration = (db: Db) => void;

/**
 * The one schema history, for both state backends: SQLite runs it on the state file; with
 * `db: postgresql://…` it runs on the in-memory working copy and PostgreSQL mirrors the resulting
 * tables (src/daemon/state/pg-mirror.ts), so a migration added here needs nothing else.
 */
export const MIGRATIONS: Migration[] = [
  (db) => {
    db.exec(`
      CREATE TABLE clusters (
        name TEXT PRIMARY KEY,
        uid TEXT NOT NULL,
        status TEXT NOT NULL,
        record TEXT NOT NULL,
        internal TEXT NOT NULL DEFAULT '{}',
        updated_at INTEGER NOT NULL
      );
      CREATE TABLE jobs (
        cluster_uid TEXT NOT NULL,
        id INTEGER NOT NULL,
        cluster TEXT NOT NULL,
        status TEXT NOT NULL,
        submitted_at INTEGER NOT NULL,
        record TEXT NOT NULL,
        log_path TEXT,
        PRIMARY KEY (cluster_uid, id)
      );
      CREATE INDEX jobs_by_cluster ON jobs (cluster, submitted_at);
      CREATE TABLE requests (
        id TEXT PRIMARY KEY,
        cluster TEXT NOT NULL,
        kind TEXT NOT NULL,
        status TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        record TEXT NOT NULL
      );
      CREATE INDEX requests_by_status ON requests (status, created_at);
      CREATE TABLE events (
        seq INTEGER PRIMARY KEY,
        ts INTEGER NOT NULL,
        kind TEXT NOT NULL,
        body TEXT NOT NULL
      );
    `);
  },
  (db) => {
    db.exec(`
      CREATE TABLE managed_jobs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        status TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        record TEXT NOT NULL,
        task TEXT NOT NULL
      );
      CREATE INDEX managed_by_status ON managed_jobs (status);
    `);
  },
  (db) => {
    // The task of each launch request and each job as submitted, secrets redacted (describe).
    db.exec(`
      CREATE TABLE submitted_tasks (
        key TEXT PRIMARY KEY,
        task TEXT NOT NULL,
        created_at INTEGER NOT NULL
      );
    `);
  },
  (db) => {
    // Every incarnation of a cluster, kept after `down` (cost-report): the last record seen and
    // its billed intervals [[start, end | null], ...] (open while the cluster is not STOPPED).
    db.exec(`
      CREATE TABLE cluster_history (
        uid TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        launched_at INTEGER NOT NULL,
        ended_at INTEGER,
        intervals TEXT NOT NULL,
        record TEXT NOT NULL
      );
      CREATE INDEX cluster_history_by_launch ON cluster_history (launched_at);
    `);
    // Clusters alive at the upgrade: billed from their launch (stopped ones from now on).
    const now = Date.now();
    const insert = db.prepare('INSERT OR IGNORE INTO cluster_history (uid, name, launched_at, intervals, record) VALUES (?, ?, ?, ?, ?)');
    for (const row of db.prepare('SELECT uid, name, status, record FROM clusters').all() as Array<{ uid: string; name: string; status: string; record: string }>) {
      const rec = JSON.parse(row.record) as { launchedAt?: number };
      const start = rec.launchedAt ?? now;
      insert.run(row.uid, row.name, start, JSON.stringify(row.status === 'STOPPED' ? [] : [[start, null]]), row.record);
    }
  },
  (db) => {
    // buckets aloft created (file_mounts `name:` that did not exist): `aloft storage ls / delete`
    db.exec(`
      CREATE TABLE storage (
        name TEXT NOT NULL,
        store TEXT NOT NULL,
        status TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        record TEXT NOT NULL,
        PRIMARY KEY (name, store)
      );
    `);
  },
  (db) => {
    // Services (SkyServe): one row each (replicas inside the record), and each version's task as
    // submitted (secret values redacted; they live in a 0600 file while the service does).
    db.exec(`
      CREATE TABLE services (
        name TEXT PRIMARY KEY,
        status TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        record TEXT NOT NULL
      );
      CREATE TABLE service_versions (
        service TEXT NOT NULL,
        version INTEGER NOT NULL,
        task TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        PRIMARY KEY (service, version)
      );
    `);
  },
  (db) => {
    // Team mode (src/daemon/team): users, their bearer tokens (SHA-256 of the token, never the
    // token), and who launched / stopped / downed what.
    db.exec(`
      CREATE TABLE users (
        name TEXT PRIMARY KEY,
        role TEXT NOT NULL,
        created_at INTEGER NOT NULL
      );
      CREATE TABLE api_tokens (
        id TEXT PRIMARY KEY,
        hash TEXT NOT NULL UNIQUE,
        user_name TEXT NOT NULL,
        label TEXT,
        created_at INTEGER NOT NULL,
        last_used_at INTEGER,
        revoked_at INTEGER
      );
      CREATE TABLE audit_log (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        ts INTEGER NOT NULL,
        user_name TEXT NOT NULL,
        action TEXT NOT NULL,
        target TEXT NOT NULL,
        detail TEXT
      );
    `);
  },
];

export function openDatabase(path: string): Db {
  // Private from the start: SQLite gives -wal and -shm the database file's mode. Files of an
  // older aloft (0644) are tightened too.
  try {
    closeSync(openSync(path, 'a', 0o600));
  } catch {
    /* not a file we can create: SQLite says why, below */
  }
  for (const f of [path, `${path}-wal`, `${path}-shm`]) {
    try {
      chmodSync(f, 0o600);
    } catch {
      /* not there (yet) */
    }
  }
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  // NORMAL is durable across process crashes in WAL mode (only an OS crash can lose the tail).
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  migrate(db);
  return db;
}

/**
 * Brings the schema up to `target` (default: the newest) of `migrations` (default: aloft's); tests
 * stop earlier to build old databases, and the PostgreSQL tests pass a history of their own.
 */
export function migrate(db: Db, target?: number, migrations: readonly Migration[] = MIGRATIONS): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > migrations.length) {
    throw new Error(
      `state database schema v${current} is newer than this aloft understands (v${migrations.length}); upgrade aloft`,
    );
  }
  for (let v = current; v < Math.min(target ?? migrations.length, migrations.length); v++) {
    db.transaction(() => {
      migrations[v]!(db);
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
}

export type { Db };
