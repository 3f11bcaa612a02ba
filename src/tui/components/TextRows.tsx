// A fixed block of text rows that Ink never measures or wraps. Ink keeps every text it ever
// measured in a module-level cache and lays text out one character object at a time; a log
// streaming 1,000 lines/s would feed it ever-new rows (a growing heap and 10-80 ms frames). Here
// Ink lays out a constant placeholder of `height` lines, and a <Transform> swaps in the real rows
// (already fitted by render/textwindow.ts) when the frame is written; plain rows then take the
// row memo's fast path (render/ink-output.ts).
import { Box, Transform, Text } from 'ink';
import chalk from 'chalk';
import { useMemo } from 'react';
import type { TextRow } from '../render/textwindow.js';

const placeholders = new Map<number, string>();
/** `height` one-space lines: the same string for every frame of that height. */
function placeholder(height: number): string {
  let p = placeholders.get(height);
  if (p === undefined) {
    p = Array.from({ length: height }, () => ' ').join('\n');
    placeholders.set(height, p);
  }
  return p;
}

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
  return (
    <Box height={height} flexShrink={0}>
      <Transform transform={(_line, i) => styled[i] ?? ''}>
        <Text>{placeholder(height)}</Text>
      </Transform>
    </Box>
  );
}
