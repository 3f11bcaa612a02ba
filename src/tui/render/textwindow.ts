// The rows a text view shows, as a pure function of the lines and the view's settings: only the
// lines on screen are touched, whatever the log's size; each row comes out already fitted to the
// terminal's width, with the search's hits marked, so nothing downstream measures or wraps text.
import type { TextLog } from '../state/textlog.js';
import type { LineIndex, Query } from '../state/lineindex.js';
import { matchRanges } from '../state/lineindex.js';
import { formatClock } from './format.js';
import { rowStarts, truncateColumns } from './width.js';

/** The sequence of lines a view walks: the whole log, or the lines an index kept. */
export interface LineSource {
  readonly length: number;
  text(k: number): string;
  ts(k: number): number;
  meta(k: number): boolean;
  /** absolute line number (undefined for a line of the view's own, like the head note) */
  abs(k: number): number | undefined;
  /** position of the first line at or after absolute line `a` */
  positionOf(a: number): number;
}

export function allLines(log: TextLog): LineSource {
  return {
    length: log.length,
    text: (k) => log.text(k),
    ts: (k) => log.ts(k),
    meta: (k) => log.meta(k),
    abs: (k) => log.abs(k),
    positionOf: (a) => Math.max(0, a - log.dropped),
  };
}

export function indexedLines(log: TextLog, index: LineIndex): LineSource {
  return {
    length: index.length(log),
    text: (k) => log.text(index.at(log, k)),
    ts: (k) => log.ts(index.at(log, k)),
    meta: (k) => log.meta(index.at(log, k)),
    abs: (k) => log.abs(index.at(log, k)),
    positionOf: (a) => index.rankOf(a),
  };
}

/** `src` with one of aloft's own lines first ("… 2,000 earlier lines not kept"). */
export function withHead(src: LineSource, head: string): LineSource {
  return {
    length: src.length + 1,
    text: (k) => (k === 0 ? head : src.text(k - 1)),
    ts: (k) => (k === 0 ? 0 : src.ts(k - 1)),
    meta: (k) => (k === 0 ? true : src.meta(k - 1)),
    abs: (k) => (k === 0 ? undefined : src.abs(k - 1)),
    positionOf: (a) => 1 + src.positionOf(a),
  };
}

export interface TextWindowOpts {
  height: number;
  width: number;
  wrap: boolean;
  /** stick to the end (autoscroll) */
  follow: boolean;
  /** first line shown when not following (a position in the source) */
  top: number;
  /** prefix each line with its arrival time */
  stamps: boolean;
  /** the search, whose hits are marked */
  query?: Query;
  /** the search's current hit (absolute line number): marked apart */
  current?: number;
}

export interface TextRow {
  /** fitted to the width; never wider */
  text: string;
  meta: boolean;
  /** search hits in this row: [start, end) offsets into `text` */
  hits: Array<[number, number]>;
  /** the row belongs to the current hit's line */
  current: boolean;
  /** position of its line in the source */
  pos: number;
}

export interface TextWindow {
  rows: TextRow[];
  /** position of the first line shown */
  top: number;
  /** the last line of the source is on screen */
  atEnd: boolean;
}

/** Visual rows of one line: 1 row (cut with an ellipsis) or, wrapped, as many as it takes. */
function linesRows(src: LineSource, k: number, o: TextWindowOpts, maxRows: number): TextRow[] {
  const meta = src.meta(k);
  const ts = src.ts(k);
  const prefix = o.stamps && !(meta && !ts) ? `${formatClock(ts)} ` : '';
  const full = prefix + src.text(k);
  const abs = src.abs(k);
  const current = abs !== undefined && abs === o.current;
  const hitsOf = (from: number, to: number): Array<[number, number]> => {
    if (!o.query || meta) return [];
    const out: Array<[number, number]> = [];
    for (const [s, e] of matchRanges(o.query, full)) {
      if (s < prefix.length) continue;
      const a = Math.max(s, from);
      const b = Math.min(e, to);
      if (a < b) out.push([a - from, b - from]);
    }
    return out;
  };
  if (!o.wrap) {
    const text = truncateColumns(full, o.width);
    // a hit cut by the ellipsis is marked up to it
    const cut = text.length < full.length ? text.length - 1 : text.length;
    return [{ text, meta, hits: hitsOf(0, cut), current, pos: k }];
  }
  const starts = rowStarts(full, o.width, maxRows === Infinity ? Infinity : Math.max(1, maxRows));
  return starts.map((s, i) => {
    const e = starts[i + 1] ?? full.length;
    return { text: full.slice(s, e), meta, hits: hitsOf(s, e), current, pos: k };
  });
}

/** A huge single line (a progress bar without newlines) wraps into at most this many rows. */
const FOLLOW_MAX_ROWS_PER_LINE = 500;

export function textWindow(src: LineSource, o: TextWindowOpts): TextWindow {
  const n = src.length;
  const rows: TextRow[] = [];
  if (n === 0 || o.height <= 0) return { rows, top: 0, atEnd: true };
  if (o.follow) {
    let k = n - 1;
    const chunks: TextRow[][] = [];
    let got = 0;
    for (; k >= 0 && got < o.height; k--) {
      const r = linesRows(src, k, o, FOLLOW_MAX_ROWS_PER_LINE);
      chunks.push(r);
      got += r.length;
    }
    for (let i = chunks.length - 1; i >= 0; i--) rows.push(...chunks[i]!);
    if (rows.length > o.height) rows.splice(0, rows.length - o.height);
    return { rows, top: rows[0]?.pos ?? 0, atEnd: true };
  }
  let top = Math.max(0, Math.min(o.top, n - 1));
  let k = top;
  for (; k < n && rows.length < o.height; k++) rows.push(...linesRows(src, k, o, o.height - rows.length));
  // The end shows before the screen is full (a filter left few lines below the top): pull lines
  // in from above, as `less` does, rather than show empty rows under text that could be seen.
  while (k >= n && rows.length < o.height && top > 0) {
    const above = linesRows(src, top - 1, o, FOLLOW_MAX_ROWS_PER_LINE);
    if (rows.length + above.length > o.height) break;
    rows.unshift(...above);
    top--;
  }
  rows.length = Math.min(rows.length, o.height);
  return { rows, top, atEnd: k >= n };
}
