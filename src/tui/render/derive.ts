// Incremental derivation of table rows: an event changes one record of 1,000, so a frame should
// not sort and format all 1,000 again. Results are exactly what a fresh computation gives.
import type { Row } from './table.js';

/**
 * `items` sorted by `cmp`, reusing `prev` (the previous result) when the same keys are still in
 * strictly increasing order under `cmp` — then a fresh sort could only give that order. Records
 * that changed are picked up from `items`; anything else (a key added or removed, a tie, a record
 * that moved) falls back to a full sort. O(n) instead of O(n log n) when nothing moved.
 */
export function sortReusing<T>(
  items: ReadonlyMap<string, T>,
  prev: readonly T[] | undefined,
  keyOf: (t: T) => string,
  cmp: (a: T, b: T) => number,
): T[] {
  if (prev && prev.length === items.size) {
    const out = new Array<T>(prev.length);
    let ok = true;
    for (let i = 0; i < prev.length; i++) {
      const cur = items.get(keyOf(prev[i]!));
      if (cur === undefined || (i > 0 && cmp(out[i - 1]!, cur) >= 0)) {
        ok = false;
        break;
      }
      out[i] = cur;
    }
    if (ok) return out;
  }
  return [...items.values()].sort(cmp);
}

/**
 * Caches one row per record object (records are immutable: a change is a new object). A row is
 * rebuilt when its record, `now` or its `dep` (another record it shows, compared with ===) differ
 * from last time.
 */
export class RowCache<T extends object, D = undefined> {
  private rows = new WeakMap<T, { now: number; dep: D; row: Row }>();
  private last: Row[] = [];

  constructor(private readonly build: (t: T, now: number, dep: D) => Row) {}

  row(t: T, now: number, dep: D): Row {
    const hit = this.rows.get(t);
    if (hit && hit.now === now && hit.dep === dep) return hit.row;
    const row = this.build(t, now, dep);
    this.rows.set(t, { now, dep, row });
    return row;
  }

  /** Rows for `items` in order; the previous array itself when every row is the same object. */
  rowsOf(items: readonly T[], now: number, depOf: (t: T) => D): Row[] {
    const out = new Array<Row>(items.length);
    let same = items.length === this.last.length;
    for (let i = 0; i < items.length; i++) {
      const r = this.row(items[i]!, now, depOf(items[i]!));
      out[i] = r;
      if (same && this.last[i] !== r) same = false;
    }
    if (same) return this.last;
    this.last = out;
    return out;
  }
}

/** `next` unless it equals `prev` element by element (keeps memoized children from re-rendering). */
export function sameOr<T>(prev: readonly T[] | undefined, next: T[]): T[] {
  if (prev && prev.length === next.length && prev.every((v, i) => v === next[i])) return prev as T[];
  return next;
}
