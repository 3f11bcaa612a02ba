// The fake's etcd: every object by resource and namespace/name, one resourceVersion counter, and
// a bounded history of changes so a watch can resume from a resourceVersion (older than the
// history → 410 Gone, like a compacted etcd).
import { randomUUID } from 'node:crypto';

/* eslint-disable @typescript-eslint/no-explicit-any */
export interface Meta {
  name: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  creationTimestamp?: string;
  generateName?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  deletionTimestamp?: string;
  deletionGracePeriodSeconds?: number;
  finalizers?: string[];
  ownerReferences?: unknown[];
  generation?: number;
  [k: string]: unknown;
}
export interface KObj {
  apiVersion: string;
  kind: string;
  metadata: Meta;
  spec?: any;
  status?: any;
  [k: string]: any;
}

export type ChangeType = 'ADDED' | 'MODIFIED' | 'DELETED';
export interface Change {
  type: ChangeType;
  resource: string;
  object: KObj;
  rv: number;
}

/** An error answered as a metav1.Status. */
export class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }
  static notFound(resource: string, name: string, group = ''): ApiError {
    return new ApiError(404, 'NotFound', `${resource}${group ? '.' + group : ''} "${name}" not found`, { name, kind: resource, ...(group ? { group } : {}) });
  }
  static exists(resource: string, name: string, group = ''): ApiError {
    return new ApiError(409, 'AlreadyExists', `${resource}${group ? '.' + group : ''} "${name}" already exists`, { name, kind: resource, ...(group ? { group } : {}) });
  }
  static conflict(resource: string, name: string): ApiError {
    return new ApiError(409, 'Conflict', `Operation cannot be fulfilled on ${resource} "${name}": the object has been modified; please apply your changes to the latest version and try again`, { name, kind: resource });
  }
  static invalid(kind: string, name: string, causes: { field: string; message: string; reason?: string }[]): ApiError {
    const msg = causes.map((c) => `${c.field}: ${c.message}`).join(', ');
    return new ApiError(422, 'Invalid', `${kind} "${name}" is invalid: ${causes.length > 1 ? '[' + msg + ']' : msg}`, {
      name,
      kind,
      causes: causes.map((c) => ({ reason: c.reason ?? 'FieldValueInvalid', message: c.message, field: c.field })),
    });
  }
  static badRequest(message: string): ApiError {
    return new ApiError(400, 'BadRequest', message);
  }
  toStatus(): Record<string, unknown> {
    return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: this.message, reason: this.reason, ...(this.details ? { details: this.details } : {}), code: this.code };
  }
}

export const clone = <T>(o: T): T => structuredClone(o);
export const now = (): string => new Date().toISOString().replace(/\.\d+Z$/, 'Z');

export class Store {
  private rv = 1000;
  private readonly data = new Map<string, Map<string, KObj>>();
  private readonly history: Change[] = [];
  private readonly listeners = new Set<(c: Change) => void>();
  constructor(private readonly historyMax = 20_000) {}

  get resourceVersion(): string {
    return String(this.rv);
  }

  private table(resource: string): Map<string, KObj> {
    let t = this.data.get(resource);
    if (!t) this.data.set(resource, (t = new Map()));
    return t;
  }
  private static key(ns: string | undefined, name: string): string {
    return ns ? `${ns}/${name}` : name;
  }

  get(resource: string, ns: string | undefined, name: string): KObj | undefined {
    const o = this.table(resource).get(Store.key(ns, name));
    return o && clone(o);
  }

  /** In key order, like etcd's range reads. */
  list(resource: string, ns?: string): KObj[] {
    const out: KObj[] = [];
    for (const [k, o] of [...this.table(resource)].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      if (ns === undefined || k.startsWith(ns + '/')) out.push(clone(o));
    }
    return out;
  }

  create(resource: string, obj: KObj): KObj {
    const t = this.table(resource);
    const k = Store.key(obj.metadata.namespace, obj.metadata.name);
    if (t.has(k)) throw ApiError.exists(resource, obj.metadata.name);
    const o = clone(obj);
    o.metadata.uid ??= randomUUID();
    o.metadata.creationTimestamp ??= now();
    o.metadata.resourceVersion = String(++this.rv);
    t.set(k, o);
    this.emit({ type: 'ADDED', resource, object: clone(o), rv: this.rv });
    return clone(o);
  }

  /** Replaces an object; the caller has checked resourceVersion preconditions. */
  put(resource: string, obj: KObj): KObj {
    const t = this.table(resource);
    const k = Store.key(obj.metadata.namespace, obj.metadata.name);
    const old = t.get(k);
    if (!old) throw ApiError.notFound(resource, obj.metadata.name);
    const o = clone(obj);
    o.metadata.uid = old.metadata.uid;
    o.metadata.creationTimestamp = old.metadata.creationTimestamp;
    o.metadata.resourceVersion = String(++this.rv);
    t.set(k, o);
    this.emit({ type: 'MODIFIED', resource, object: clone(o), rv: this.rv });
    return clone(o);
  }

  /** Changes an object in place; `fn` returning false means "no change" (no new resourceVersion). */
  mutate(resource: string, ns: string | undefined, name: string, fn: (o: KObj) => void | boolean): KObj | undefined {
    const cur = this.table(resource).get(Store.key(ns, name));
    if (!cur) return undefined;
    const o = clone(cur);
    if (fn(o) === false) return clone(cur);
    if (JSON.stringify(o) === JSON.stringify(cur)) return clone(cur);
    return this.put(resource, o);
  }

  remove(resource: string, ns: string | undefined, name: string): KObj | undefined {
    const t = this.table(resource);
    const k = Store.key(ns, name);
    const old = t.get(k);
    if (!old) return undefined;
    t.delete(k);
    const o = clone(old);
    o.metadata.resourceVersion = String(++this.rv);
    this.emit({ type: 'DELETED', resource, object: clone(o), rv: this.rv });
    return o;
  }

  subscribe(fn: (c: Change) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Changes after `rv`, or 'gone' when the history no longer reaches back that far. */
  changesSince(rv: number): Change[] | 'gone' {
    if (rv >= this.rv) return [];
    const first = this.history[0];
    if (!first || first.rv > rv + 1) return 'gone';
    return this.history.filter((c) => c.rv > rv);
  }

  private emit(c: Change): void {
    this.history.push(c);
    if (this.history.length > this.historyMax) this.history.splice(0, this.history.length - this.historyMax);
    for (const l of [...this.listeners]) l(c);
  }
}
