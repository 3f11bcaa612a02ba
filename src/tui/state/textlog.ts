// The lines of a log (or any text a view shows), in a fixed ring: appending never copies what is
// kept, and a job printing forever costs constant memory. Everything a frame would otherwise redo
// for every line is done once, as lines arrive: colours and control bytes stripped, tabs
// expanded, progress-bar redraws (\r) reduced to what a terminal would finally show, and the
// `(head, rank=0, pid=N)` prefix of a gang job's line read into its rank.
import { stripAnsi } from '../render/format.js';

/** A gang job's line prefix: `(head, rank=0, pid=12) ` / `(worker1, rank=1, pid=9) `. */
const RANK_RE = /^\([^)]*\brank=(\d+)\b[^)]*\)/;
const TAB = 8;

/** Tabs to spaces at 8-column stops, as a terminal shows them (Ink would count a tab as nothing). */
export function expandTabs(s: string): string {
  if (!s.includes('\t')) return s;
  let out = '';
  for (const ch of s) out += ch === '\t' ? ' '.repeat(TAB - (out.length % TAB)) : ch;
  return out;
}

/** What a raw line becomes on screen: the last \r frame, no colours or control bytes, no tabs. */
export function cleanLine(raw: string): string {
  let text = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
  const cr = text.lastIndexOf('\r');
  if (cr >= 0) text = text.slice(cr + 1);
  return expandTabs(stripAnsi(text));
}

export function rankOf(text: string): number {
  const m = RANK_RE.exec(text);
  return m ? Number(m[1]) : -1;
}

export class TextLog {
  private readonly texts: string[];
  private readonly times: Float64Array;
  private readonly ranks: Int32Array;
  private readonly metas: Uint8Array;
  /** slot of the oldest kept line */
  private head = 0;
  private count = 0;
  private partial = '';
  private partialTs = 0;
  /** lines dropped from the front because of the bound: the absolute number of line 0 */
  dropped = 0;
  /** bumps on every change; views re-render when it moved */
  version = 0;

  constructor(readonly capacity = 10_000) {
    this.texts = new Array<string>(capacity);
    this.times = new Float64Array(capacity);
    this.ranks = new Int32Array(capacity);
    this.metas = new Uint8Array(capacity);
  }

  static of(lines: readonly string[], capacity = Math.max(1, lines.length)): TextLog {
    const log = new TextLog(capacity);
    for (const l of lines) log.push(l, 0, false);
    return log;
  }

  append(chunk: string, ts = Date.now()): void {
    if (!chunk) return;
    let from = 0;
    for (let nl = chunk.indexOf('\n'); nl >= 0; nl = chunk.indexOf('\n', from)) {
      const piece = chunk.slice(from, nl);
      this.push(cleanLine(this.partial + piece), this.partial ? this.partialTs : ts, false);
      this.partial = '';
      from = nl + 1;
    }
    if (from < chunk.length) {
      if (!this.partial) this.partialTs = ts;
      this.partial += chunk.slice(from);
    }
    this.version++;
  }

  /** A line of aloft's own (end marker, stream error), shown dimmed. */
  note(text: string, ts = Date.now()): void {
    if (this.partial) {
      this.push(cleanLine(this.partial), this.partialTs, false);
      this.partial = '';
    }
    this.push(text, ts, true);
    this.version++;
  }

  private push(text: string, ts: number, meta: boolean): void {
    let slot: number;
    if (this.count < this.capacity) slot = (this.head + this.count++) % this.capacity;
    else {
      slot = this.head;
      this.head = (this.head + 1) % this.capacity;
      this.dropped++;
    }
    this.texts[slot] = text;
    this.times[slot] = ts;
    this.ranks[slot] = meta ? -1 : rankOf(text);
    this.metas[slot] = meta ? 1 : 0;
  }

  /** Complete lines kept (the unfinished last line not counted). */
  get complete(): number {
    return this.count;
  }

  /** Complete lines, plus the unfinished last line as it is now. */
  get length(): number {
    return this.count + (this.partial ? 1 : 0);
  }

  /** Absolute number of the line at index `i` (stays with the line when older ones are dropped). */
  abs(i: number): number {
    return this.dropped + i;
  }

  text(i: number): string {
    return i < this.count ? this.texts[(this.head + i) % this.capacity]! : cleanLine(this.partial);
  }

  ts(i: number): number {
    return i < this.count ? this.times[(this.head + i) % this.capacity]! : this.partialTs;
  }

  rank(i: number): number {
    return i < this.count ? this.ranks[(this.head + i) % this.capacity]! : rankOf(cleanLine(this.partial));
  }

  meta(i: number): boolean {
    return i < this.count ? this.metas[(this.head + i) % this.capacity] === 1 : false;
  }
}
