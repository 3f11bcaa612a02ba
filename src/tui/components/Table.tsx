// A virtualized table: only the rows that fit are rendered, however long the list.
import { memo, useMemo, useRef } from 'react';
import { Box, Text } from 'ink';
import { sameOr } from '../render/derive.js';
import { columnWidths, headerLine, rowSegments, windowStart, type Column, type Row } from '../render/table.js';

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

export function Table({ columns, rows, selected, height, width, empty }: TableProps) {
  // The same array while the widths stay the same, so unchanged rows skip re-rendering.
  const widthsRef = useRef<number[]>(undefined);
  const widths = useMemo(() => sameOr(widthsRef.current, columnWidths(columns, rows, width - GUTTER - 1)), [columns, rows, width]);
  widthsRef.current = widths;
  const body = Math.max(1, height - 1);
  const startRef = useRef(0);
  const start = windowStart(selected, rows.length, body, startRef.current);
  startRef.current = start;
  const visible = rows.slice(start, start + body);
  return (
    <Box flexDirection="column" height={height} width={width}>
      <Text bold wrap="truncate">
        {' '.repeat(GUTTER)}
        {headerLine(columns, widths)}
      </Text>
      {rows.length === 0 ? (
        <Text dimColor>{empty ?? 'nothing to show'}</Text>
      ) : (
        visible.map((r, i) => (
          <TableRow key={r.key} row={r} columns={columns} widths={widths} selected={start + i === selected} />
        ))
      )}
    </Box>
  );
}

const TableRow = memo(function TableRow({
  row,
  columns,
  widths,
  selected,
}: {
  row: Row;
  columns: Column[];
  widths: number[];
  selected: boolean;
}) {
  const segs = rowSegments(columns, widths, row);
  return (
    <Text wrap="truncate" inverse={selected} dimColor={row.dim && !selected}>
      {selected ? MARK : '  '}
      {segs.map((s, i) =>
        s.colour ? (
          <Text key={i} color={s.colour}>
            {s.text}
          </Text>
        ) : (
          s.text
        ),
      )}
    </Text>
  );
});
