// The audit log: who launched, stopped, downed, cancelled… what, from where, and whether it was
// allowed. Written at the API boundary for every method that is not read-only (a method added
// later is audited unless declared read-only here), in the state database (so PostgreSQL has it).
import type Database from 'better-sqlite3';
import type { AuditRecord } from '../../protocol/api.js';
import type { Db } from '../db.js';
import type { Caller } from './caller.js';

/** One audit line: the API's record of it (`aloft api audit -o json`). */
export type AuditEntry = AuditRecord;

/** API methods that change nothing: not audited. */
export const READ_ONLY_METHODS: ReadonlySet<string> = new Set([
  'info', 'whoami', 'status', 'queue', 'requests', 'snapshot', 'describe', 'plan', 'jobsQueue', 'nodeIps',
  'usersList', 'tokensList', 'audit', 'check',
]);

const list = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : []);

/** What a call was about, from its parameters and answer: clusters, jobs, users, tokens. */
export function auditTarget(params: unknown, result: unknown): string {
  const p = (params ?? {}) as Record<string, unknown>;
  const r = (result ?? {}) as Record<string, unknown>;
  const parts: string[] = [];
  const clusters = [...new Set([...(typeof p.cluster === 'string' ? [p.cluster] : []), ...list(p.clusters), ...(typeof r.cluster === 'string' ? [r.cluster] : []), ...list(r.clusters)])];
  if (clusters.length) parts.push(clusters.join(','));
  const jobs = [...list(p.jobIds), ...(typeof r.jobId === 'number' ? [String(r.jobId)] : [])];
  if (jobs.length) parts.push(`job ${jobs.join(',')}`);
  const managed = [...list(p.ids), ...(r.job && typeof (r.job as { id?: unknown }).id === 'number' ? [String((r.job as { id: number }).id)] : [])];
  if (managed.length) parts.push(`managed job ${managed.join(',')}`);
  if (typeof p.name === 'string') parts.push(`name ${p.name}`);
  if (typeof p.user === 'string') parts.push(`user ${p.user}`);
  if (typeof p.id === 'string') parts.push(`token ${p.id}`);
  if (p.all === true) parts.push('--all');
  if (p.allUsers === true) parts.push('--all-users');
  return parts.join(' ') || '-';
}

export class AuditLog {
  private readonly insert: Database.Statement;
  private readonly recent: Database.Statement;

  constructor(db: Db) {
    this.insert = db.prepare('INSERT INTO audit_log (ts, user_name, action, target, detail) VALUES (?, ?, ?, ?, ?)');
    this.recent = db.prepare('SELECT seq, ts, user_name, action, target, detail FROM audit_log ORDER BY seq DESC LIMIT ?');
  }

  record(caller: Caller, action: string, target: string, outcome: AuditEntry['outcome'], error?: string): void {
    const detail = { outcome, ...(caller.address ? { address: caller.address } : {}), ...(error ? { error: error.slice(0, 300) } : {}) };
    this.insert.run(Date.now(), caller.user, action, target, JSON.stringify(detail));
  }

  /** Newest first. */
  list(limit = 100): AuditEntry[] {
    return (this.recent.all(limit) as Array<{ seq: number; ts: number; user_name: string; action: string; target: string; detail: string | null }>).map(
      (r) => ({ seq: r.seq, ts: r.ts, user: r.user_name, action: r.action, target: r.target, ...(JSON.parse(r.detail ?? '{}') as { outcome: AuditEntry['outcome'] }) }),
    );
  }
}
