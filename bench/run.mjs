#!/usr/bin/env node
// `npm run bench [-- --quick] [-- --only NAME]`: runs every bench/*.bench.mjs and prints one table.
// Benches measure; they do not assert (tests do that). Figures go to docs/BENCHMARKS.md by hand.
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import os from 'node:os';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const quick = args.includes('--quick');
const onlyIdx = args.indexOf('--only');
const only = onlyIdx >= 0 ? args[onlyIdx + 1] : undefined;
const json = args.includes('--json');

const files = readdirSync(here)
  .filter((f) => f.endsWith('.bench.mjs'))
  .filter((f) => !only || f.startsWith(only))
  .sort((a, b) => (a.startsWith('core') ? -1 : b.startsWith('core') ? 1 : a.localeCompare(b)));

const rows = [];
for (const f of files) {
  const started = Date.now();
  process.stderr.write(`bench: ${f}${quick ? ' (quick)' : ''}…\n`);
  try {
    const mod = await import(join(here, f));
    const out = await mod.default({ quick });
    rows.push(...out);
  } catch (err) {
    rows.push({ bench: f.replace('.bench.mjs', ''), metric: 'ERROR', value: NaN, unit: '', target: '', note: String(err?.message ?? err).split('\n')[0] });
  }
  process.stderr.write(`bench: ${f} done in ${((Date.now() - started) / 1000).toFixed(1)}s\n`);
}

if (json) {
  process.stdout.write(JSON.stringify({ machine: machine(), quick, rows }, null, 2) + '\n');
} else {
  const headers = ['BENCH', 'METRIC', 'VALUE', 'TARGET', 'NOTE'];
  const cells = rows.map((r) => [
    r.bench,
    r.metric,
    Number.isFinite(r.value) ? `${fmt(r.value)} ${r.unit}` : 'n/a',
    r.target ?? '',
    r.note ?? '',
  ]);
  const w = headers.map((h, i) => Math.max(h.length, ...cells.map((c) => String(c[i]).length)));
  const line = (c) => c.map((x, i) => String(x).padEnd(w[i])).join('  ').trimEnd();
  process.stdout.write(`machine: ${machine()}${quick ? '  (quick pass)' : ''}\n`);
  process.stdout.write([line(headers), ...cells.map(line)].join('\n') + '\n');
}

function fmt(v) {
  if (Math.abs(v) >= 100) return v.toFixed(0);
  if (Math.abs(v) >= 10) return v.toFixed(1);
  return v.toFixed(2);
}

function machine() {
  return `${os.cpus().length}x ${os.cpus()[0]?.model ?? 'cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, node ${process.version}, ${os.platform()} ${os.release()}`;
}
process.stdout.write('', () => process.exit(0));
