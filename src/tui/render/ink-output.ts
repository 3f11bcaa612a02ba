// Ink rebuilds the whole screen for every frame: Output.get() turns every written line into one
// object per character (ANSI tokenizer), lays them on a fresh width × height grid and serialises
// the grid back into a string. With 1,000 clusters that was ~80 % of a frame's CPU, although an
// event changes one row. Incremental rendering would not help: it changes what is written to the
// terminal, not how the frame string is built.
//
// This keeps Ink's own algorithm and adds a memo per screen row: the writes that land on a row
// (after Ink's transformers, which apply the colours) are the row's key; a row whose key matches
// one from the previous frame takes that frame's string, any other row is built by Ink's original
// get() on a one-row Output — or, when the row is plain ASCII text, laid out directly (plainRow).
// Frames with clipping regions (overflow="hidden") go through Ink unchanged.
//
// It patches an Ink internal, so it is installed only over the exact Output class it was written
// against (a fingerprint of its source); any other Ink version runs unpatched — slower, same
// output. test/unit/tui-ink-output.test.ts checks it is active and byte-identical to Ink's.
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { NARROW_CLASS } from './width.js';

interface WriteOp {
  type: 'write';
  x: number;
  y: number;
  text: string;
  transformers: Array<(s: string, index: number) => string>;
}
type Op = WriteOp | { type: 'clip' | 'unclip' };
interface InkOutput {
  width: number;
  height: number;
  operations: Op[];
  write(x: number, y: number, text: string, options: { transformers: WriteOp['transformers'] }): void;
  get(): { output: string; height: number };
}
type OutputClass = { new (o: { width: number; height: number }): InkOutput; prototype: InkOutput };

/** sha256 of ink/build/output.js's Output class source (Ink 6.8.0). */
export const KNOWN_OUTPUT_SHA256 = '86f9fd22a35cafb8a156ea83af5faaf29322fec8c3b5745c3cd4dbf79db573c3';

export interface InkOutputCache {
  /** why the memo is off, or undefined when it is on */
  disabled?: string;
  /** rows built by Ink / laid out as plain text / reused, since start (for tests and profiling) */
  stats: { built: number; plain: number; reused: number; frames: number };
  Output?: OutputClass;
  /** Ink's original Output.prototype.get */
  original?: () => { output: string; height: number };
}

export const inkOutputCache: InkOutputCache = { stats: { built: 0, plain: 0, reused: 0, frames: 0 } };

async function loadOutput(): Promise<OutputClass> {
  const inkMain = createRequire(import.meta.url).resolve('ink');
  const mod = (await import(pathToFileURL(join(dirname(inkMain), 'output.js')).href)) as { default: OutputClass };
  return mod.default;
}

export function fingerprint(Output: OutputClass): string {
  return createHash('sha256').update(Output.toString()).digest('hex');
}

/** Key of a row: its writes, in order, length-prefixed so no two write lists share a key. */
function rowKey(width: number, writes: Array<number | string>): string {
  let key = `${width}`;
  for (let i = 0; i < writes.length; i += 2) {
    const line = writes[i + 1] as string;
    key += `|${writes[i]}:${line.length}:${line}`;
  }
  return key;
}

/** One column a UTF-16 unit, no escape codes (render/width.ts's class, held to string-width by a test). */
const PLAIN = new RegExp(`^[${NARROW_CLASS}]*$`);

/**
 * A row whose writes are all plain text (no colour codes, one column a character: width.ts), as
 * Ink's get() would lay it out, without building one object per character: each character lands
 * at its column, characters left of column 0 are dropped, holes past the width vanish, trailing
 * spaces are trimmed. Undefined for any other row (Ink builds it). This is what makes a scrolling
 * log cheap: every row changes every frame there, so the memo alone cannot help.
 */
export function plainRow(width: number, writes: ReadonlyArray<number | string>): string | undefined {
  for (let i = 1; i < writes.length; i += 2) if (!PLAIN.test(writes[i] as string)) return undefined;
  if (writes.length === 0) return '';
  const x0 = writes[0] as number;
  const line0 = writes[1] as string;
  if (writes.length === 2 && x0 >= 0 && x0 <= width) return (' '.repeat(x0) + line0).trimEnd();
  const cells: Array<string | undefined> = new Array<string>(width).fill(' ');
  for (let i = 0; i < writes.length; i += 2) {
    const x = writes[i] as number;
    const line = writes[i + 1] as string;
    for (let c = 0; c < line.length; c++) if (x + c >= 0) cells[x + c] = line[c];
  }
  return cells.join('').trimEnd();
}

export function makeMemoGet(Output: OutputClass, original: () => { output: string; height: number }, stats: InkOutputCache['stats']) {
  // Rows of the previous frame and of this one: the memo never holds more than two screens.
  let prev = new Map<string, string>();
  return function get(this: InkOutput): { output: string; height: number } {
    const ops = this.operations;
    for (const op of ops) if (op.type !== 'write') return original.call(this);
    stats.frames++;
    // Same grid walk as Ink: which writes (after transformers) land on which row.
    const rows: Array<Array<number | string>> = [];
    for (let y = 0; y < this.height; y++) rows.push([]);
    for (const op of ops as WriteOp[]) {
      const { x, y, text, transformers } = op;
      const lines = text.split('\n');
      let offsetY = 0;
      for (let index = 0; index < lines.length; index++) {
        let line = lines[index]!;
        const row = rows[y + offsetY];
        // as in Ink: a line off the grid is skipped and does not advance offsetY
        if (!row) continue;
        for (const transformer of transformers) line = transformer(line, index);
        row.push(x, line);
        offsetY++;
      }
    }
    const cur = new Map<string, string>();
    const out: string[] = [];
    for (const writes of rows) {
      const key = rowKey(this.width, writes);
      let s = cur.get(key) ?? prev.get(key);
      if (s !== undefined) stats.reused++;
      else if ((s = plainRow(this.width, writes)) !== undefined) stats.plain++;
      else {
        const one = new Output({ width: this.width, height: 1 });
        for (let i = 0; i < writes.length; i += 2) one.write(writes[i] as number, 0, writes[i + 1] as string, { transformers: [] });
        s = original.call(one).output;
        stats.built++;
      }
      cur.set(key, s);
      out.push(s);
    }
    prev = cur;
    return { output: out.join('\n'), height: rows.length };
  };
}

/** Installs the row memo once; resolves to its state (never rejects). */
export async function installInkOutputCache(): Promise<InkOutputCache> {
  if (inkOutputCache.Output || inkOutputCache.disabled) return inkOutputCache;
  try {
    if (process.env.ALOFT_TUI_INK_MEMO === '0') throw new Error('ALOFT_TUI_INK_MEMO=0');
    const Output = await loadOutput();
    const sha = fingerprint(Output);
    if (sha !== KNOWN_OUTPUT_SHA256) throw new Error(`unknown Ink Output (sha256 ${sha})`);
    const original = Output.prototype.get;
    Output.prototype.get = makeMemoGet(Output, original, inkOutputCache.stats);
    inkOutputCache.Output = Output;
    inkOutputCache.original = original;
  } catch (err) {
    inkOutputCache.disabled = (err as Error).message;
  }
  return inkOutputCache;
}
