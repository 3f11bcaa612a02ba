// Minimal CSV reader for catalog files. Catalog rows are simple (quotes appear only around the
// GpuInfo column), so unquoted lines take the fast path of a plain split: a 100k-row file loads in
// tens of milliseconds, which a general-purpose parser does not manage.

function splitQuoted(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let inQuotes = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (inQuotes) {
      if (ch === '"') {
        if (line[i + 1] === '"') {
          cur += '"';
          i++;
        } else inQuotes = false;
      } else cur += ch;
    } else if (ch === '"') inQuotes = true;
    else if (ch === ',') {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out;
}

/** Parses CSV text: `header` gets the first row, `row` each data row. */
export function readCsv(text: string, header: (names: string[]) => void, row: (fields: string[]) => void): void {
  let start = 0;
  let seenHeader = false;
  const n = text.length;
  while (start < n) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = n;
    let line = text.slice(start, end);
    start = end + 1;
    if (line.endsWith('\r')) line = line.slice(0, -1);
    if (line.length === 0) continue;
    const fields = line.includes('"') ? splitQuoted(line) : line.split(',');
    if (seenHeader) row(fields);
    else {
      seenHeader = true;
      header(fields.map((f) => f.trim()));
    }
  }
}

export function csvField(value: string | number | undefined): string {
  if (value === undefined) return '';
  const s = String(value);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}
