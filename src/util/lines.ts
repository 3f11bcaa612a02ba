// Line framing for newline-delimited streams (ndjson answers, event feeds).
import type { Readable } from 'node:stream';

/**
 * Calls `onLine` for each complete, non-empty line `stream` carries (read as UTF-8); a line split
 * across chunks waits for its end. `onLine` returning false stops the reading: the lines after it
 * are not delivered.
 */
export function eachLine(stream: Readable, onLine: (line: string) => void | false): void {
  let buf = '';
  let stopped = false;
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    if (stopped) return;
    buf += chunk;
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      if (!line) continue;
      if (onLine(line) === false) {
        stopped = true;
        return;
      }
    }
  });
}
