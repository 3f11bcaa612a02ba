// Text that changes often, handed to Ink as a constant. Ink keeps every text it ever measured
// in a module-level cache and walks each text node's characters on every frame; a dashboard that
// stays open (ages ticking every second, a log scrolling) would grow that cache for ever and pay
// the walk each frame. Here Ink lays out a fixed placeholder (one space a row), and a
// <Transform> hands over the real, already fitted and styled rows when the frame is written;
// the row memo (render/ink-output.ts) then builds each distinct row once.
import { Box, Text, Transform } from 'ink';

const placeholders = new Map<number, string>();
function placeholder(height: number): string {
  let p = placeholders.get(height);
  if (p === undefined) {
    p = Array.from({ length: height }, () => ' ').join('\n');
    placeholders.set(height, p);
  }
  return p;
}

/** `height` rows of styled text, each fitted to the width by the caller (render/styled.ts). */
export function Rows({ rows, height }: { rows: readonly string[]; height: number }) {
  if (height <= 0) return null;
  return (
    <Box height={height} flexShrink={0}>
      <Transform transform={(_line, i) => rows[i] ?? ''}>
        <Text>{placeholder(height)}</Text>
      </Transform>
    </Box>
  );
}

/** One row of styled text, fitted by the caller. */
export function Line({ text }: { text: string }) {
  return <Rows rows={[text]} height={1} />;
}
