// Opens the daemon's state: the SQLite file in ALOFT_HOME (the default), or, with
// `db: postgresql://…` in the server's config, PostgreSQL behind an in-memory working copy
// (pg-mirror.ts). Either way the Store gets one synchronous better-sqlite3 handle.
import { openDatabase, type Db } from '../db.js';
import type { Durability } from './pg-mirror.js';

export interface OpenedState {
  db: Db;
  durability: Durability;
}

export async function openState(opts: {
  /** the SQLite state file (unused with PostgreSQL) */
  file: string;
  /** `postgresql://…` */
  url?: string;
  log?: { info(o: object, m?: string): void; warn(o: object, m?: string): void };
  onFatal?: (err: Error) => void;
}): Promise<OpenedState> {
  if (opts.url) {
    // pg loads only when PostgreSQL state is configured.
    const { PgMirror } = await import('./pg-mirror.js');
    const mirror = await PgMirror.open({ url: opts.url, log: opts.log, onFatal: opts.onFatal });
    return { db: mirror.db, durability: mirror };
  }
  const db = openDatabase(opts.file);
  return { db, durability: sqliteDurability(db, opts.file) };
}

/** A committed SQLite transaction is already durable across a process crash (WAL). */
export function sqliteDurability(db: Db, file: string): Durability {
  return {
    kind: 'sqlite',
    location: file,
    barrier: () => Promise.resolve(),
    close: async () => {
      try {
        db.close();
      } catch {
        /* closed already */
      }
    },
  };
}
