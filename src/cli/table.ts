// Plain aligned tables for listings (the `-o json` forms are the machine-readable ones).
const useColor = () => process.stdout.isTTY === true && !process.env.NO_COLOR;

const COLORS: Record<string, string> = { green: '32', yellow: '33', red: '31', blue: '34', gray: '90', cyan: '36' };

export function color(text: string, name: string | undefined): string {
  if (!name || !useColor()) return text;
  return `\x1b[${COLORS[name] ?? '0'}m${text}\x1b[0m`;
}

// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;]*m/g;
const width = (s: string) => s.replace(ANSI, '').length;

export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => width(r[i] ?? ''))));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c + ' '.repeat(widths[i]! - width(c))))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

export function ago(ts: number | undefined, now = Date.now()): string {
  if (!ts) return '-';
  return `${duration(now - ts)} ago`;
}

export function duration(ms: number | undefined): string {
  if (ms === undefined || ms < 0) return '-';
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${s % 60}s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h ${m % 60}m`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}
