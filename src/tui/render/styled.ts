// Styled text built as strings (chalk, the same instance Ink colours with), for rows that reach
// the screen through <Line>/<Rows> instead of Ink's <Text>: fitted to the width here, so Ink never
// measures, wraps or re-parses them (components/Lines.tsx says why).
import chalk from 'chalk';
import type { Colour } from './colors.js';
import { displayWidth, truncateColumns } from './width.js';

export interface Seg {
  text: string;
  color?: Colour;
  bold?: boolean;
  dim?: boolean;
  underline?: boolean;
}

function paint(s: Seg): string {
  let c = chalk;
  if (s.color) c = c[s.color];
  if (s.bold) c = c.bold;
  if (s.dim) c = c.dim;
  if (s.underline) c = c.underline;
  return c === chalk ? s.text : c(s.text);
}

/**
 * The segments as one line of at most `width` columns (cut with an ellipsis), styled; the whole
 * line inverse or dim when asked (a selected or a stopped row).
 */
export function styledLine(segs: readonly Seg[], width: number, whole: { inverse?: boolean; dim?: boolean } = {}): string {
  let left = width;
  let out = '';
  for (const s of segs) {
    if (left <= 0 || !s.text) continue;
    const w = displayWidth(s.text);
    const text = w <= left ? s.text : truncateColumns(s.text, left);
    left -= w <= left ? w : displayWidth(text);
    out += paint({ ...s, text });
  }
  if (whole.dim) out = chalk.dim(out);
  if (whole.inverse) out = chalk.inverse(out);
  return out;
}

/** Columns the segments take. */
export function segsWidth(segs: readonly Seg[]): number {
  let w = 0;
  for (const s of segs) w += displayWidth(s.text);
  return w;
}
