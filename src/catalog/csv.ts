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

/**
 * Parses CSV text: `header` gets the first row, `row` each data row. The array passed to `row` is
 * reused between rows (copy it to keep it): a 100k-row catalog should not mean 100k arrays.
 */
export function readCsv(text: string, header: (names: string[]) => void, row: (fields: string[]) => void): void {
  const n = text.length;
  const fields: string[] = [];
  let start = 0;
  let seenHeader = false;
  // Position of the next quote in the text, searched once per quote rather than once per line.
  let nextQuote = -2;
  while (start < n) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = n;
    let stop = end;
    if (stop > start && text.charCodeAt(stop - 1) === 13) stop--;
    if (stop > start) {
      if (nextQuote !== -1 && nextQuote < start) nextQuote = text.indexOf('"', start);
      if (nextQuote >= 0 && nextQuote < stop) {
        const parsed = splitQuoted(text.slice(start, stop));
        fields.length = 0;
        for (const f of parsed) fields.push(f);
      } else {
        let i = 0;
        let p = start;
        for (;;) {
          const c = text.indexOf(',', p);
          if (c < 0 || c >= stop) {
            fields[i++] = text.slice(p, stop);
            break;
          }
          fields[i++] = text.slice(p, c);
          p = c + 1;
        }
        fields.length = i;
      }
      if (seenHeader) row(fields);
      else {
        seenHeader = true;
        header(fields.map((f) => f.trim()));
      }
    }
    start = end + 1;
  }
}

export function csvField(value: string | number | undefined): string {
  if (value === undefined) return '';
  const s = String(value);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}
