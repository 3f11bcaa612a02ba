// A bounded buffer of log lines fed by arbitrary chunks (lines may span chunks). Old lines are
// dropped past `capacity`, so a job printing forever costs constant memory.
import { stripAnsi } from '../render/format.js';

export interface LogLine {
  text: string;
  ts: number;
  /** aloft's own lines (end of log, errors), shown dimmed */
  meta?: boolean;
}

export class LogBuffer {
  private lines: LogLine[] = [];
  private partial = '';
  private partialTs = 0;
  /** lines dropped from the front because of the bound */
  dropped = 0;
  /** bumps on every change; the view re-renders when it moved */
  version = 0;

  constructor(readonly capacity = 10_000) {}

  append(chunk: string, ts = Date.now()): void {
    if (!chunk) return;
    const parts = chunk.split('\n');
    const first = this.partial + parts[0]!;
    if (parts.length === 1) {
      if (!this.partial) this.partialTs = ts;
      this.partial = first;
    } else {
      this.pushLine(first, this.partial ? this.partialTs : ts);
      for (let i = 1; i < parts.length - 1; i++) this.pushLine(parts[i]!, ts);
      this.partial = parts[parts.length - 1]!;
      this.partialTs = ts;
    }
    this.version++;
  }

  /** A line of aloft's own (end marker, stream error). */
  note(text: string, ts = Date.now()): void {
    if (this.partial) {
      this.pushLine(this.partial, this.partialTs);
      this.partial = '';
    }
    this.lines.push({ text, ts, meta: true });
    this.trim();
    this.version++;
  }

  private pushLine(raw: string, ts: number): void {
    // Progress bars redraw with \r: keep what the terminal would finally show.
    let text = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    const cr = text.lastIndexOf('\r');
    if (cr >= 0) text = text.slice(cr + 1);
    this.lines.push({ text: stripAnsi(text), ts });
    this.trim();
  }

  private trim(): void {
    // Trim in steps so appends stay amortized O(1).
    if (this.lines.length > this.capacity + Math.max(16, this.capacity >> 4)) {
      const extra = this.lines.length - this.capacity;
      this.lines = this.lines.slice(extra);
      this.dropped += extra;
    }
  }

  /** Complete lines, plus the unfinished last line as it is now. */
  get length(): number {
    return Math.min(this.lines.length, this.capacity) + (this.partial ? 1 : 0);
  }

  at(i: number): LogLine {
    const off = Math.max(0, this.lines.length - this.capacity);
    const n = this.lines.length - off;
    if (i < n) return this.lines[off + i]!;
    const cr = this.partial.lastIndexOf('\r');
    return { text: stripAnsi(cr >= 0 ? this.partial.slice(cr + 1) : this.partial), ts: this.partialTs };
  }

  totalDropped(): number {
    return this.dropped + Math.max(0, this.lines.length - this.capacity);
  }
}

/** Visual rows of one line at `width` columns (wrap mode). */
export function wrapLine(text: string, width: number): string[] {
  if (width <= 0 || text.length <= width) return [text];
  const out: string[] = [];
  for (let i = 0; i < text.length; i += width) out.push(text.slice(i, i + width));
  return out;
}

export interface LogWindowOpts {
  height: number;
  width: number;
  wrap: boolean;
  follow: boolean;
  /** first logical line shown when not following */
  top: number;
  prefix: (l: LogLine) => string;
}

export interface VisualRow {
  text: string;
  meta?: boolean;
  /** logical line index */
  line: number;
}

/** What a log window reads: a LogBuffer, or one with a leading note (`withHead`). */
export interface LogLines {
  readonly length: number;
  at(i: number): LogLine;
}

/** `buf` with one of aloft's own lines first ("… N earlier lines not kept"). */
export function withHead(buf: LogLines, head: LogLine): LogLines {
  return { length: buf.length + 1, at: (i) => (i === 0 ? head : buf.at(i - 1)) };
}

/** The rows on screen: only these lines are touched, whatever the buffer size. */
export function logWindow(buf: LogLines, o: LogWindowOpts): { rows: VisualRow[]; top: number } {
  const n = buf.length;
  const rows: VisualRow[] = [];
  if (n === 0 || o.height <= 0) return { rows, top: 0 };
  const render = (i: number): VisualRow[] => {
    const l = buf.at(i);
    const text = o.prefix(l) + l.text;
    if (!o.wrap) return [{ text, meta: l.meta, line: i }];
    return wrapLine(text, o.width).map((t) => ({ text: t, meta: l.meta, line: i }));
  };
  if (o.follow) {
    let i = n - 1;
    for (; i >= 0 && rows.length < o.height; i--) {
      const r = render(i);
      rows.unshift(...r);
    }
    const over = rows.length - o.height;
    if (over > 0) rows.splice(0, over);
    return { rows, top: rows[0]?.line ?? 0 };
  }
  const top = Math.max(0, Math.min(o.top, n - 1));
  for (let i = top; i < n && rows.length < o.height; i++) rows.push(...render(i));
  rows.length = Math.min(rows.length, o.height);
  return { rows, top };
}
