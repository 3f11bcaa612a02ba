// The lines of a TextLog that pass a test (one rank, a search), kept up to date as lines arrive:
// each line is tested once, when it comes in, never again per frame. Positions are absolute line
// numbers, so an index stays right while the log drops its oldest lines.
import type { TextLog } from './textlog.js';

export type LinePredicate = (log: TextLog, i: number) => boolean;

export class LineIndex {
  private hits: number[] = [];
  /** first live entry of `hits` (older ones fell out of the log) */
  private from = 0;
  /** absolute number of the next complete line to test */
  private next = 0;

  constructor(readonly test: LinePredicate) {}

  /** Tests the lines that arrived since the last call. */
  sync(log: TextLog): this {
    const first = log.dropped;
    const end = first + log.complete;
    if (this.next < first) this.next = first;
    for (let a = this.next; a < end; a++) if (this.test(log, a - first)) this.hits.push(a);
    this.next = end;
    while (this.from < this.hits.length && this.hits[this.from]! < first) this.from++;
    // compact now and then, so dropping from the front stays amortized O(1)
    if (this.from > 4096 && this.from * 2 > this.hits.length) {
      this.hits = this.hits.slice(this.from);
      this.from = 0;
    }
    return this;
  }

  /** Matching lines, the unfinished last line included when it matches. */
  length(log: TextLog): number {
    return this.hits.length - this.from + (this.partialMatches(log) ? 1 : 0);
  }

  /** Log index of the k-th matching line. */
  at(log: TextLog, k: number): number {
    const n = this.hits.length - this.from;
    return k < n ? this.hits[this.from + k]! - log.dropped : log.complete;
  }

  /** How many complete matching lines come before absolute line `a` (binary search). */
  rankOf(a: number): number {
    let lo = this.from;
    let hi = this.hits.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.hits[mid]! < a) lo = mid + 1;
      else hi = mid;
    }
    return lo - this.from;
  }

  /** The complete matching lines kept (absolute numbers). */
  get count(): number {
    return this.hits.length - this.from;
  }

  /** Absolute number of the k-th complete matching line. */
  absAt(k: number): number | undefined {
    return k >= 0 && k < this.count ? this.hits[this.from + k] : undefined;
  }

  private partialMatches(log: TextLog): boolean {
    return log.length > log.complete && this.test(log, log.complete);
  }
}

/** A search as typed: smart case (lower case matches any case; a capital makes it exact). */
export interface Query {
  text: string;
  caseSensitive: boolean;
}

export function query(text: string): Query | undefined {
  return text ? { text, caseSensitive: text !== text.toLowerCase() } : undefined;
}

export function lineMatches(q: Query, line: string): boolean {
  return q.caseSensitive ? line.includes(q.text) : line.toLowerCase().includes(q.text.toLowerCase());
}

/** Where `q` occurs in `line`: [start, end) code-unit ranges. */
export function matchRanges(q: Query, line: string): Array<[number, number]> {
  const hay = q.caseSensitive ? line : line.toLowerCase();
  const needle = q.caseSensitive ? q.text : q.text.toLowerCase();
  const out: Array<[number, number]> = [];
  if (!needle) return out;
  for (let i = hay.indexOf(needle); i >= 0; i = hay.indexOf(needle, i + needle.length)) out.push([i, i + needle.length]);
  return out;
}
