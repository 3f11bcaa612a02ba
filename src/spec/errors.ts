// Errors a task YAML can cause. Every one is a single line that starts with `file:line:col:` so
// editors and terminals can jump to it; no stack trace is shown to the user.
import { UserError } from '../util/errors.js';

export interface SourcePos {
  file: string;
  line: number;
  col: number;
}

export class SpecError extends UserError {
  readonly file?: string;
  readonly line?: number;
  readonly col?: number;
  /** the message without the `file:line:col: ` prefix */
  readonly reason: string;

  constructor(reason: string, pos?: SourcePos) {
    const oneLine = reason.replace(/\s*\n\s*/g, ' ').trim();
    super(pos ? `${pos.file}:${pos.line}:${pos.col}: ${oneLine}` : oneLine, 'SPEC_ERROR');
    this.name = 'SpecError';
    this.reason = oneLine;
    this.file = pos?.file;
    this.line = pos?.line;
    this.col = pos?.col;
  }
}

/**
 * A problem with one value, found by code that does not know where the value came from (the same
 * parsers serve YAML fields and CLI flags). The caller re-throws it as a SpecError with a position
 * or a flag name.
 */
export class ValueProblem extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ValueProblem';
  }
}

/** How a value looks in a message: strings quoted, containers named by kind. */
export function describeValue(v: unknown): string {
  if (v === null || v === undefined) return 'nothing';
  if (typeof v === 'string') return JSON.stringify(v.length > 60 ? `${v.slice(0, 57)}...` : v);
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return String(v);
}

/** Edit distance counting a swap of neighbours as one edit ("infar" → "infra"). */
export function levenshtein(a: string, b: string): number {
  if (a === b) return 0;
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}

const squash = (s: string) => s.toLowerCase().replace(/[-_\s]/g, '');

/** The closest known word, if it is close enough to be a plausible typo. */
export function nearest(word: string, known: readonly string[]): string | undefined {
  const w = squash(word);
  let best: string | undefined;
  let bestD = Infinity;
  for (const k of known) {
    const kk = squash(k);
    if (kk === w) return k;
    const d = levenshtein(w, kk);
    if (d < bestD) {
      bestD = d;
      best = k;
    }
  }
  const limit = Math.max(1, Math.floor(Math.max(w.length, 3) / 3));
  if (best !== undefined && bestD <= limit) return best;
  // "accel" for "accelerators": a clear prefix is a near miss too
  if (w.length >= 4) return known.find((k) => squash(k).startsWith(w));
  return undefined;
}

export function didYouMean(word: string, known: readonly string[]): string {
  const n = nearest(word, known);
  return n ? `; did you mean '${n}'?` : '';
}
