// CSV reading for catalog files. Lines with no quote (nearly all: quotes appear only around AWS's
// GpuInfo column) are split on commas directly; any line with a quote goes to csv-parse, which
// owns the quoting rules. A general parser over every line costs ~2 µs a row, which a 100k-row
// catalog loaded cold cannot afford (docs/BENCHMARKS.md).
import { parse } from 'csv-parse/sync';

/** Every line that holds a quote, in order, parsed in one csv-parse call (one parser per file). */
function quotedLines(text: string): string[][] {
  const lines: string[] = [];
  for (let q = text.indexOf('"'); q >= 0; ) {
    const start = text.lastIndexOf('\n', q) + 1;
    let end = text.indexOf('\n', q);
    if (end < 0) end = text.length;
    lines.push(text.slice(start, end > start && text.charCodeAt(end - 1) === 13 ? end - 1 : end));
    q = text.indexOf('"', end);
  }
  return lines.length ? (parse(lines.join('\n'), { relax_column_count: true, relax_quotes: true }) as string[][]) : [];
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
  const quoted = quotedLines(text);
  let nextQuoted = 0;
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
        const parsed = quoted[nextQuoted++] ?? [];
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
