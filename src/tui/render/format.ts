// Pure formatting helpers shared by every view and by `aloft top --once`.

/** "45s", "3m", "2h05m", "3d4h": compact like k9s' AGE column. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) ms = 0;
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${pad2(s % 60)}s`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h${pad2(m % 60)}m`;
  const d = Math.floor(h / 24);
  return `${d}d${h % 24}h`;
}

/** Age of a timestamp relative to `now`, "-" when unknown. */
export function formatAge(ts: number | undefined, now: number): string {
  if (ts === undefined || ts <= 0) return '-';
  return formatDuration(now - ts);
}

/** "$0.00", "$1.23", "$123"; "-" for free/unknown prices. */
export function formatDollars(v: number | undefined): string {
  if (v === undefined || !Number.isFinite(v) || v <= 0) return '-';
  if (v >= 100) return `$${Math.round(v)}`;
  return `$${v.toFixed(2)}`;
}

export function formatClock(ts: number): string {
  const d = new Date(ts);
  return `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`;
}

function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

/** Pads or truncates (with an ellipsis) to exactly `width` columns; ASCII-oriented on purpose. */
export function fit(text: string, width: number, align: 'left' | 'right' = 'left'): string {
  if (width <= 0) return '';
  if (text.length > width) return width === 1 ? '…' : text.slice(0, width - 1) + '…';
  return align === 'left' ? text.padEnd(width) : text.padStart(width);
}

const ANSI_RE = /\u001B(?:\[[0-?]*[ -/]*[@-~]|\][^\u0007\u001B]*(?:\u0007|\u001B\\)|[@-Z\\-_])/g;

/** Log lines arrive with colours and cursor moves; we show them as plain text so layout stays exact. */
export function stripAnsi(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(ANSI_RE, '').replace(/[\u0000-\u0008\u000B-\u001F\u007F]/g, '');
}

/**
 * Words wrapped to `width` columns in at most `maxLines` lines (a long word is cut); when the text
 * does not fit, the last line ends with an ellipsis. ASCII-oriented, like `fit`.
 */
export function wrapWords(text: string, width: number, maxLines = Infinity): string[] {
  if (width <= 0 || maxLines <= 0) return [];
  const lines: string[] = [];
  for (const para of text.split('\n')) {
    let line = '';
    for (let word of para.split(/\s+/).filter(Boolean)) {
      while (word.length > width) {
        if (line) {
          lines.push(line);
          line = '';
        }
        lines.push(word.slice(0, width));
        word = word.slice(width);
      }
      if (!line) line = word;
      else if (line.length + 1 + word.length <= width) line += ` ${word}`;
      else {
        lines.push(line);
        line = word;
      }
    }
    lines.push(line);
  }
  if (lines.length <= maxLines) return lines;
  const kept = lines.slice(0, maxLines);
  const last = kept[maxLines - 1]!;
  kept[maxLines - 1] = last.length + 1 <= width ? `${last}…` : `${last.slice(0, width - 1)}…`;
  return kept;
}
