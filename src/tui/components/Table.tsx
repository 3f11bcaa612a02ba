// A virtualized table: only the rows that fit are built, however long the list; they reach Ink as
// fixed rows (Lines.tsx), each built once per change of its record, widths or selection.
import { useMemo, useRef } from 'react';
import { Box, Text } from 'ink';
import { sameOr } from '../render/derive.js';
import { styledLine, type Seg } from '../render/styled.js';
import { columnWidths, headerLine, rowSegments, windowStart, type Column, type Row } from '../render/table.js';
import { Line, Rows } from './Lines.js';

/** The selection is marked by a glyph as well as inverse video, so it survives NO_COLOR. */
const GUTTER = 2;
export const MARK = '▸ ';

export interface TableProps {
  columns: Column[];
  rows: readonly Row[];
  selected: number;
  /** lines available, header included */
  height: number;
  width: number;
  empty?: string;
}

/** A row as the terminal gets it: the status cell in its colour, inverse when selected. */
export function rowLine(columns: Column[], widths: number[], row: Row, selected: boolean, width: number): string {
  const segs: Seg[] = [{ text: selected ? MARK : '  ' }, ...rowSegments(columns, widths, row).map((s): Seg => (s.colour ? { text: s.text, color: s.colour } : { text: s.text }))];
  return styledLine(segs, width, { inverse: selected, dim: row.dim === true && !selected });
}

export function Table({ columns, rows, selected, height, width, empty }: TableProps) {
  // The same array while the widths stay the same, so unchanged rows are not built again.
  const widthsRef = useRef<number[]>(undefined);
  const widths = useMemo(() => sameOr(widthsRef.current, columnWidths(columns, rows, width - GUTTER - 1)), [columns, rows, width]);
  widthsRef.current = widths;
  const built = useRef(new WeakMap<Row, { widths: number[]; selected: boolean; width: number; text: string }>());
  const body = Math.max(1, height - 1);
  const startRef = useRef(0);
  const start = windowStart(selected, rows.length, body, startRef.current);
  startRef.current = start;
  const lines = rows.slice(start, start + body).map((r, i) => {
    const sel = start + i === selected;
    const hit = built.current.get(r);
    if (hit && hit.widths === widths && hit.selected === sel && hit.width === width) return hit.text;
    const text = rowLine(columns, widths, r, sel, width);
    built.current.set(r, { widths, selected: sel, width, text });
    return text;
  });
  return (
    <Box flexDirection="column" height={height} width={width}>
      <Line text={styledLine([{ text: ' '.repeat(GUTTER) + headerLine(columns, widths), bold: true }], width)} />
      {rows.length === 0 ? <Text dimColor>{empty ?? 'nothing to show'}</Text> : <Rows rows={lines} height={lines.length} />}
    </Box>
  );
}
