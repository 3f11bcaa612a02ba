// Table layout as pure functions: rows in, fixed-width segments out. Views never pad strings.
import type { Colour } from './colors.js';
import { fit } from './format.js';

export interface Column {
  title: string;
  align?: 'left' | 'right';
  /** never wider than this */
  max?: number;
  /** gives up width first when the terminal is narrow */
  flex?: boolean;
  /** may shrink to this, below its title's width (long titles over short values) */
  min?: number;
  /** never truncated or dropped while another column can give way (the name, the status) */
  keep?: boolean;
  /** how much the column is worth on a narrow terminal: lower gives way first. A column with a
   *  priority may be dropped altogether (width 0) once the flexible columns have shrunk. */
  priority?: number;
}

export interface Row {
  /** stable identity (cluster name, job id, request id ...) used for selection */
  key: string;
  cells: string[];
  /** colour of the cell at `colourCol` (the status) */
  colour?: Colour;
  colourCol?: number;
  dim?: boolean;
}

export interface Segment {
  text: string;
  colour?: Colour;
}

const GAP = 2;

export function columnWidths(columns: Column[], rows: readonly Row[], total: number): number[] {
  const widths = columns.map((c) => c.title.length);
  for (const r of rows) {
    for (let i = 0; i < columns.length; i++) {
      const len = r.cells[i]?.length ?? 0;
      if (len > widths[i]!) widths[i] = len;
    }
  }
  columns.forEach((c, i) => {
    if (c.max !== undefined && widths[i]! > c.max) widths[i] = Math.max(c.title.length, c.max);
  });
  const natural = [...widths];
  const shown = () => widths.filter((w) => w > 0).length;
  let used = widths.reduce((a, b) => a + b, 0) + GAP * (columns.length - 1);
  const floor = (i: number) => Math.min(natural[i]!, columns[i]!.min ?? Math.max(columns[i]!.title.length, 4));
  const shrink = (i: number) => {
    if (used <= total || widths[i] === 0) return;
    const take = Math.min(used - total, widths[i]! - floor(i));
    if (take > 0) {
      widths[i]! -= take;
      used -= take;
    }
  };
  const drop = (i: number) => {
    if (widths[i] === 0 || shown() <= 1) return;
    used -= widths[i]! + GAP;
    widths[i] = 0;
  };
  // Lowest value first; among equals, the rightmost.
  const prio = (i: number) => (columns[i]!.keep ? Infinity : (columns[i]!.priority ?? 0));
  const byValue = [...columns.keys()].sort((a, b) => prio(a) - prio(b) || b - a);
  // 1. flexible columns without a priority shrink; 2. columns with a priority give way, lowest
  // first (a flexible one shrinks, another is dropped); 3. the rest shrink; 4. the kept columns
  // (name, status) last of all.
  for (const i of byValue) if (columns[i]!.flex && !columns[i]!.keep && columns[i]!.priority === undefined) shrink(i);
  for (const i of byValue) {
    if (used <= total) break;
    const c = columns[i]!;
    if (c.keep || c.priority === undefined) continue;
    if (c.flex) shrink(i);
    else drop(i);
  }
  // still too wide: the flexible ones with a priority go too, before a kept column is cut
  for (const i of byValue) if (columns[i]!.priority !== undefined && !columns[i]!.keep && used > total) drop(i);
  for (const i of byValue) if (!columns[i]!.keep) shrink(i);
  for (const i of byValue) if (columns[i]!.keep) shrink(i);
  // Dropping a column may free more than was needed: give it back, most valuable first.
  for (const i of [...byValue].reverse()) {
    if (widths[i] === 0 || used >= total) continue;
    const give = Math.min(total - used, natural[i]! - widths[i]!);
    widths[i]! += give;
    used += give;
  }
  return widths;
}

export function rowSegments(columns: Column[], widths: number[], row: Pick<Row, 'cells' | 'colour' | 'colourCol'>): Segment[] {
  const segs: Segment[] = [];
  let plain = '';
  const last = widths.reduce((l, w, i) => (w > 0 ? i : l), -1);
  for (let i = 0; i < columns.length; i++) {
    // a width of 0: the column was dropped to make room
    if (widths[i] === 0) continue;
    const cell = fit(row.cells[i] ?? '', widths[i]!, columns[i]!.align);
    const sep = i < last ? ' '.repeat(GAP) : '';
    if (row.colour && i === row.colourCol) {
      if (plain) segs.push({ text: plain });
      segs.push({ text: cell, colour: row.colour });
      plain = sep;
    } else {
      plain += cell + sep;
    }
  }
  if (plain) segs.push({ text: plain });
  return segs;
}

export function headerLine(columns: Column[], widths: number[]): string {
  return rowSegments(columns, widths, { cells: columns.map((c) => c.title) })
    .map((s) => s.text)
    .join('');
}

/** The columns with an arrow on the sorted one: ↑ in the sort's own order, ↓ reversed (k9s). */
export function withSortArrow(columns: Column[], title: string | undefined, reverse: boolean): Column[] {
  if (title === undefined) return columns;
  return columns.map((c) => (c.title === title ? { ...c, title: `${c.title}${reverse ? '↓' : '↑'}` } : c));
}

/** Plain-text table (for --once and pipes). */
export function plainTable(columns: Column[], rows: readonly Row[], total = 200): string {
  const widths = columnWidths(columns, rows, total);
  const lines = [headerLine(columns, widths).trimEnd()];
  for (const r of rows) lines.push(rowSegments(columns, widths, r).map((s) => s.text).join('').trimEnd());
  return lines.join('\n');
}

/** Case-insensitive substring match over every cell (k9s `/` filter). */
export function matchesFilter(row: Row, filter: string): boolean {
  if (!filter) return true;
  const f = filter.toLowerCase();
  return row.cells.some((c) => c.toLowerCase().includes(f));
}

/** First row index of a window of `height` rows that keeps `selected` visible, centred-ish scrolling. */
export function windowStart(selected: number, count: number, height: number, prevStart = 0): number {
  if (count <= height) return 0;
  let start = Math.min(prevStart, count - height);
  if (selected < start) start = selected;
  if (selected >= start + height) start = selected - height + 1;
  return Math.max(0, Math.min(start, count - height));
}
