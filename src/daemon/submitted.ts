// The task each launch request and each job was submitted with, secrets redacted before they are
// written (the values never reach the database): what `describe` shows as "the task as submitted".
import type { Task } from '../spec/types.js';
import { redactSecrets } from '../spec/redact.js';
import type { Db } from './db.js';

export const requestTaskKey = (id: string): string => `request:${id}`;
export const jobTaskKey = (clusterUid: string, id: number): string => `job:${clusterUid}/${id}`;

const statements = new WeakMap<Db, { put: import('better-sqlite3').Statement; get: import('better-sqlite3').Statement }>();

function stmts(db: Db) {
  let s = statements.get(db);
  if (!s) {
    s = {
      put: db.prepare('INSERT INTO submitted_tasks (key, task, created_at) VALUES (?, ?, ?) ON CONFLICT(key) DO UPDATE SET task = excluded.task'),
      get: db.prepare('SELECT task FROM submitted_tasks WHERE key = ?'),
    };
    statements.set(db, s);
  }
  return s;
}

export function recordTask(db: Db, key: string, task: Task): void {
  stmts(db).put.run(key, JSON.stringify(redactSecrets(task)), Date.now());
}

export function submittedTask(db: Db, key: string): Task | undefined {
  const row = stmts(db).get.get(key) as { task: string } | undefined;
  return row ? (JSON.parse(row.task) as Task) : undefined;
}
