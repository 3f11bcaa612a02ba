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
  let used = widths.reduce((a, b) => a + b, 0) + GAP * (columns.length - 1);
  // Shrink flexible columns first, then everything from the right, down to the title width.
  const order = [...columns.keys()].sort((a, b) => Number(!!columns[b]!.flex) - Number(!!columns[a]!.flex) || b - a);
  for (const i of order) {
    if (used <= total) break;
    const floor = Math.min(widths[i]!, columns[i]!.min ?? Math.max(columns[i]!.title.length, 4));
    const take = Math.min(used - total, widths[i]! - floor);
    widths[i]! -= take;
    used -= take;
  }
  return widths;
}

export function rowSegments(columns: Column[], widths: number[], row: Pick<Row, 'cells' | 'colour' | 'colourCol'>): Segment[] {
  const segs: Segment[] = [];
  let plain = '';
  for (let i = 0; i < columns.length; i++) {
    const cell = fit(row.cells[i] ?? '', widths[i]!, columns[i]!.align);
    const sep = i < columns.length - 1 ? ' '.repeat(GAP) : '';
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
