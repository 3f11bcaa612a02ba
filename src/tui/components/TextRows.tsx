// The rows of a text view (a log, a describe page): marked search hits, aloft's own lines dimmed,
// handed to Ink as fixed rows (Lines.tsx) — a log streaming 1,000 lines/s never reaches Ink's
// measuring or its per-character layout.
import { Box, Text } from 'ink';
import chalk from 'chalk';
import { useMemo } from 'react';
import type { TextRow } from '../render/textwindow.js';
import { Rows } from './Lines.js';

/** A row as the terminal gets it: dimmed when it is aloft's own, search hits highlighted. */
export function styleRow(r: TextRow): string {
  let text = r.text;
  if (r.hits.length) {
    const mark = r.current ? chalk.black.bgYellow.bold : chalk.inverse;
    let out = '';
    let at = 0;
    for (const [s, e] of r.hits) {
      out += text.slice(at, s) + mark(text.slice(s, e));
      at = e;
    }
    text = out + text.slice(at);
  }
  return r.meta ? chalk.dim(text) : text;
}

export function TextRows({ rows, height, empty }: { rows: readonly TextRow[]; height: number; empty?: string }) {
  const styled = useMemo(() => rows.map(styleRow), [rows]);
  if (rows.length === 0) {
    return (
      <Box height={height}>
        <Text dimColor>{empty ?? ' '}</Text>
      </Box>
    );
  }
  return <Rows rows={styled} height={height} />;
}
